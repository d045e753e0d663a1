"""One look of a sequential test: what the next look must know about the looks before it."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from ccpolicy._decision import Decision
from ccpolicy.errors import EvidenceError

LOOK_RECORD = "look_record"
"""The decision detail holding the Look to store (``Look.to_dict()``), or None for no look."""
_FIELDS = ("number", "information", "z", "alpha_spent", "boundary")


@dataclass(frozen=True)
class Look:
    """A look's number, information fraction, statistic, alpha spent so far and boundary.

    A sequential policy computes the boundary of a look from the information and
    boundaries of the looks before it, so whoever runs the test stores each look's
    Look (``to_dict`` is JSON-safe) and hands all earlier ones back through
    ``Evidence.earlier_looks``.

    Example:
        >>> look = Look(1, 0.25, 1.3, 0.0001, 3.9)
        >>> Look.from_dict(look.to_dict()) == look
        True
    """

    number: int
    """1 for the first look, then 2, 3, ... without gaps."""
    information: float
    """Information fraction in (0, 1]: matured rows over the planned rows."""
    z: float
    """The test statistic at this look (infinite when the standard error is 0)."""
    alpha_spent: float
    """Cumulative alpha spent up to and including this look, in [0, 1)."""
    boundary: float
    """The z the statistic had to reach to promote (infinite when no alpha was spent)."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.number, bool)
            or not isinstance(self.number, numbers.Integral)
            or self.number < 1
        ):
            raise EvidenceError(f"Look.number must be an int >= 1; got {self.number!r}.")
        object.__setattr__(self, "number", int(self.number))
        for name in _FIELDS[1:]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise EvidenceError(f"Look.{name} must be a float; got {value!r}.")
            object.__setattr__(self, name, float(value))
        if not 0 < self.information <= 1:
            raise EvidenceError(f"Look.information must be in (0, 1]; got {self.information!r}.")
        if not 0 <= self.alpha_spent < 1:
            raise EvidenceError(f"Look.alpha_spent must be in [0, 1); got {self.alpha_spent!r}.")
        if math.isnan(self.boundary):
            raise EvidenceError("Look.boundary must be a number or infinity; got NaN.")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; non-finite numbers become the strings "inf", "-inf", "nan"."""
        return {name: _json_number(value) for name, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Look:
        """Rebuild a Look from :meth:`to_dict` output.

        Raises:
            EvidenceError: A field is missing, unknown or malformed.
        """
        if not isinstance(data, Mapping) or set(data) != set(_FIELDS):
            raise EvidenceError(
                f"a look must be a mapping with exactly the keys {', '.join(_FIELDS)}; "
                f"got {data!r}."
            )
        values = {name: data[name] for name in _FIELDS}
        for name in _FIELDS[1:]:
            if isinstance(values[name], str):
                try:
                    values[name] = float(values[name])
                except ValueError:
                    raise EvidenceError(
                        f"Look.{name} must be a number; got {values[name]!r}."
                    ) from None
        return cls(**values)


def earlier_looks(value: Any) -> tuple[Look, ...]:
    """Return the earlier looks as a tuple of Look, checked to be one test's history.

    Raises:
        EvidenceError: An entry is not a Look (or its dict), numbers are not 1, 2, ...,
            or information or alpha spent goes down.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise EvidenceError(f"earlier_looks must be a sequence of ccpolicy.Look; got {value!r}.")
    looks = tuple(v if isinstance(v, Look) else Look.from_dict(v) for v in value)
    for position, (before, after) in enumerate(pairwise(looks), start=2):
        if after.information < before.information or after.alpha_spent < before.alpha_spent:
            raise EvidenceError(
                f"earlier_looks[{position - 1}] has less information or alpha spent than the "
                "look before it; pass the looks of one test in order."
            )
    numbers_seen = [look.number for look in looks]
    if numbers_seen != list(range(1, len(looks) + 1)):
        raise EvidenceError(
            f"earlier_looks must be numbered 1, 2, ... in order; got {numbers_seen}."
        )
    return looks


def look_of(decision: Decision) -> Look | None:
    """The Look a sequential policy's decision took, to store with it; None when it took none.

    Example:
        >>> from ccpolicy import Verdict
        >>> look_of(Decision(Verdict.KEEP, "no look")) is None
        True
    """
    record = decision.details.get(LOOK_RECORD)
    return None if record is None else Look.from_dict(record)


def _json_number(value: float | int) -> float | int | str:
    """A number as JSON can hold it: finite as is, otherwise its name."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
