"""The data-source contract: the table of labelled rows, read by period range."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from flows.errors import DataValidationError, EmptyWindowError

if TYPE_CHECKING:
    import pandas as pd

    from flows.data.contract import DataContract
    from flows.data.periods import PeriodRange


class DataSource(ABC):
    """The table of one backend, shaped by a data contract.

    Reads are by period range (weeks, unless the contract counts days or months) so
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
    def read_periods(self, weeks: PeriodRange, *, input_name: str = "applications") -> pd.DataFrame:
        """The validated rows of periods ``weeks`` (inclusive), in table order.

        Raises:
            EmptyWindowError: if the range holds no rows.
            DataValidationError: if stored rows break the contract.
        """

    @abstractmethod
    def write(self, data: pd.DataFrame, *, replace: bool = False) -> int:
        """Validate ``data`` against the contract and store it.

        Nothing is written unless every row is valid. Periods counted from a time
        column keep the stored data's first period as period 0 when appending.

        Args:
            data: The rows, in the contract's columns (raw values are fine).
            replace: Drop what was stored first (a new first period); else add periods.

        Returns:
            The number of rows written.

        Raises:
            DataValidationError: if ``data`` breaks the contract, or (when appending)
                holds a period that is already stored or one before the first stored.
        """

    def write_evaluation_data(self, *, holdout_weeks: int) -> int:
        """Refresh the quickstart's EVALUATION_DATA table (the newest ``holdout_weeks`` weeks).

        Only backends that keep that table for parity with the quickstart do
        anything; the default writes nothing and returns 0.
        """
        return 0

    def no_rows_error(
        self, weeks: PeriodRange, *, input_name: str, where: str = ""
    ) -> EmptyWindowError:
        """The error for a period range that holds no rows, naming what the table does hold."""
        span = self.period_span()
        have = f"weeks {span[0]}–{span[1]}" if span else "no data"
        return EmptyWindowError(
            f"{input_name} ({weeks}) has no rows{where}; the table holds {have}.",
            expected=str(weeks),
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
