"""Whether the newest stored period is complete, or an export that ends mid-way through it.

A month exported on the 14th is stored like a whole month, and a hold-out that
holds it judges the contestants on half a month. Nothing in the rows says so, but
their times do: a complete period's rows run up to close to its end, as the earlier
periods' rows did. Only tables that count periods from a time column can tell; a
table that numbers its own periods (``period_column``) says nothing of their ends.

A user who knows better declares it: ``[data] complete_through`` says the data is
complete through a date or instant, and the periods ending after it are held back
from cycles (labels that mature late, a feed that lags). The declaration replaces
the guess from the rows' times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.data.periods import (
    COMPLETE_THROUGH,
    Calendar,
    PeriodRange,
    complete_through_instant,
    period_start,
)
from flows.errors import EmptyWindowError

if TYPE_CHECKING:
    import pandas as pd

    from flows.backends.source import DataSource

HOW_TO_COMPLETE = 'to complete it, see "Partial periods" in docs/data.md'
"""Where the messages about an incomplete period send the reader."""
PERIODS_COMPARED = 12
"""Earlier periods whose endings the newest is compared with."""


@dataclass(frozen=True)
class Incomplete:
    """The newest period, and how far before its end its rows stop."""

    period: int
    """Its number."""
    described: str
    """The period in words, with its dates: "month 29 (Jun 2002)"."""
    last_time: str
    """The newest row's time."""
    short_by: str
    """How long before the period's end the rows stop, in words ("16 days")."""

    def __str__(self) -> str:
        return (
            f"The newest {self.described} looks incomplete: its rows stop at {self.last_time}, "
            f"{self.short_by} before it ends, much earlier than the periods before it"
        )


@dataclass(frozen=True)
class HeldBack:
    """The stored periods that end after ``[data] complete_through``: cycles leave them out."""

    periods: PeriodRange
    """The newest stored periods, from the first that ends after the instant declared."""
    complete_through: str
    """The setting, as written."""

    def __str__(self) -> str:
        single = self.periods.n_periods == 1
        what = self.periods.calendar.period(self.periods.start) if single else str(self.periods)
        return (
            f"{what[0].upper()}{what[1:]} {'ends' if single else 'end'} after {COMPLETE_THROUGH} "
            f"({self.complete_through}): cycles leave {'it' if single else 'them'} out"
        )


def held_back(span: tuple[int, int], calendar: Calendar, complete_through: str) -> HeldBack | None:
    """The periods of ``span`` that end after ``complete_through``; None if every one ends by it."""
    last_complete = calendar.last_ended_by(complete_through_instant(complete_through))
    if last_complete >= span[1]:
        return None
    return HeldBack(calendar.range(max(last_complete + 1, span[0]), span[1]), complete_through)


def complete_span(
    span: tuple[int, int], calendar: Calendar, complete_through: str | None
) -> tuple[tuple[int, int], HeldBack | None]:
    """``span`` cut to the periods that end by ``complete_through``, and what it left out.

    Raises:
        EmptyWindowError: if no stored period ends by then.
    """
    if complete_through is None:
        return span, None
    held = held_back(span, calendar, complete_through)
    if held is None:
        return span, None
    if held.periods.start == span[0]:
        raise EmptyWindowError(
            f"{held}, and no stored {calendar.unit} ends by then; move {COMPLETE_THROUGH} "
            f"past the end of {calendar.period(span[0])} or later.",
            expected=complete_through,
            got=str(held.periods),
        )
    return (span[0], held.periods.start - 1), held


def newest_incomplete(
    source: DataSource, complete_through: str | None
) -> Incomplete | HeldBack | None:
    """What ingest notes: the periods declared incomplete, or else the newest if it looks cut short."""
    if complete_through is None:
        return incomplete_newest(source)
    span = source.period_span()
    return None if span is None else held_back(span, source.calendar(), complete_through)


def incomplete_newest(source: DataSource) -> Incomplete | None:
    """The newest stored period if its rows stop well before its end, else None.

    The gap between its last row and its end is compared with the same gap in up to
    :data:`PERIODS_COMPARED` earlier periods: more than twice the largest of those (or,
    with no earlier period, twice the largest gap between its own rows) is a period
    cut short.
    """
    import pandas as pd

    contract = source.contract
    if contract.time_column is None or contract.period_column is not None:
        return None
    span = source.period_span()
    if span is None:
        return None
    calendar = source.calendar()
    first = max(span[0], span[1] - PERIODS_COMPARED)
    try:
        rows = source.read_periods(PeriodRange(first, span[1]), input_name="stored rows")
    except EmptyWindowError:
        return None
    tails = _time_to_end(
        rows, contract.time_column, contract.period_key, calendar.origin or 0, calendar.unit
    )
    newest = int(span[1])
    tail = tails.pop(newest)
    if tails:
        allowed = 2 * max(tails.values())
    else:
        import numpy as np

        times = np.sort(rows[contract.time_column].to_numpy())
        allowed = 2 * (np.diff(times).max() if len(times) > 1 else np.timedelta64(0, "ns"))
    if tail <= allowed:
        return None
    last = rows.loc[rows[contract.period_key] == newest, contract.time_column].max()
    return Incomplete(
        period=newest,
        described=calendar.period(newest),
        last_time=str(last.date()) if last == last.normalize() else str(last),
        short_by=_in_words(pd.Timedelta(tail)),
    )


def _time_to_end(
    rows: pd.DataFrame, time_column: str, period_key: str, origin: int, unit: str
) -> dict[int, pd.Timedelta]:
    """For each period in ``rows``: the time from its last row to its end."""
    import pandas as pd

    last = rows.groupby(period_key)[time_column].max()
    return {
        int(period): pd.Timestamp(period_start(origin + int(period) + 1, unit)) - time
        for period, time in last.items()
    }


def _in_words(delta: pd.Timedelta) -> str:
    import pandas as pd

    if delta >= pd.Timedelta(days=2):
        return f"{delta.days} days"
    hours = delta / pd.Timedelta(hours=1)
    return f"{hours:.0f} hours" if hours >= 2 else f"{delta / pd.Timedelta(minutes=1):.0f} minutes"
