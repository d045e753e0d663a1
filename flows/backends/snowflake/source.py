"""The table in Snowflake, read through Snowpark with the period filter computed on the server.

A period range becomes a ``WHERE`` on the period number in the query Snowflake runs:
the period column itself (the quickstart's ``WEEK_NUMBER BETWEEN a AND b``), or, for
a contract with only a time column, the period computed in SQL from it
(``FLOOR(DATEDIFF('day', <first Monday>, T) / 7)`` for weeks, ``DATEDIFF('day', …)``
for days, ``DATEDIFF('month', …)`` for months), counted from the first period of the
stored rows. Only the contract's columns are selected, so a weekly run never
downloads the periods or columns it does not use, and every frame passes the same
``DataContract.validate`` as the embedded store's.

One clock: the time column is normalised in SQL before anything is computed from it.
Zoned timestamps (``TIMESTAMP_TZ``, and ``TIMESTAMP_LTZ``, which would otherwise follow
the session's ``TIMEZONE``) become UTC wall-clock time
(``CONVERT_TIMEZONE('UTC', T)::TIMESTAMP_NTZ``); ``TIMESTAMP_NTZ`` and ``DATE`` are
taken as stored. The period is computed once, in SQL, from that value, and is
carried to pandas with it: a row that comes back outside the requested range, or
whose time does not give its period, is an error, whatever the session's time zone.

Column names: the columns a contract names (time, period, label, id, listed
features, ignored ones) are matched case-insensitively and written upper-case,
Snowflake's own convention, so the quickstart's ``week_number`` is ``WEEK_NUMBER``.
Other columns keep their exact case. Every column a model may read must be a plain
identifier (letters, digits, ``_`` and ``$``, not starting with a digit), as the
Snowflake ML registry requires of feature names: listed features are checked when
the source is built, the others when it first reads the table (before anything is
trained) or writes to it, with one line saying how to rename or ``ignore`` them.

Snowflake tables have no row order. Tables written here carry a ``ROW_ID`` column
(the row's position in the written frame), and rows are returned ordered by period,
then ``ROW_ID``: the embedded store's order, so both backends fingerprint and train
on identical sequences. A table without ``ROW_ID`` (the quickstart's, loaded by
notebook 1) is ordered by period and then by every column, which is deterministic too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.snowflake._tables import ROW_ID, is_missing_object
from flows.backends.source import DataSource
from flows.data.contract import DEFAULT_CONTRACT, PERIOD_KEY, DataContract, period_start
from flows.data.periods import PeriodRange
from flows.errors import DataValidationError, EmptyWindowError
from flows.identifiers import IDENTIFIER, validate_identifier

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import pandas as pd
    from snowflake.snowpark import Column, DataFrame, Session
    from snowflake.snowpark.types import DataType

    from flows.config import SnowflakeSettings

logger = logging.getLogger(__name__)

_LABELS = 16
"""Distinct labels fetched at most: a contract's table holds two, and a few more already show what is wrong."""


class SnowparkSource(DataSource):
    """The table of one Snowflake schema, shaped by a data contract.

    Args:
        session: An open Snowpark session.
        settings: Database, schema and the default table names.
        table: The table; defaults to ``settings.applications_table``.
        contract: The data contract; the quickstart's by default.
        mode: ``read`` refuses every write (no table is created); ``write`` (the default)
            stores rows.
    """

    def __init__(
        self,
        session: Session,
        settings: SnowflakeSettings,
        *,
        table: str | None = None,
        contract: DataContract = DEFAULT_CONTRACT,
        mode: Mode = "write",
    ) -> None:
        self.session = session
        self.settings = settings
        self.contract = contract
        self.mode = check_mode(mode)
        self.table = _qualified(settings, table or settings.applications_table, what="table")
        self.evaluation_table = _qualified(
            settings, settings.evaluation_table, what="evaluation_table"
        )
        named = [c for c in (*contract.special_columns, *(contract.features or ())) if c]
        self._named = {
            validate_identifier(c, what=f"[data] column {c!r} on Snowflake"): c for c in named
        }
        # an ignored column is never read: any name will do (a plain one matches any case)
        self._named.update({c.upper(): c for c in contract.ignore if IDENTIFIER.fullmatch(c)})
        self._named[PERIOD_KEY.upper()] = PERIOD_KEY
        self._origin: int | None = None
        self._types: dict[str, DataType] | None = None

    # -- SQL ----------------------------------------------------------------------------

    def _upper(self, column: str) -> str:
        return validate_identifier(column, what=f"[data] column {column!r} on Snowflake")

    def column_types(self) -> dict[str, DataType]:
        """The table's columns (named as Snowpark names them) and their types, read once."""
        if self._types is None:
            fields = self.session.table(self.table).schema.fields
            self._types = {field.name: field.datatype for field in fields}
        return self._types

    def utc_time(self) -> Column:
        """The time column as UTC wall-clock time: what every period is computed from."""
        from snowflake.snowpark import functions as sf
        from snowflake.snowpark.types import TimestampTimeZone, TimestampType

        name = self._upper(self.contract.time_column or "")
        if not self._zoned(name):
            return sf.col(name)
        utc = sf.convert_timezone(sf.lit("UTC"), sf.col(name))
        return utc.cast(TimestampType(TimestampTimeZone.NTZ))

    def _zoned(self, name: str) -> bool:
        """Whether column ``name`` holds zoned timestamps (``TIMESTAMP_TZ`` or ``_LTZ``)."""
        from snowflake.snowpark.types import TimestampTimeZone, TimestampType

        kind = self.column_types().get(name)
        zoned = (TimestampTimeZone.TZ, TimestampTimeZone.LTZ)
        return isinstance(kind, TimestampType) and kind.tz in zoned

    def period_number(self) -> Column:
        """The period number of each row as a SQL expression, evaluated by Snowflake."""
        from snowflake.snowpark import functions as sf

        contract = self.contract
        if contract.period_column is not None:
            return sf.col(self._upper(contract.period_column))
        time = self.utc_time()
        first = sf.to_timestamp(sf.lit(f"{period_start(self.origin(), contract.period)} 00:00:00"))
        if contract.period == "month":
            return sf.datediff("month", first, time)
        days = sf.datediff("day", first, time)
        return days if contract.period == "day" else sf.floor(days / sf.lit(7))

    def origin(self) -> int | None:
        """The absolute index of period 0: the first period of the stored rows (time contracts)."""
        from snowflake.snowpark import functions as sf

        from flows.data.contract import absolute_periods

        if self.contract.period_column is not None:
            return None
        if self._origin is None:
            import pandas as pd

            first = self.session.table(self.table).select(sf.min(self.utc_time()).alias("FIRST"))
            first = first.collect()
            if not first or first[0]["FIRST"] is None:
                raise EmptyWindowError(f"{self.table} is empty; ingest data first.")
            times = pd.Series(pd.to_datetime([first[0]["FIRST"]]))
            self._origin = int(absolute_periods(times, self.contract.period)[0])
        return self._origin

    def periods_frame(self, periods: PeriodRange) -> DataFrame:
        """The lazy Snowpark query for ``periods``: filter and projection run in Snowflake."""
        table = self.session.table(self.table)
        return self._where_period(
            table,
            lambda period: period.between(periods.start, periods.end),
            self._projection(table),
        )

    def _where_period(
        self, table: DataFrame, condition: Callable[[Column], Column], columns: list[str]
    ) -> DataFrame:
        """The period and ``columns`` of the rows whose period meets ``condition``.

        A period column is filtered, then selected (the quickstart's plain query). A
        period computed from the time column is selected, then filtered by name: the
        same query for Snowflake, and the one order of the two that Snowpark local
        testing (1.56) does not misalign. The period comes first for the same reason:
        local testing misaligns the rows of ``to_pandas`` when a date column comes first.
        """
        from snowflake.snowpark.functions import col

        period = self.period_number()
        if self.contract.period_column:
            return table.filter(condition(period)).select([period, *columns])
        computed = PERIOD_KEY.upper()
        return table.select([period.alias(computed), *columns]).filter(condition(col(computed)))

    def _projection(self, table: DataFrame) -> list[Column | str]:
        """Every column of the table but the period and the ignored ones (``ROW_ID`` too).

        The time column comes normalised to UTC (:meth:`utc_time`), under its own name.
        The embedded store keeps the same columns, so a row hashes alike on both backends.
        """
        skip = {self.contract.period_column, PERIOD_KEY, *self.contract.ignore}
        columns = [c for c in table.columns if self._our_name(c) not in skip]
        self.check_feature_names([self._our_name(c) for c in columns if c != ROW_ID])
        time = self.contract.time_column and self._upper(self.contract.time_column)
        if time not in columns or not self._zoned(time):
            return list(columns)
        return [self.utc_time().alias(c) if c == time else c for c in columns]

    def check_feature_names(self, columns: list[str]) -> None:
        """Refuse a column a model may read whose name the Snowflake ML registry would refuse.

        Raises:
            DataValidationError: one line naming the column and the two ways out.
        """
        for column in self.contract.feature_columns(columns):
            if not IDENTIFIER.fullmatch(str(column)):
                raise DataValidationError(
                    f"Column {column!r} of {self.table} would be a model feature, but the "
                    "Snowflake ML registry takes only plain identifiers (letters, digits, _ and "
                    f"$, not starting with a digit) as feature names: rename it (ALTER TABLE "
                    f'{self.table} RENAME COLUMN "{column}" TO <NEW_NAME>) or add it to '
                    "[data] ignore.",
                    column=str(column),
                    expected="a plain identifier",
                    got=str(column),
                )

    def _our_name(self, column: str) -> str:
        """The contract's name of a Snowflake column (quoted names keep their case)."""
        if column.startswith('"'):
            return column[1:-1].replace('""', '"')
        return self._named.get(column, column)

    # -- the DataSource contract ----------------------------------------------------------

    def label_values(self) -> frozenset[str]:
        """The distinct labels, found in the warehouse: only those few values come down."""
        from snowflake.snowpark.exceptions import SnowparkSQLException

        label = self._upper(self.contract.label)
        try:
            rows = self.session.table(self.table).select(label).distinct().limit(_LABELS).collect()
        except SnowparkSQLException as exc:
            if not is_missing_object(exc):
                raise
            return frozenset()  # no table yet: nothing stored
        return frozenset(str(row[0]) for row in rows if row[0] is not None)

    def period_span(self) -> tuple[int, int] | None:
        from snowflake.snowpark import functions as sf
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            if self.contract.period_column is None:
                self._origin = None  # another writer may have replaced the rows
            period = self.period_number()
            frame = self.session.table(self.table)
            row = frame.select(
                sf.min(period).alias("FIRST"), sf.max(period).alias("LAST")
            ).collect()[0]
        except SnowparkSQLException as exc:
            if is_missing_object(exc):
                return None
            raise
        except EmptyWindowError:
            return None
        return None if row["FIRST"] is None else (int(row["FIRST"]), int(row["LAST"]))

    def read_periods(
        self,
        periods: PeriodRange,
        *,
        input_name: str = "stored rows",
        labels_as_written: bool = False,
    ) -> pd.DataFrame:
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            data = self.periods_frame(periods).to_pandas()
        except SnowparkSQLException as exc:
            if not is_missing_object(exc):
                raise
            data = None  # no table yet: reported like an empty one
        except EmptyWindowError:
            data = None
        if data is None or data.empty:
            raise self.no_rows_error(periods, input_name=input_name, where=f" in {self.table}")
        data = data.rename(columns=self._our_name)
        period = self.contract.period_key
        rest = [c for c in data.columns if c != period]
        order = [period, ROW_ID] if ROW_ID in data.columns else [period, *rest]
        data = data.sort_values(order, kind="stable", ignore_index=True)
        data = data.drop(columns=[ROW_ID], errors="ignore")  # the order is all it is for
        logger.info("Read %d rows of %s from %s", len(data), periods, self.table)
        origin = self._origin if self.contract.period_column is None else None
        carried = self._carried_periods(data, periods, input_name=input_name)
        frame = self.contract.validate(
            data, input_name=input_name, origin=origin, labels_as_written=labels_as_written
        )
        if not (frame[period].to_numpy() == carried).all():
            first = int((frame[period].to_numpy() != carried).argmax())
            raise DataValidationError(
                f"{input_name}: row {first} of {self.table} was selected for "
                f"{self.contract.period} {carried[first]} in SQL, but its time "
                f"{frame[self.contract.time_column].iloc[first]} gives "
                f"{self.contract.period} {frame[period].iloc[first]}; the period is computed "
                "once, on UTC time, and both must agree.",
                column=self.contract.time_column,
                expected=int(carried[first]),
                got=int(frame[period].iloc[first]),
            )
        return frame

    def _carried_periods(
        self, data: pd.DataFrame, periods: PeriodRange, *, input_name: str
    ) -> np.ndarray:
        """The period of each row as SQL computed it; a row outside ``periods`` is an error."""
        import numpy as np

        carried = np.asarray(data[self.contract.period_key], dtype="int64")
        outside = (carried < periods.start) | (carried > periods.end)
        if outside.any():
            found = sorted({int(p) for p in carried[outside]})
            raise DataValidationError(
                f"{input_name}: {int(outside.sum())} row(s) of {self.table} came back for "
                f"{self.contract.period}(s) {found[:5]}, outside the requested {periods}.",
                column=self.contract.period_key,
                expected=str(periods),
                got=found,
            )
        return carried

    def window_fingerprint(self, periods: PeriodRange) -> str | None:
        """``HASH_AGG`` of the window's rows, computed by the warehouse (one number comes down)."""
        from flows.backends.snowflake.fingerprint import window_fingerprint

        return window_fingerprint(self.periods_frame(periods))

    def rows_seen(self, rows: PeriodRange, trained_on: PeriodRange) -> int:
        """Rows of ``rows`` that ``trained_on`` holds too, matched by the warehouse."""
        from flows.backends.snowflake.fingerprint import rows_seen

        return rows_seen(self.periods_frame(rows), self.periods_frame(trained_on))

    def write(
        self,
        data: pd.DataFrame,
        *,
        replace: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        # One statement writes every period at once: there is no progress to report.
        refuse_in_read_mode(self.mode, "storing rows", f"Table {self.table}")
        data = self._in_utc(data)
        named = set(self._named.values())
        self.check_feature_names([c for c in data.columns if c not in named])
        span = None if replace else self.period_span()
        origin = None if span is None or self.contract.period_column else self.origin()
        data = self.contract.for_storage(data, origin=origin)
        key = self.contract.period_key
        incoming = sorted(int(w) for w in data[key].unique())
        if span is not None:
            table = self.session.table(self.table)
            stored = self._where_period(table, lambda period: period.isin(incoming), [])
            clash = sorted(int(row[0]) for row in stored.distinct().collect())
            if clash:
                raise self.already_stored(clash, where=f" in {self.table}")
        if self.contract.period_column is None:
            data = data.drop(columns=[PERIOD_KEY])  # computed from the time column on reading
        frame = data.rename(columns=lambda c: self._upper(c) if c in self._named.values() else c)
        frame[ROW_ID] = range(len(frame))
        mode = "overwrite" if replace else "append"
        self.session.create_dataframe(frame).write.save_as_table(self.table, mode=mode)
        self._origin, self._types = None, None
        logger.info(
            "Wrote %d rows (%s) to %s (%s)", len(frame), _span_text(incoming), self.table, mode
        )
        return len(frame)

    def _in_utc(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` with zoned times converted to UTC: the one clock periods are counted on."""
        import pandas as pd

        time = self.contract.time_column
        if time is None or time not in data.columns:
            return data
        values = data[time]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            return data.assign(**{time: values.dt.tz_convert("UTC")})
        return data

    def write_evaluation_data(
        self, periods: PeriodRange | None = None, *, holdout_periods: int = 4
    ) -> int:
        """Write the quickstart's ``EVALUATION_DATA`` table: the hold-out periods, copied in Snowflake.

        The copy is a ``CREATE TABLE … AS SELECT`` run by Snowflake; no row is downloaded.

        Args:
            periods: The periods to copy; defaults to the newest ``holdout_periods``.
            holdout_periods: Size of the default hold-out (the quickstart's 4 weeks).

        Returns:
            The number of rows written.

        Raises:
            EmptyWindowError: if the table is empty.
        """
        refuse_in_read_mode(self.mode, "writing EVALUATION_DATA", f"Table {self.evaluation_table}")
        if periods is None:
            span = self.period_span()
            if span is None:
                raise EmptyWindowError(
                    f"{self.table} is empty; write the rows before EVALUATION_DATA."
                )
            periods = PeriodRange(max(span[0], span[1] - holdout_periods + 1), span[1])
        frame = self.periods_frame(periods)
        frame = frame.drop(ROW_ID) if ROW_ID in frame.columns else frame
        frame.write.save_as_table(self.evaluation_table, mode="overwrite")
        count = self.session.table(self.evaluation_table).count()
        logger.info("Wrote %d hold-out rows (%s) to %s", count, periods, self.evaluation_table)
        return count


def _qualified(settings: SnowflakeSettings, table: str, *, what: str) -> str:
    return f"{settings.database}.{settings.schema}.{validate_identifier(table, what=what)}"


def _span_text(periods: list[int]) -> str:
    return f"periods {periods[0]}–{periods[-1]}" if periods else "no periods"
