"""One period, computed once in SQL on UTC time, whatever the column type and the session's zone.

The rows sit near week boundaries: Sunday 20:00 UTC is already Monday in Tokyo, and
Monday 03:00 UTC is still Sunday in Los Angeles. Read through sessions whose time
zones differ, every row comes back in the week its UTC time gives, labelled with
the week it was selected for. fakesnow lacks ``ALTER SESSION SET TIMEZONE``; the
time zone is set on the DuckDB connection behind the session, which is what that
statement changes in Snowflake (how ``TIMESTAMP_LTZ`` values read and cast).
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from flows.backends.snowflake.source import SnowparkSource
from flows.config import SnowflakeSettings
from flows.data.contract import DataContract, absolute_periods
from flows.data.periods import PeriodRange
from flows.errors import DataValidationError

pytest.importorskip("fakesnow")

ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles")
KINDS = ("TIMESTAMP_NTZ", "TIMESTAMP_TZ", "TIMESTAMP_LTZ")
CONTRACT = DataContract(time_column="T", label="Y", id_column="ID", features=("X",))
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
INSTANTS = [
    MONDAY + timedelta(weeks=week, days=day, hours=hour)
    for week in range(3)
    for day, hour in ((0, 3), (2, 12), (6, 20))  # Monday 03:00, Wednesday, Sunday 20:00 UTC
]


def in_zone(connect, zone: str):
    """A new session of ``connect`` whose time zone is ``zone``."""
    session = connect()
    sessions = importlib.import_module("fakesnow.server").sessions
    behind = list(sessions.values())[-1]  # the one just logged in
    behind._duck_conn.execute(f"SET TimeZone = '{zone}'")
    return session


def _literal(instant: datetime, kind: str) -> str:
    if kind == "TIMESTAMP_NTZ":  # wall clock without a zone: taken as UTC
        return f"'{instant:%Y-%m-%d %H:%M:%S}'::TIMESTAMP_NTZ"
    return f"'{instant:%Y-%m-%d %H:%M:%S}+00:00'::{kind}"


@pytest.fixture
def table(connect, request):
    """The rows of ``INSTANTS`` in a table whose time column has the kind asked for."""
    kind = request.param
    session = connect()
    session.sql(f"CREATE TABLE T_{kind} (ID NUMBER, T {kind}, X NUMBER(10, 2), Y NUMBER)").collect()
    for number, instant in enumerate(INSTANTS):
        session.sql(
            f"INSERT INTO T_{kind} SELECT {number}, {_literal(instant, kind)}, "
            f"{number / 10}, {number % 2}"
        ).collect()
    return f"T_{kind}"


def _source(session, connect, table) -> SnowparkSource:
    settings = SnowflakeSettings(database="CC_DB", schema=connect.schema)
    return SnowparkSource(session, settings, table=table, contract=CONTRACT)


EXPECTED = absolute_periods(pd.Series(pd.to_datetime(INSTANTS)), "week")
EXPECTED = {number: int(week - EXPECTED.min()) for number, week in enumerate(EXPECTED)}


@pytest.mark.parametrize("table", KINDS, indirect=True)
@pytest.mark.parametrize("zone", ZONES)
def test_fakesnow_each_row_is_read_in_the_week_of_its_utc_time(connect, table, zone):
    source = _source(in_zone(connect, zone), connect, table)
    assert source.period_span() == (0, 2)
    seen = {}
    for week in range(3):
        rows = source.read_periods(PeriodRange(week, week))
        assert set(rows["cc_period"]) == {week}
        seen.update({int(i): week for i in rows["ID"]})
    assert seen == EXPECTED
    utc = source.read_periods(PeriodRange(0, 2))["T"]
    assert list(utc.sort_values()) == [pd.Timestamp(i).tz_localize(None) for i in INSTANTS]


@pytest.mark.parametrize("table", ["TIMESTAMP_LTZ"], indirect=True)
def test_fakesnow_a_row_outside_the_requested_weeks_is_an_error(connect, table, monkeypatch):
    source = _source(connect(), connect, table)
    wide = source.periods_frame(PeriodRange(0, 2))
    monkeypatch.setattr(source, "periods_frame", lambda periods: wide)  # a filter that lets more by
    with pytest.raises(DataValidationError, match=r"outside the requested weeks 1–1"):
        source.read_periods(PeriodRange(1, 1))


def test_fakesnow_a_feature_name_the_ml_registry_refuses_stops_the_first_read(connect):
    session = connect()
    session.sql(
        'CREATE TABLE LOANS (ID NUMBER, T TIMESTAMP_NTZ, "monthly income" NUMBER, Y NUMBER)'
    ).collect()
    session.sql("INSERT INTO LOANS SELECT 1, '2026-01-05 10:00:00'::TIMESTAMP_NTZ, 10, 1").collect()
    settings = SnowflakeSettings(database="CC_DB", schema=connect.schema)
    contract = DataContract(time_column="T", label="Y", id_column="ID")
    source = SnowparkSource(session, settings, table="LOANS", contract=contract)
    with pytest.raises(DataValidationError, match="monthly income") as caught:
        source.read_periods(PeriodRange(0, 0))
    assert "RENAME COLUMN" in str(caught.value) and "[data] ignore" in str(caught.value)
    ignored = DataContract(time_column="T", label="Y", id_column="ID", ignore=("monthly income",))
    fine = SnowparkSource(session, settings, table="LOANS", contract=ignored)
    with pytest.raises(DataValidationError, match="no feature columns"):  # the only feature
        fine.read_periods(PeriodRange(0, 0))
