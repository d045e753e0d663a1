"""The applications table in Snowflake, read through Snowpark with the week filter pushed down.

A week range becomes ``WHERE WEEK_NUMBER BETWEEN a AND b`` in the query Snowflake
runs, and only the schema's columns are selected, so a weekly run never downloads
the weeks it does not use. Snowflake's upper-case column names are mapped to the
package's names and every frame passes the same ``validate_applications`` as the
embedded store's.

Snowflake tables have no row order. Tables written here carry a ``ROW_ID`` column
(the row's position in the written frame), and rows are returned ordered by week,
then ``ROW_ID``: the embedded store's order, so both backends fingerprint and train
on identical sequences. A table without ``ROW_ID`` (the quickstart's, loaded by
notebook 1) is ordered by week and then by every column, which is deterministic too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flows.data import validate_applications
from flows.errors import DataValidationError, EmptyWindowError
from flows.identifiers import validate_identifier
from flows.names import COLUMNS, WEEK_COLUMN
from flows.sources.base import DataSource
from flows.windows import WeekRange

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import DataFrame, Session

    from flows.config import SnowflakeSettings

logger = logging.getLogger(__name__)

ROW_ID = "ROW_ID"
"""Column holding each row's position in the frame it was written from."""
_SNOWFLAKE_NAME = {column: column.upper() for column in COLUMNS}
_OUR_NAME = {upper: column for column, upper in _SNOWFLAKE_NAME.items()}
_WEEK = _SNOWFLAKE_NAME[WEEK_COLUMN]
# The week first: it is the filter column, and Snowpark local testing (1.56) misaligns
# the rows of ``to_pandas`` when a date column comes first.
_PROJECTION = (_WEEK, *(_SNOWFLAKE_NAME[c] for c in COLUMNS if c != WEEK_COLUMN))
_MISSING_OBJECT = "does not exist or not authorized"


class SnowparkSource(DataSource):
    """The applications table of one Snowflake schema.

    Args:
        session: An open Snowpark session.
        settings: Database, schema and the default table names.
        table: The applications table; defaults to ``settings.applications_table``.
    """

    def __init__(
        self, session: Session, settings: SnowflakeSettings, *, table: str | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.table = _qualified(settings, table or settings.applications_table, what="table")
        self.evaluation_table = _qualified(
            settings, settings.evaluation_table, what="evaluation_table"
        )

    def weeks_frame(self, weeks: WeekRange) -> DataFrame:
        """The lazy Snowpark query for ``weeks``: the filter and projection run in Snowflake."""
        from snowflake.snowpark.functions import col

        table = self.session.table(self.table)
        columns = [*_PROJECTION, ROW_ID] if ROW_ID in table.columns else list(_PROJECTION)
        return table.filter(col(_WEEK).between(weeks.start, weeks.end)).select(columns)

    def week_span(self) -> tuple[int, int] | None:
        from snowflake.snowpark import functions as sf
        from snowflake.snowpark.exceptions import SnowparkSQLException

        week = sf.col(_WEEK)
        try:
            frame = self.session.table(self.table)
            row = frame.select(sf.min(week).alias("FIRST"), sf.max(week).alias("LAST")).collect()[0]
        except SnowparkSQLException as exc:
            if _MISSING_OBJECT in str(exc):
                return None
            raise
        return None if row["FIRST"] is None else (int(row["FIRST"]), int(row["LAST"]))

    def read_weeks(self, weeks: WeekRange, *, input_name: str = "applications") -> pd.DataFrame:
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            data = self.weeks_frame(weeks).to_pandas()
        except SnowparkSQLException as exc:
            if _MISSING_OBJECT not in str(exc):
                raise
            data = None  # no table yet: reported like an empty one
        if data is None or data.empty:
            raise self.no_rows_error(weeks, input_name=input_name, where=f" in {self.table}")
        order = [_WEEK, ROW_ID] if ROW_ID in data.columns else [_WEEK, *_PROJECTION[1:]]
        data = data.sort_values(order, kind="stable", ignore_index=True)
        logger.info("Read %d rows of %s from %s", len(data), weeks, self.table)
        return validate_applications(_to_our_names(data), input_name=input_name)

    def write(self, data: pd.DataFrame, *, replace: bool = False) -> int:
        from snowflake.snowpark.functions import col

        data = validate_applications(data, input_name="data to store")
        incoming = sorted(int(w) for w in data[WEEK_COLUMN].unique())
        if not replace and self.week_span() is not None:
            clash = sorted(
                int(row[0])
                for row in self.session.table(self.table)
                .filter(col(_WEEK).isin(incoming))
                .select(_WEEK)
                .distinct()
                .collect()
            )
            if clash:
                raise DataValidationError(
                    f"Week(s) {', '.join(map(str, clash[:5]))} are already stored in "
                    f"{self.table}; weeks are immutable once written (use replace to start over).",
                    column=WEEK_COLUMN,
                    got=clash,
                )
        frame = data.rename(columns=_SNOWFLAKE_NAME)[list(_PROJECTION)]
        frame[ROW_ID] = range(len(frame))
        mode = "overwrite" if replace else "append"
        self.session.create_dataframe(frame).write.save_as_table(self.table, mode=mode)
        logger.info(
            "Wrote %d rows (%s) to %s (%s)", len(frame), _span_text(incoming), self.table, mode
        )
        return len(frame)

    def write_evaluation_data(
        self, weeks: WeekRange | None = None, *, holdout_weeks: int = 4
    ) -> int:
        """Write the quickstart's ``EVALUATION_DATA`` table: the hold-out weeks, copied in Snowflake.

        The copy is a ``CREATE TABLE … AS SELECT`` run by Snowflake; no row is downloaded.

        Args:
            weeks: The weeks to copy; defaults to the newest ``holdout_weeks`` weeks.
            holdout_weeks: Size of the default hold-out (the quickstart's 4).

        Returns:
            The number of rows written.

        Raises:
            EmptyWindowError: if the applications table is empty.
        """
        if weeks is None:
            span = self.week_span()
            if span is None:
                raise EmptyWindowError(
                    f"{self.table} is empty; write the applications before EVALUATION_DATA."
                )
            weeks = WeekRange(max(span[0], span[1] - holdout_weeks + 1), span[1])
        frame = self.weeks_frame(weeks).select(list(_PROJECTION))
        frame.write.save_as_table(self.evaluation_table, mode="overwrite")
        count = self.session.table(self.evaluation_table).count()
        logger.info("Wrote %d hold-out rows (%s) to %s", count, weeks, self.evaluation_table)
        return count


def _qualified(settings: SnowflakeSettings, table: str, *, what: str) -> str:
    return f"{settings.database}.{settings.schema}.{validate_identifier(table, what=what)}"


def _to_our_names(data: pd.DataFrame) -> pd.DataFrame:
    return data.rename(columns=_OUR_NAME)[list(COLUMNS)]


def _span_text(weeks: list[int]) -> str:
    return f"weeks {weeks[0]}–{weeks[-1]}" if weeks else "no weeks"
