"""The Snowpark data source, on two sessions: Snowpark local testing and fakesnow.

Each DataFrame test runs twice. Local testing runs the DataFrame API in process
but has no SQL text; fakesnow runs the SQL Snowpark sends, through the real
connector, in DuckDB: the period filter, ``DATEDIFF``, the upload of written frames
(PUT and ``COPY INTO``) and the ``CREATE TABLE … AS SELECT`` of the hold-out. The
pushdown test compiles the same query with a real Snowpark ``Session`` whose
server connection can only compile (it answers a schema lookup with nothing and
refuses to run anything).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from snowflake.snowpark import Session
from snowflake.snowpark._internal.analyzer.analyzer_utils import quote_name
from snowflake.snowpark._internal.analyzer.expression import Attribute
from snowflake.snowpark._internal.server_connection import ServerConnection
from snowflake.snowpark.functions import floor
from snowflake.snowpark.mock import ColumnEmulator, ColumnType, patch
from snowflake.snowpark.types import LongType, StringType, TimestampTimeZone, TimestampType

from flows.backends.local.source import LocalPeriodStore
from flows.backends.snowflake.source import SnowparkSource
from flows.config import SnowflakeSettings
from flows.data.contract import DEFAULT_CONTRACT, absolute_periods
from flows.data.periods import PeriodRange
from flows.data.quickstart import GeneratorSpec, generate_applications
from flows.errors import DataValidationError, EmptyWindowError
from flows.names import COLUMNS, WEEK_COLUMN
from tests.flows.loans import LOANS_CONTRACT, loans
from tests.snowflake.golden import assert_golden

SETTINGS = SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA")
QUICKSTART_COLUMNS = tuple(c.upper() for c in COLUMNS)


ROWS_PER_WEEK = 40  # local testing converts row by row: keep the weeks small


@pytest.fixture(scope="module")
def applications() -> pd.DataFrame:
    return generate_applications(6, GeneratorSpec(rows_per_week=ROWS_PER_WEEK))


@pytest.fixture(params=["local_testing", "fakesnow"])
def snowpark(request):
    """A Snowpark session: local testing's, or a real one on fakesnow with a schema of its own."""
    if request.param == "fakesnow":
        yield request.getfixturevalue("snowpark_session")
        return
    session = Session.SessionBuilder().config("local_testing", True).create()
    yield session
    session.close()


@pytest.fixture
def settings(snowpark) -> SnowflakeSettings:
    """The session's own database and schema."""
    current = (snowpark.get_current_database(), snowpark.get_current_schema())
    database, schema = (name.strip('"') for name in current)
    return SnowflakeSettings(database=database, schema=schema)


@pytest.fixture
def source(snowpark, settings) -> SnowparkSource:
    return SnowparkSource(snowpark, settings)


class _CompileOnlyConnection(ServerConnection):
    """A server connection that lets Snowpark build SQL but never runs it."""

    def __init__(
        self, columns: tuple[str, ...] = QUICKSTART_COLUMNS, types: dict | None = None
    ) -> None:  # no network
        self.columns = columns
        self.types = types or {}
        self._lower_case_parameters = {}
        self._thread_safe_session_enabled = True
        self._lock = threading.RLock()
        self._conn = type("Closed", (), {"_session_parameters": {}, "is_closed": lambda s: False})()
        self._telemetry_client = type(
            "Silent", (), {"__getattr__": lambda s, n: lambda *a, **k: None}
        )()

    def get_session_id(self) -> int:
        return 1

    def _get_client_side_session_parameter(self, name, default):
        return default

    def _get_current_parameter(self, param, quoted=True):
        return None

    def get_result_attributes(self, *args, **kwargs):
        """Any table has the columns given to the connection (without ROW_ID)."""
        return [Attribute(quote_name(c), self.types.get(c, StringType())) for c in self.columns]

    def run_query(self, *args, **kwargs):
        raise AssertionError("the compile-only session cannot run queries")

    execute = run_query


class TestReading:
    def test_the_week_filter_and_projection_run_in_snowflake(self):
        source = SnowparkSource(Session(_CompileOnlyConnection()), SETTINGS)
        (query,) = source.periods_frame(PeriodRange(3, 12)).queries["queries"]
        assert "FROM CC_DB.CC_SCHEMA.CREDIT_APPLICATIONS" in query
        assert 'WHERE (("WEEK_NUMBER" >= 3 :: INT) AND ("WEEK_NUMBER" <= 12 :: INT))' in query
        projection = query.split(" FROM ", 1)[0]
        assert projection.startswith('SELECT "WEEK_NUMBER", "APPLICATION_DATE", "APPLICANT_AGE"')
        assert projection.endswith('"APPROVED"')  # only the schema's columns come back

    def test_reads_return_the_weeks_in_the_embedded_stores_order(
        self, source, applications, tmp_path
    ):
        source.write(applications)
        local = LocalPeriodStore(tmp_path / "weeks")
        local.write(applications)
        got = source.read_periods(PeriodRange(2, 4), input_name="training window")
        pd.testing.assert_frame_equal(got, local.read_periods(PeriodRange(2, 4)))
        assert list(got.columns) == list(COLUMNS)
        assert source.period_span() == (0, 5)

    def test_a_table_without_row_ids_reads_in_a_deterministic_order(
        self, snowpark, source, applications
    ):
        upper = applications.rename(columns=str.upper).sample(frac=1.0, random_state=3)
        snowpark.create_dataframe(upper).write.save_as_table(source.table, mode="overwrite")
        got = source.read_periods(PeriodRange(1, 1))
        expected = DEFAULT_CONTRACT.validate(applications[applications[WEEK_COLUMN] == 1])
        pd.testing.assert_frame_equal(
            got,
            expected.sort_values(list(got.columns), kind="stable", ignore_index=True),
            check_like=False,
        )

    def test_an_empty_range_names_what_the_table_holds(self, source, applications):
        source.write(applications)
        with pytest.raises(
            EmptyWindowError, match=r"hold-out \(weeks 9–12\) has no rows .* weeks 0–5"
        ):
            source.read_periods(PeriodRange(9, 12), input_name="hold-out")

    def test_a_missing_table_has_no_span_and_no_rows(self, source):
        assert source.period_span() is None
        with pytest.raises(EmptyWindowError, match="the table holds no data"):
            source.read_periods(PeriodRange(0, 3))


class TestWriting:
    def test_weeks_are_immutable_unless_replaced(self, source, applications):
        source.write(applications[applications[WEEK_COLUMN] < 3])
        with pytest.raises(DataValidationError, match="Week\\(s\\) 2 are already stored"):
            source.write(applications[applications[WEEK_COLUMN] >= 2])
        source.write(applications[applications[WEEK_COLUMN] >= 3])
        assert source.period_span() == (0, 5)
        last_week = applications[applications[WEEK_COLUMN] == 5]
        assert source.write(last_week, replace=True) == ROWS_PER_WEEK
        assert source.period_span() == (5, 5)

    def test_bad_data_is_refused_before_anything_is_written(self, source, applications):
        broken = applications.assign(approved=2)
        with pytest.raises(DataValidationError, match="'approved'"):
            source.write(broken)
        assert source.period_span() is None

    def test_evaluation_data_holds_the_newest_weeks_in_the_quickstart_columns(
        self, snowpark, source, applications
    ):
        source.write(applications)
        assert source.write_evaluation_data(holdout_periods=4) == 4 * ROWS_PER_WEEK
        table = snowpark.table(source.evaluation_table)
        assert sorted(table.columns) == sorted(c.upper() for c in COLUMNS)
        weeks = sorted({row[0] for row in table.select("WEEK_NUMBER").distinct().collect()})
        assert weeks == [2, 3, 4, 5]


@patch(floor)
def _floor(column: ColumnEmulator) -> ColumnEmulator:
    """Snowflake's FLOOR, which Snowpark local testing (1.56) does not implement."""
    result = ColumnEmulator(data=np.floor(column.astype(float)))
    result.sf_type = ColumnType(LongType(), column.sf_type.nullable)
    return result


def own_source(
    session, period: str = "week", settings: SnowflakeSettings = SETTINGS, **options
) -> SnowparkSource:
    contract = replace(LOANS_CONTRACT, period=period, **options)
    return SnowparkSource(session, settings, table="LOANS", contract=contract)


class TestPeriodsFromATimeColumn:
    """A contract with only a time column: its periods are computed by Snowflake."""

    def test_the_period_filter_is_computed_in_sql(self, monkeypatch):
        queries = []
        for period, origin in (
            ("week", "2024-01-01"),
            ("day", "2024-01-03"),
            ("month", "2024-01-01"),
        ):
            columns = ("LOAN_ID", "OPENED_AT", "REGION", "AMOUNT", "LEGACY_SCORE", "OUTCOME")
            zoned = {"OPENED_AT": TimestampType(TimestampTimeZone.LTZ)}  # follows the session
            source = own_source(Session(_CompileOnlyConnection(columns, zoned)), period)
            index = absolute_periods(pd.Series(pd.to_datetime([origin])), period)[0]
            monkeypatch.setattr(source, "origin", lambda index=index: int(index))
            queries += source.periods_frame(PeriodRange(3, 12)).queries["queries"]
        assert_golden("period_filter", queries)

    @pytest.mark.parametrize("period", ["week", "day", "month"])
    def test_rows_read_back_as_the_embedded_store_reads_them(
        self, snowpark, settings, tmp_path, period
    ):
        source = own_source(snowpark, period, settings)
        local = LocalPeriodStore(tmp_path, source.contract)
        raw = loans(70, per_day=2)
        source.write(raw)
        local.write(raw)
        span = source.period_span()
        assert span == local.period_span()
        window = PeriodRange(1, min(3, span[1]))
        pd.testing.assert_frame_equal(source.read_periods(window), local.read_periods(window))

    def test_labels_read_as_written_are_the_tables_own_values_as_in_the_embedded_store(
        self, snowpark, settings, tmp_path
    ):
        source = own_source(snowpark, settings=settings)
        local = LocalPeriodStore(tmp_path, source.contract)
        raw = loans(28, per_day=2)
        source.write(raw)
        local.write(raw)
        window = PeriodRange(1, 2)
        got = source.read_periods(window, labels_as_written=True)
        pd.testing.assert_frame_equal(got, local.read_periods(window, labels_as_written=True))
        assert set(got["outcome"]) == {"default", "repaid"}
        binary = source.read_periods(window)["outcome"]
        assert (got["outcome"] == "default").astype("int64").tolist() == binary.tolist()

    def test_appended_rows_keep_the_numbering_and_stored_periods_stay_immutable(
        self, snowpark, settings
    ):
        source = own_source(snowpark, settings=settings)
        raw = loans(42, per_day=2)
        opened = pd.to_datetime(raw["opened_at"])
        source.write(raw[opened < "2024-01-22"])
        source.write(raw[opened >= "2024-01-22"])
        assert source.period_span() == (0, 6)
        expected = LOANS_CONTRACT.validate(raw)
        got = source.read_periods(PeriodRange(0, 6))
        pd.testing.assert_frame_equal(got, expected)
        with pytest.raises(DataValidationError, match="Week\\(s\\) 6 are already stored in"):
            source.write(loans(3, per_day=2, start="2024-02-12", seed=4))
        with pytest.raises(DataValidationError, match="before the first stored week"):
            source.write(loans(3, per_day=2, start="2023-12-01", seed=5))
        assert snowpark.table(source.table).count() == len(raw)
