"""The cycle's plan: what one run trains, tests and judges on, computed once.

A weekly run reads the data's span once, derives the windows from it, and hands
this plan to every step. Rows that arrive while the run is under way therefore
cannot move the hold-out away from the windows the challenger was trained for,
and the ledger records exactly the plan the decision was made on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flows.data.periods import (
    PeriodRange,
    Windows,
    WindowSpec,
    challenger_windows,
    champion_windows,
)

Role = Literal["champion", "challenger"]


@dataclass(frozen=True)
class CyclePlan:
    """The data span a run saw and the windows it works on."""

    first_week: int
    """Oldest week in the data when the run planned."""
    data_week: int
    """Newest week in the data when the run planned."""
    windows: Windows
    """Training, test and hold-out windows."""

    @classmethod
    def for_role(cls, span: tuple[int, int], spec: WindowSpec, role: Role) -> CyclePlan:
        """The plan of a weekly challenger, or of a bootstrap champion, on data ``span``.

        Raises:
            EmptyWindowError: if the data does not reach back far enough for the windows.
        """
        first, newest = span
        plan_windows = champion_windows if role == "champion" else challenger_windows
        return cls(first_week=first, data_week=newest, windows=plan_windows(first, newest, spec))

    @property
    def holdout(self) -> PeriodRange:
        """The weeks both models are judged on."""
        return self.windows.holdout

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, recorded in the ledger."""
        return {
            "first_week": self.first_week,
            "data_week": self.data_week,
            **self.windows.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CyclePlan:
        """Inverse of :meth:`to_dict` (a plan handed from one process to the next)."""
        ranges = {name: PeriodRange(*data[name]) for name in ("train", "test", "holdout")}
        return cls(
            first_week=int(data["first_week"]),
            data_week=int(data["data_week"]),
            windows=Windows(**ranges),
        )
