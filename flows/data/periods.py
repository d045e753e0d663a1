"""Periods in the contract's unit, and the training, test and hold-out windows over them.

A period is a week by default and a day or a month when the data contract says so
(``[data] period``). A :class:`Calendar` knows the unit and, where the stored data
counts its periods from a time column, the date period 0 starts on; ranges and
messages then say "months 78–113 (Jan 1984 – Dec 1986)" rather than a bare number.

The quickstart hard-codes weeks 3–12 / 13–15 / 16–19, so its weekly automation
retrains on the same rows forever. Here the windows slide with the data: the
hold-out is the last ``holdout`` periods, the challenger's test window the ``test``
before it and its training window the ``train`` before that. The champion's
bootstrap windows are the challenger's shifted back by ``test``, which gives
exactly the quickstart's weeks 0–9 / 10–12 on its data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from flows.errors import ConfigError, EmptyWindowError

if TYPE_CHECKING:
    from collections.abc import Mapping

_SIZES = ("train", "test", "holdout")
_ALIASES = {f"{size}_weeks": size for size in _SIZES}
"""The older ``*_weeks`` names of the window sizes, still read from config and JSON."""
WINDOW_KEYS = (*_SIZES, *_ALIASES)
"""Every key ``[windows]`` accepts."""
_EPOCH = date(1970, 1, 1)
FIRST_MONDAY = 4
"""1970-01-01 was a Thursday: day 4 since the epoch is the first Monday."""
COMPLETE_THROUGH = "[data] complete_through"
"""The setting declaring up to when the stored data is complete."""
_ISO_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?$"
)
UNDATED_PERIODS = (
    f"{COMPLETE_THROUGH} needs periods counted from a time column; a table that numbers "
    "its own periods (period_column) gives them no dates."
)
_MOMENT_EXAMPLE = 'a date ("2024-06-30") or an ISO timestamp ("2024-06-30T18:00:00+02:00")'


def period_start(index: int, unit: str) -> str:
    """The ISO date on which absolute period ``index`` (since 1970) of ``unit`` starts."""
    if unit == "month":
        return date(1970 + index // 12, index % 12 + 1, 1).isoformat()
    days = index if unit == "day" else index * 7 + FIRST_MONDAY
    return (_EPOCH + timedelta(days=days)).isoformat()


def period_index(start: str, unit: str) -> int:
    """The absolute index of the period of ``unit`` holding ISO date ``start``."""
    day = date.fromisoformat(start[:10])
    if unit == "month":
        return (day.year - 1970) * 12 + day.month - 1
    days = (day - _EPOCH).days
    return days if unit == "day" else (days - FIRST_MONDAY) // 7


def complete_through_text(value: object) -> str:
    """``[data] complete_through`` as text, checked: a date or an ISO timestamp.

    TOML's own dates and times (written without quotes) are accepted as their ISO text.

    Raises:
        ConfigError: in one line, for another type, another format or a day that
            does not exist (``2024-02-30``).
    """
    if isinstance(value, date):  # a datetime is a date too
        value = value.isoformat()
    if not isinstance(value, str):
        raise ConfigError(f"{COMPLETE_THROUGH} must be {_MOMENT_EXAMPLE}; got {value!r}.")
    complete_through_instant(value)
    return value


def complete_through_instant(text: str) -> datetime:
    """The instant (UTC) ``[data] complete_through`` names: a date means through its end.

    ``"2024-06-30"`` is complete through the end of June 30th, that is up to
    2024-07-01 00:00 UTC; a timestamp without an offset is UTC, the clock periods
    follow; one with an offset is that instant.

    Raises:
        ConfigError: as :func:`complete_through_text`.
    """
    if not _ISO_MOMENT.match(text):
        raise ConfigError(f"{COMPLETE_THROUGH} must be {_MOMENT_EXAMPLE}; got {text!r}.")
    try:
        if len(text) == len("2024-06-30"):
            return datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError) as exc:  # 2024-02-30; the day after 9999-12-31
        raise ConfigError(
            f"{COMPLETE_THROUGH} {text!r} is not a real date or time: {exc}."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Calendar:
    """How period numbers read: their unit, and the date period 0 starts on when known."""

    unit: str = "week"
    """``week`` (starting Monday), ``day`` or ``month``."""
    origin: int | None = None
    """Absolute index (since 1970) of period 0; None when the table numbers its periods."""

    @property
    def plural(self) -> str:
        """The unit in the plural: "weeks", "days", "months"."""
        return f"{self.unit}s"

    @property
    def first_period_starts(self) -> str | None:
        """The ISO date period 0 starts on, when known."""
        return None if self.origin is None else period_start(self.origin, self.unit)

    def period(self, number: int) -> str:
        """One period in words: "week 19", or "month 78 (Jul 1990)" with a known origin."""
        dates = self.dates(number, number)
        return f"{self.unit} {number}" + (f" ({dates})" if dates else "")

    def periods(self, count: int) -> str:
        """A number of periods in words: "1 week", "4 months"."""
        return f"{count} {self.unit if count == 1 else self.plural}"

    def dates(self, start: int, end: int) -> str | None:
        """The calendar span of periods ``start..end``, or None without an origin."""
        if self.origin is None:
            return None
        first = period_start(self.origin + start, self.unit)
        if self.unit == "month":
            last = period_start(self.origin + end, self.unit)
            return _month(first) if start == end else f"{_month(first)} – {_month(last)}"
        following = date.fromisoformat(period_start(self.origin + end + 1, self.unit))
        last = (following - timedelta(days=1)).isoformat()
        return first if first == last else f"{first} – {last}"

    def last_ended_by(self, instant: datetime) -> int:
        """The newest period (counted from period 0) that ends at or before UTC ``instant``.

        Raises:
            ConfigError: without an origin (periods numbered by a column have no dates).
        """
        if self.origin is None:
            raise ConfigError(UNDATED_PERIODS)
        holding = period_index(instant.astimezone(UTC).date().isoformat(), self.unit)
        return holding - 1 - self.origin

    def range(self, start: int, end: int) -> PeriodRange:
        """The inclusive range ``start..end`` in this calendar."""
        return PeriodRange(start, end, calendar=self)

    def to_dict(self) -> dict[str, Any]:
        """The unit and the first period's date, for the ledger: readable without a config."""
        return {"period": self.unit, "first_period_starts": self.first_period_starts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calendar:
        """Inverse of :meth:`to_dict`; entries written before it read as plain weeks."""
        unit = data.get("period") or "week"
        starts = data.get("first_period_starts")
        return cls(unit, None if starts is None else period_index(starts, unit))


WEEKS = Calendar()
"""Plain week numbers: the quickstart's calendar, and that of records from before units."""


def _month(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%b %Y")


@dataclass(frozen=True, order=True)
class PeriodRange:
    """An inclusive range of period numbers, in the unit of its calendar."""

    start: int
    """First period in the range."""
    end: int
    """Last period in the range (inclusive)."""
    calendar: Calendar = field(default=WEEKS, compare=False, repr=False)
    """How the numbers read (unit, dates); not part of equality or order."""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(
                f"A range of {self.calendar.plural} must not end before it starts; "
                f"got {self.start}–{self.end}."
            )

    @property
    def n_periods(self) -> int:
        """How many periods the range spans."""
        return self.end - self.start + 1

    def overlaps(self, other: PeriodRange) -> bool:
        """Whether the two ranges share a period."""
        return self.start <= other.end and other.start <= self.end

    def shifted(self, periods: int) -> PeriodRange:
        """The same range moved by ``periods`` (negative = earlier)."""
        return replace(self, start=self.start + periods, end=self.end + periods)

    def __str__(self) -> str:
        dates = self.calendar.dates(self.start, self.end)
        return f"{self.calendar.plural} {self.start}–{self.end}" + (f" ({dates})" if dates else "")


@dataclass(frozen=True)
class WindowSpec:
    """How many periods each window spans; defaults are the quickstart's (in weeks)."""

    train: int = 10
    """Periods the model is trained on (``[windows] train``)."""
    test: int = 3
    """Periods the model's own test AUC is measured on, after its training periods."""
    holdout: int = 4
    """Most recent periods, on which champion and challenger are compared."""

    def __post_init__(self) -> None:
        for size in _SIZES:
            value = getattr(self, size)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"Window size {size!r} must be a whole number ≥ 1; got {value!r}."
                )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "[windows]") -> WindowSpec:
        """Parse ``train``, ``test``, ``holdout`` (or their ``*_weeks`` aliases).

        Reads ``[windows]`` of the config and the JSON of a spec written before
        the sizes were named by period.

        Raises:
            ConfigError: for an unknown key, or a size given under both names.
        """
        values: dict[str, Any] = {}
        for key, value in data.items():
            size = _ALIASES.get(key, key)
            if size not in _SIZES:
                raise ConfigError(
                    f"{where} has unknown key {key!r}; allowed: train, test, holdout "
                    "(or train_weeks, test_weeks, holdout_weeks)."
                )
            if size in values:
                raise ConfigError(
                    f"{where} sets {size!r} twice (as {size!r} and {size + '_weeks'!r}); keep one."
                )
            values[size] = value
        return cls(**values)


@dataclass(frozen=True)
class Windows:
    """The three windows of one training or evaluation cycle."""

    train: PeriodRange
    test: PeriodRange
    holdout: PeriodRange

    def to_dict(self) -> dict[str, list[int]]:
        """JSON-friendly form, for reports and the ledger."""
        return {name: [r.start, r.end] for name, r in self.__dict__.items()}


def challenger_windows(
    first_period: int, newest_period: int, spec: WindowSpec, *, calendar: Calendar = WEEKS
) -> Windows:
    """Windows for a cycle on data spanning ``first_period..newest_period``.

    Raises:
        EmptyWindowError: if the data does not reach back far enough for the windows.
    """
    windows = _latest_windows(newest_period, spec, calendar)
    return _checked(windows, first_period, newest_period)


def champion_windows(
    first_period: int, newest_period: int, spec: WindowSpec, *, calendar: Calendar = WEEKS
) -> Windows:
    """Windows for bootstrapping the first champion: the challenger's, one test window earlier."""
    latest = _latest_windows(newest_period, spec, calendar)
    windows = Windows(
        train=latest.train.shifted(-spec.test),
        test=latest.test.shifted(-spec.test),
        holdout=latest.holdout,
    )
    return _checked(windows, first_period, newest_period)


def _latest_windows(newest_period: int, spec: WindowSpec, calendar: Calendar) -> Windows:
    holdout = calendar.range(newest_period - spec.holdout + 1, newest_period)
    test = calendar.range(holdout.start - spec.test, holdout.start - 1)
    train = calendar.range(test.start - spec.train, test.start - 1)
    return Windows(train=train, test=test, holdout=holdout)


def _checked(windows: Windows, first_period: int, newest_period: int) -> Windows:
    earliest = min(windows.train.start, windows.test.start)
    if earliest < first_period:
        calendar = windows.train.calendar
        available = calendar.range(first_period, newest_period)
        needed = calendar.periods(newest_period - earliest + 1)
        raise EmptyWindowError(
            f"The training window needs {windows.train} but the data starts at "
            f"{calendar.period(first_period)} ({available} available; these windows need at "
            f"least {needed}). Generate or load more {calendar.plural}, or shrink [windows] "
            "train, test or holdout.",
            expected=earliest,
            got=first_period,
        )
    return windows
