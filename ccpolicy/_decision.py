"""What a policy returns: a verdict, the reason in words, and the numbers behind it."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rich.table import Table


class Verdict(StrEnum):
    """The outcome of a policy: only PROMOTE changes the live model."""

    PROMOTE = "promote"
    """The challenger is better by the policy's standard; make it the champion."""
    KEEP = "keep"
    """The challenger is not better (or a guardrail forbids promotion); keep the champion."""
    INCONCLUSIVE = "inconclusive"
    """The evidence cannot tell them apart or is undefined; keep the champion, say so."""


@dataclass(frozen=True)
class Decision:
    """A policy's verdict with a human-readable reason and the numbers behind it.

    ``str(decision)`` is the reason; :meth:`to_dict` feeds the promotion ledger and
    the flow's table artifact; ``__rich__`` renders a table without ccpolicy
    importing Rich at module level.
    """

    verdict: Verdict
    """promote, keep or inconclusive (a plain string is converted)."""
    reason: str
    """One line naming the metric, both values, the difference and the rule applied."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """The numbers behind the verdict, by name (e.g. p_value, auc_delta)."""
    policy: str = ""
    """Name of the policy that decided; stamped by ``Policy.__call__``."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The policy's effective parameters; stamped by ``Policy.__call__``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        object.__setattr__(self, "details", dict(self.details))
        object.__setattr__(self, "params", dict(self.params))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: numpy numbers become Python numbers, NaN becomes None."""
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "details": json_safe(self.details),
            "policy": self.policy,
            "params": json_safe(self.params),
        }

    def __str__(self) -> str:
        return self.reason

    def __rich__(self) -> Table:
        """Render as a two-column table (Rich is imported here, on use only)."""
        from rich.table import Table

        table = Table(title=f"{self.policy or 'policy'}: {self.verdict.value}", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        table.add_row("reason", self.reason)
        for name, value in {**self.params, **self.details}.items():
            table.add_row(name, _display(value))
        return table


def json_safe(value: Any) -> Any:
    """Convert nested mappings, sequences, enums and numpy values to JSON-safe Python values."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()  # arrays of any shape, 0-d included, and scalars → Python
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    return str(value)


def _display(value: Any) -> str:
    """Short text for a parameter or detail value in the rich table."""
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)
