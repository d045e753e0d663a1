"""Policies that load and validate fine but fail when asked to decide."""

from ccpolicy import Policy


class RaisesWhileDeciding(Policy):
    """Raises inside decide, as a plugin with a bug in its statistics does."""

    name = "raises_while_deciding"
    description = "Divides by the number of rows it expected, which is zero."
    api_version = "1"

    def decide(self, evidence):
        expected_rows = 0
        return evidence.n_rows / expected_rows


class ReturnsAString(Policy):
    """Returns a bare verdict string instead of a ccpolicy.Decision."""

    name = "returns_a_string"
    description = "Returns 'promote' instead of a Decision."
    api_version = "1"

    def decide(self, evidence):
        return "promote"
