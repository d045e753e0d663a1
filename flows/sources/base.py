"""The data-source contract: the applications table, read by week range."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from flows.errors import EmptyWindowError

if TYPE_CHECKING:
    import pandas as pd

    from flows.windows import WeekRange


class DataSource(ABC):
    """The applications table of one backend.

    Reads are by week range so that a backend can push the filter down and never
    load weeks it does not need. Every frame returned has passed
    ``flows.data.validate_applications``.
    """

    @abstractmethod
    def week_span(self) -> tuple[int, int] | None:
        """The oldest and newest week present, or None when the table is empty."""

    @abstractmethod
    def read_weeks(self, weeks: WeekRange, *, input_name: str = "applications") -> pd.DataFrame:
        """The validated rows of ``weeks`` (inclusive), in table order.

        Raises:
            EmptyWindowError: if the range holds no rows.
            DataValidationError: if stored rows break the schema.
        """

    @abstractmethod
    def write(self, data: pd.DataFrame, *, replace: bool = False) -> int:
        """Store validated ``data``; ``replace`` drops what was there, else weeks are added.

        Returns:
            The number of rows written.

        Raises:
            DataValidationError: if ``data`` breaks the schema, or (when appending)
                holds a week that is already stored.
        """

    def write_evaluation_data(self, *, holdout_weeks: int) -> int:
        """Refresh the quickstart's EVALUATION_DATA table (the newest ``holdout_weeks`` weeks).

        Only backends that keep that table for parity with the quickstart do
        anything; the default writes nothing and returns 0.
        """
        return 0

    def no_rows_error(
        self, weeks: WeekRange, *, input_name: str, where: str = ""
    ) -> EmptyWindowError:
        """The error for a week range that holds no rows, naming what the table does hold."""
        span = self.week_span()
        have = f"weeks {span[0]}–{span[1]}" if span else "no data"
        return EmptyWindowError(
            f"{input_name} ({weeks}) has no rows{where}; the table holds {have}.",
            expected=str(weeks),
            got=have,
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; idempotent."""
