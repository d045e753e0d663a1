"""Policy parameters declared as data, and the one validator that writes their error messages.

Messages follow scikit-learn's form so users meet one style everywhere:
"The 'margin' parameter of significance_margin must be a float in the range
[0, 0.5). Got -0.1 instead."
"""

from __future__ import annotations

import json
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ccpolicy.errors import PolicyParameterError


class Constraint(ABC):
    """What a parameter value must be; ``str(constraint)`` completes "must be ..."."""

    @abstractmethod
    def normalize(self, value: Any) -> Any:
        """Return ``value`` in canonical form (e.g. int -> float), or raise ValueError."""


@dataclass(frozen=True)
class Interval(Constraint):
    """A real or integral number within bounds (``closed`` says which ends are included)."""

    kind: Literal["float", "int"]
    """``"float"`` accepts any real number (stored as float); ``"int"`` only integers."""
    low: float = -math.inf
    """Lower bound."""
    high: float = math.inf
    """Upper bound."""
    closed: Literal["both", "left", "right", "neither"] = "both"
    """Which bounds belong to the interval; infinite bounds never do."""

    def normalize(self, value: Any) -> Any:
        """Return the value as float or int if it lies in the interval, else raise ValueError."""
        wanted = numbers.Real if self.kind == "float" else numbers.Integral
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise ValueError(value)
        number = float(value) if self.kind == "float" else int(value)
        left_ok = number >= self.low if self.closed in ("both", "left") else number > self.low
        right_ok = number <= self.high if self.closed in ("both", "right") else number < self.high
        if not (left_ok and right_ok):
            raise ValueError(value)
        return number

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") and math.isfinite(self.low) else "("
        right = "]" if self.closed in ("both", "right") and math.isfinite(self.high) else ")"
        article = "an" if self.kind == "int" else "a"
        return f"{article} {self.kind} in the range {left}{_bound(self.low)}, {_bound(self.high)}{right}"


OPEN_UNIT_INTERVAL = Interval("float", 0.0, 1.0, closed="neither")
"""A float strictly between 0 and 1, e.g. a confidence level."""


@dataclass(frozen=True)
class Options(Constraint):
    """One string among a fixed set."""

    values: frozenset[str]
    """The allowed strings."""

    def normalize(self, value: Any) -> Any:
        """Return the value if it is one of the options, else raise ValueError."""
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(value)
        return value

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(v) for v in sorted(self.values)) + "}"


@dataclass(frozen=True)
class MetricLimits(Constraint):
    """A mapping of metric name to a limit that satisfies ``limit``."""

    limit: Interval
    """The constraint on every value."""

    def normalize(self, value: Any) -> Any:
        """Return a plain dict of str to normalised limit, else raise ValueError."""
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ValueError(value)
        return {name: self.limit.normalize(v) for name, v in value.items()}

    def __str__(self) -> str:
        return f"a mapping of metric name to {self.limit}"


@dataclass(frozen=True)
class Parameter:
    """Declaration of one policy parameter: its constraint, default and meaning."""

    constraint: Constraint
    """What a value must be."""
    default: Any
    """The value used when the caller gives none; must satisfy ``constraint``."""
    description: str
    """One sentence on what the parameter does, shown by ``ccflows policies``."""


def check_value(owner: str, name: str, constraint: Constraint, value: Any) -> Any:
    """Return ``value`` normalised by ``constraint``, or raise the sklearn-style message.

    Raises:
        PolicyParameterError: The value violates the constraint.
    """
    try:
        return constraint.normalize(value)
    except (ValueError, TypeError):
        raise PolicyParameterError(
            f"The {name!r} parameter of {owner} must be {constraint}. Got {value!r} instead."
        ) from None


def resolve_params(
    owner: str, declared: Mapping[str, Parameter], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate ``given`` against ``declared`` and fill in defaults.

    Args:
        owner: The policy name, used in messages.
        declared: Parameter declarations by name.
        given: The caller's keyword parameters.

    Returns:
        Every declared parameter's effective, normalised value.

    Raises:
        PolicyParameterError: A name is not declared or a value violates its constraint.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise PolicyParameterError(
            f"{owner} got unexpected parameter(s) {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(declared) or '(none)'}."
        )
    return {
        name: check_value(owner, name, p.constraint, given.get(name, p.default))
        for name, p in declared.items()
    }


def parse_param_value(text: str) -> Any:
    """Parse a CLI ``--param key=value`` value: JSON when it parses, else the plain string.

    Example:
        >>> parse_param_value("0.01"), parse_param_value("true"), parse_param_value("auc")
        (0.01, True, 'auc')
        >>> parse_param_value('{"f1": 0.02}')
        {'f1': 0.02}
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def _bound(value: float) -> str:
    """Format an interval bound the way sklearn does (inf for infinity, no trailing .0)."""
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:g}"
