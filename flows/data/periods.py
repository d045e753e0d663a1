"""Training, test and hold-out windows, relative to the newest period in the data.

A period is a week by default and a day or a month when the data contract says so
(``[data] period``); the names below keep saying "week" because the ledger and the
``--json`` output have always used them (``train_weeks``, ``holdout_weeks``).

The quickstart hard-codes weeks 3–12 / 13–15 / 16–19, so its weekly automation
retrains on the same rows forever. Here the windows slide with the data: the
hold-out is the last ``holdout_weeks`` weeks, the challenger's test window the
``test_weeks`` before it and its training window the ``train_weeks`` before that.
The champion's bootstrap windows are the challenger's shifted back by
``test_weeks``, which gives exactly the quickstart's weeks 0–9 / 10–12 on its data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.errors import ConfigError, EmptyWindowError

if TYPE_CHECKING:
    from collections.abc import Mapping

_ALIASES = {"train": "train_weeks", "test": "test_weeks", "holdout": "holdout_weeks"}
"""``[windows]`` keys in periods, and the older ``*_weeks`` names they stand for."""
WINDOW_KEYS = (*_ALIASES, *_ALIASES.values())
"""Every key ``[windows]`` accepts."""


@dataclass(frozen=True, order=True)
class PeriodRange:
    """An inclusive range of period numbers (weeks unless the contract says otherwise)."""

    start: int
    """First week in the range."""
    end: int
    """Last week in the range (inclusive)."""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(
                f"A week range must not end before it starts; got {self.start}–{self.end}."
            )

    @property
    def n_periods(self) -> int:
        """How many weeks the range spans."""
        return self.end - self.start + 1

    def overlaps(self, other: PeriodRange) -> bool:
        """Whether the two ranges share a week."""
        return self.start <= other.end and other.start <= self.end

    def shifted(self, weeks: int) -> PeriodRange:
        """The same range moved by ``weeks`` (negative = earlier)."""
        return PeriodRange(self.start + weeks, self.end + weeks)

    def __str__(self) -> str:
        return f"weeks {self.start}–{self.end}"


@dataclass(frozen=True)
class WindowSpec:
    """How many periods each window spans; defaults are the quickstart's (in weeks)."""

    train_weeks: int = 10
    """Periods the model is trained on (``[windows] train``)."""
    test_weeks: int = 3
    """Periods the model's own test AUC is measured on, after its training periods."""
    holdout_weeks: int = 4
    """Most recent periods, on which champion and challenger are compared."""

    def __post_init__(self) -> None:
        for field in ("train_weeks", "test_weeks", "holdout_weeks"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"Window size {field!r} must be a whole number ≥ 1; got {value!r}."
                )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WindowSpec:
        """Parse ``[windows]``: ``train``, ``test``, ``holdout`` (or their ``*_weeks`` aliases).

        Raises:
            ConfigError: for an unknown key, or a size given under both names.
        """
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = _ALIASES.get(key, key)
            if name not in _ALIASES.values():
                raise ConfigError(
                    f"[windows] has unknown key {key!r}; allowed: train, test, holdout "
                    "(or train_weeks, test_weeks, holdout_weeks)."
                )
            if name in values:
                raise ConfigError(
                    f"[windows] sets {name.removesuffix('_weeks')!r} twice (as "
                    f"{name.removesuffix('_weeks')!r} and {name!r}); keep one."
                )
            values[name] = value
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


def challenger_windows(first_week: int, newest_period: int, spec: WindowSpec) -> Windows:
    """Windows for a weekly cycle on data spanning ``first_week..newest_period``.

    Raises:
        EmptyWindowError: if the data does not reach back far enough for the windows.
    """
    return _checked(_latest_windows(newest_period, spec), first_week, newest_period, spec)


def champion_windows(first_week: int, newest_period: int, spec: WindowSpec) -> Windows:
    """Windows for bootstrapping the first champion: the challenger's, one test window earlier."""
    latest = _latest_windows(newest_period, spec)
    windows = Windows(
        train=latest.train.shifted(-spec.test_weeks),
        test=latest.test.shifted(-spec.test_weeks),
        holdout=latest.holdout,
    )
    return _checked(windows, first_week, newest_period, spec)


def _latest_windows(newest_period: int, spec: WindowSpec) -> Windows:
    holdout = PeriodRange(newest_period - spec.holdout_weeks + 1, newest_period)
    test = PeriodRange(holdout.start - spec.test_weeks, holdout.start - 1)
    train = PeriodRange(test.start - spec.train_weeks, test.start - 1)
    return Windows(train=train, test=test, holdout=holdout)


def _checked(windows: Windows, first_week: int, newest_period: int, spec: WindowSpec) -> Windows:
    earliest = min(windows.train.start, windows.test.start)
    if earliest < first_week:
        needed = spec.train_weeks + spec.test_weeks + spec.holdout_weeks
        raise EmptyWindowError(
            f"The training window needs {windows.train} but the data starts at week {first_week} "
            f"(weeks {first_week}–{newest_period} available; these windows need at least {needed} "
            f"weeks). Generate or load more weeks, or shrink the windows.",
            expected=earliest,
            got=first_week,
        )
    return windows
