"""Stores written before periods followed UTC: zoned times, counted on their zone's wall clock.

An earlier release kept zoned times as they came and counted each row's period on
the wall clock of its zone, so a row of 00:30 local on the first day of a period
sits in that period's file, while in UTC (22:30 the evening before) it belongs to the
period before. Such a store is read back into the same periods as a fresh ingest of
the same rows, or refused in one line that says how to recount it; never read into
windows that silently hold their neighbours' rows.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.backends.local.source import STORE_FILE, LocalPeriodStore
from flows.data.contract import PERIOD_KEY, DataContract
from flows.data.periods import PeriodRange
from flows.errors import DataValidationError
from tests.flows.cycle.test_real_tables import HOURLY, hourly

ZONE = "Europe/Berlin"
"""Summer time from 2024-03-31 02:00 (+01:00 → +02:00); April 1st is a Monday."""
UNITS = ["day", "week", "month"]


def store_counted_on_the_zones_clock(folder, rows: pd.DataFrame, contract: DataContract) -> None:
    """Write ``rows`` as the earlier release did: zoned times, periods of their wall clock."""
    time = contract.time_column
    wall = rows.assign(**{time: rows[time].dt.tz_localize(None)})
    canonical = contract.for_storage(wall)
    origin = contract.origin_of(canonical)
    canonical[time] = rows[time].array  # the zoned times, as they were stored
    folder.mkdir(parents=True)
    for period, part in canonical.groupby(PERIOD_KEY):
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, folder / f"{contract.period}-{period:05d}.parquet")
    periods = sorted(int(p) for p in canonical[PERIOD_KEY].unique())
    manifest = {"period": contract.period, "origin": origin, "periods": [[periods[0], periods[-1]]]}
    (folder / STORE_FILE).write_text(json.dumps(manifest))


def stores(tmp_path, rows: pd.DataFrame, unit: str) -> tuple[LocalPeriodStore, LocalPeriodStore]:
    """The rows in a store of the earlier release, and freshly ingested."""
    contract = replace(HOURLY, period=unit)
    store_counted_on_the_zones_clock(tmp_path / "earlier", rows, contract)
    fresh = LocalPeriodStore(tmp_path / "fresh", contract)
    fresh.write(rows)
    return LocalPeriodStore(tmp_path / "earlier", contract), fresh


def readings(store: LocalPeriodStore, period: int) -> set[int]:
    return set(store.read_periods(PeriodRange(period, period))["reading"])


def around_the_switch(start: str = "2024-03-18T23:00") -> pd.DataFrame:
    """Hourly readings in Berlin from local midnight on Tuesday March 19th to mid-April:
    every period boundary, before and after the switch, has rows within the hour."""
    return hourly(start, 24 * 28, ZONE)


@pytest.mark.parametrize("unit", UNITS)
def test_rows_near_boundaries_on_both_sides_of_the_switch_are_never_read_into_another_period(
    tmp_path, unit
):
    earlier, fresh = stores(tmp_path, around_the_switch(), unit)
    span = earlier.period_span()
    refused = []
    for period in range(span[0], span[1] + 1):
        try:
            got = readings(earlier, period)
        except DataValidationError as error:
            assert "\n" not in str(error)
            assert f"counted on the clock of its times' zone ({ZONE})" in str(error)
            assert str(error).endswith("Ingest the data again with --replace to count it in UTC.")
            refused.append(period)
        else:
            assert got == readings(fresh, period)
    assert refused  # the difference is reported


def test_the_message_names_the_period_its_rows_fall_in_and_the_first_of_them(tmp_path):
    earlier, _ = stores(tmp_path, around_the_switch(), "day")
    with pytest.raises(DataValidationError) as raised:
        earlier.read_periods(PeriodRange(13, 13))  # April 1st, the day after the switch
    assert (
        "2 row(s) of day 13 (2024-04-01) fall in day 12 (2024-03-31) "
        "(first: 2024-04-01 00:00:00+02:00)"
    ) in str(raised.value)
    with pytest.raises(
        DataValidationError, match=r"1 row\(s\) of day 5 \(2024-03-24\) fall in day 4"
    ):
        earlier.read_periods(PeriodRange(5, 5))  # before the switch: one hour ahead of UTC


@pytest.mark.parametrize("unit", ["week", "month"])
def test_a_range_whose_rows_sit_in_a_neighbours_file_is_refused_too(tmp_path, unit):
    # The first week and month start on a Tuesday: their files hold only their own rows,
    # but their last hours in UTC sit in the next period's file.
    earlier, fresh = stores(tmp_path, around_the_switch(), unit)
    own_file = pd.read_parquet(earlier.folder / f"{unit}-00000.parquet")
    assert readings(fresh, 0) - set(own_file["reading"])
    with pytest.raises(DataValidationError, match="count it in UTC"):
        earlier.read_periods(PeriodRange(0, 0))


@pytest.mark.parametrize(
    "zone, hours", [("UTC", range(24)), (ZONE, range(9, 18))], ids=["utc", "office-hours"]
)
@pytest.mark.parametrize("unit", UNITS)
def test_zoned_times_that_stay_in_their_period_read_as_a_fresh_ingest(tmp_path, unit, zone, hours):
    rows = hourly("2024-03-18T23:00", 24 * 28, zone)
    rows = rows[rows["at"].dt.tz_convert(ZONE).dt.hour.isin(hours)].reset_index(drop=True)
    earlier, fresh = stores(tmp_path, rows, unit)
    assert earlier.period_span() == fresh.period_span()
    whole = PeriodRange(*fresh.period_span())
    pd.testing.assert_frame_equal(earlier.read_periods(whole), fresh.read_periods(whole))
    for period in range(whole.start, whole.end + 1):
        assert readings(earlier, period) == readings(fresh, period)


def test_an_append_to_such_a_store_is_refused_before_anything_is_written(tmp_path):
    earlier, _ = stores(tmp_path, around_the_switch(), "week")
    manifest = (earlier.folder / STORE_FILE).read_bytes()
    files = sorted(earlier.folder.iterdir())
    later = hourly("2024-05-06T00:00", 24 * 7, ZONE).assign(reading=lambda r: r["reading"] + 10_000)
    with pytest.raises(DataValidationError, match="Ingest the data again with --replace"):
        earlier.write(later)
    assert (earlier.folder / STORE_FILE).read_bytes() == manifest
    assert sorted(earlier.folder.iterdir()) == files
