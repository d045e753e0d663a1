"""The cycle's plan: what one run trains, tests and judges on, computed once.

A run reads the data's span once, derives the windows from it, and hands this
plan to every step. Rows that arrive while the run is under way therefore cannot
move the hold-out away from the windows the challenger was trained for, and the
ledger records exactly the plan the decision was made on, with the unit of its
periods and the date period 0 starts on, so it reads without the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flows.data.periods import (
    WEEKS,
    Calendar,
    PeriodRange,
    Windows,
    WindowSpec,
    challenger_windows,
    champion_windows,
)

Role = Literal["champion", "challenger"]

_OLD_KEYS = {"first_period": "first_week", "data_period": "data_week"}
"""Names the plan's keys had in ledger entries written before periods had units."""


@dataclass(frozen=True)
class CyclePlan:
    """The data span a run saw and the windows it works on."""

    first_period: int
    """Oldest period in the data when the run planned."""
    data_period: int
    """Newest period the run works on: the newest stored when it planned, or the newest
    ending by ``[data] complete_through`` when that is set."""
    windows: Windows
    """Training, test and hold-out windows."""
    calendar: Calendar = WEEKS
    """The unit of the periods and, when known, the date period 0 starts on."""

    @classmethod
    def for_role(
        cls, span: tuple[int, int], spec: WindowSpec, role: Role, *, calendar: Calendar = WEEKS
    ) -> CyclePlan:
        """The plan of a challenger, or of a bootstrap champion, on data ``span``.

        Raises:
            EmptyWindowError: if the data does not reach back far enough for the windows.
        """
        first, newest = span
        plan_windows = champion_windows if role == "champion" else challenger_windows
        return cls(
            first_period=first,
            data_period=newest,
            windows=plan_windows(first, newest, spec, calendar=calendar),
            calendar=calendar,
        )

    @property
    def holdout(self) -> PeriodRange:
        """The periods both models are judged on."""
        return self.windows.holdout

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, recorded in the ledger."""
        return {
            "first_period": self.first_period,
            "data_period": self.data_period,
            **self.calendar.to_dict(),
            **self.windows.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CyclePlan:
        """Inverse of :meth:`to_dict` (a plan handed from one process to the next).

        Plans recorded before periods had units (``first_week``, ``data_week``, no
        ``period``) read as plans in weeks.
        """
        calendar = Calendar.from_dict(data)
        span = {key: int(data[key] if key in data else data[old]) for key, old in _OLD_KEYS.items()}
        ranges = {name: calendar.range(*data[name]) for name in ("train", "test", "holdout")}
        return cls(**span, windows=Windows(**ranges), calendar=calendar)
