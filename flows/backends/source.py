"""The data-source contract: the table of labelled rows, read by period range."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from flows.data.periods import Calendar, PeriodRange
from flows.errors import DataValidationError, EmptyWindowError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from flows.data.contract import DataContract


class DataSource(ABC):
    """The table of one backend, shaped by a data contract.

    Reads are by period range (in the contract's unit: weeks, days or months) so
    that a backend can push the filter down and never load periods it does not need.
    Every frame returned is a canonical frame of :attr:`contract`
    (``DataContract.validate``).
    """

    contract: DataContract
    """The shape of the rows: time or period column, label, features, id."""

    @abstractmethod
    def period_span(self) -> tuple[int, int] | None:
        """The oldest and newest period present, or None when the table is empty."""

    @abstractmethod
    def origin(self) -> int | None:
        """The absolute index (since 1970) of period 0; None when a column numbers the periods."""

    def calendar(self) -> Calendar:
        """How the stored period numbers read: the contract's unit and period 0's date."""
        return Calendar(self.contract.period, self.origin())

    @abstractmethod
    def read_periods(
        self,
        periods: PeriodRange,
        *,
        input_name: str = "stored rows",
        labels_as_written: bool = False,
    ) -> pd.DataFrame:
        """The validated rows of ``periods`` (inclusive), in table order.

        The label comes as 0/1, or, with ``labels_as_written``, as stored: the values of
        the user's table ("yes"/"no"), for output a user reads (scores of stored periods).

        Raises:
            EmptyWindowError: if the range holds no rows.
            DataValidationError: if stored rows break the contract.
        """

    @abstractmethod
    def write(
        self,
        data: pd.DataFrame,
        *,
        replace: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Validate ``data`` against the contract and store it.

        Nothing is written unless every row is valid, and readers see all of it or
        none of it, even if the writer is killed. Periods counted from a time column
        keep the stored data's first period as period 0 when appending.

        Args:
            data: The rows, in the contract's columns (raw values are fine).
            replace: Drop what was stored first (a new first period); else add periods.
            progress: Called now and then with (periods written, periods to write),
                by a backend that writes period after period.

        Returns:
            The number of rows written.

        Raises:
            DataValidationError: if ``data`` breaks the contract, or (when appending)
                holds a period that is already stored or one before the first stored.
        """

    @abstractmethod
    def label_values(self) -> frozenset[str]:
        """The distinct labels of the stored rows as written, as text (empty when nothing is stored).

        A label outside these is one the contract never saw: outcomes carrying it are
        refused rather than read as negatives.
        """

    def window_fingerprint(self, periods: PeriodRange) -> str | None:
        """The store's own fingerprint of the rows of ``periods``, computed where they are stored.

        A store that can fingerprint and match its windows in place records a version's
        training window this way, so no hash per training row is kept or moved; the
        default (the embedded store) answers None, and versions keep their row hashes.
        """
        return None

    def rows_seen(self, rows: PeriodRange, trained_on: PeriodRange) -> int:
        """How many rows of ``rows`` are also rows of ``trained_on``, counted where they are stored.

        Asked only of a store whose :meth:`window_fingerprint` answers.
        """
        raise NotImplementedError(f"{type(self).__name__} does not match rows in place")

    def write_evaluation_data(self, *, holdout_periods: int) -> int:
        """Refresh the quickstart's EVALUATION_DATA table (the newest ``holdout_periods`` periods).

        Only backends that keep that table for parity with the quickstart do
        anything; the default writes nothing and returns 0.
        """
        return 0

    def no_rows_error(
        self, periods: PeriodRange, *, input_name: str, where: str = ""
    ) -> EmptyWindowError:
        """The error for a period range that holds no rows, naming what the table does hold."""
        unit = Calendar(self.contract.period)  # no origin: an empty table may have none
        span = self.period_span()
        have = str(unit.range(*span)) if span else "no data"
        asked = unit.range(periods.start, periods.end)
        return EmptyWindowError(
            f"{input_name} ({asked}) has no rows{where}; the table holds {have}.",
            expected=str(asked),
            got=have,
        )

    def already_stored(self, periods: list[int], *, where: str = "") -> DataValidationError:
        """The error for appending rows to periods that are already stored."""
        unit = self.contract.period.capitalize()
        return DataValidationError(
            f"{unit}(s) {', '.join(map(str, periods[:5]))} are already stored{where}; "
            f"{self.contract.period}s are immutable once written (use replace to start over).",
            column=self.contract.period_key,
            got=periods,
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; idempotent."""
