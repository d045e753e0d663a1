"""Work that stays in the warehouse: window fingerprints, row matches, and what comes down.

Everything runs on a real Snowpark session over fakesnow (``snowpark_session``),
which computes ``HASH``/``HASH_AGG`` its own way (see ``snowpark_fakesnow.py``):
the properties tested here hold for Snowflake's, the values are fakesnow's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from snowflake.snowpark import functions as sf

from flows.backends.snowflake.fingerprint import rows_seen, window_fingerprint
from flows.backends.snowflake.source import ROW_ID, SnowparkSource
from flows.config import SnowflakeSettings
from flows.data.periods import PeriodRange
from flows.data.quickstart import GeneratorSpec, generate_applications, row_hashes
from tests.snowflake.traffic import watch

pytest.importorskip("fakesnow")

WEEKS = PeriodRange(1, 3)


def _source(session, table: str = "APPLICATIONS") -> SnowparkSource:
    database, schema = (
        n.strip('"') for n in (session.get_current_database(), session.get_current_schema())
    )
    return SnowparkSource(session, SnowflakeSettings(database=database, schema=schema), table=table)


def _applications(weeks: int = 5, rows_per_week: int = 30) -> pd.DataFrame:
    return generate_applications(weeks, GeneratorSpec(rows_per_week=rows_per_week))


@pytest.fixture
def written(snowpark_session) -> SnowparkSource:
    source = _source(snowpark_session)
    source.write(_applications())
    return source


def _copy_shuffled(source: SnowparkSource, table: str) -> SnowparkSource:
    """The same rows (``ROW_ID`` and all) in another table, stored in another order."""
    rows = source.session.table(source.table).to_pandas().sample(frac=1.0, random_state=7)
    rows = rows.reset_index(drop=True)
    copy = _source(source.session, table)
    source.session.create_dataframe(rows).write.save_as_table(copy.table, mode="overwrite")
    return copy


class TestWindowFingerprint:
    def test_warehouse_fingerprint_ignores_the_order_rows_are_stored_in(self, written):
        shuffled = _copy_shuffled(written, "SHUFFLED")
        fingerprint = window_fingerprint(written.periods_frame(WEEKS))
        assert len(fingerprint) == 16 and int(fingerprint, 16) != 0
        assert window_fingerprint(shuffled.periods_frame(WEEKS)) == fingerprint
        assert window_fingerprint(written.periods_frame(PeriodRange(1, 2))) != fingerprint

    def test_warehouse_fingerprint_changes_when_one_value_of_one_row_changes(self, written):
        copy = _copy_shuffled(written, "EDITED")
        before = window_fingerprint(copy.periods_frame(WEEKS))
        (row,) = copy.session.sql(
            f"SELECT MIN({ROW_ID}) AS R FROM {copy.table} WHERE WEEK_NUMBER = 2"
        ).collect()
        edit = f"UPDATE {copy.table} SET ANNUAL_INCOME = ANNUAL_INCOME + ? WHERE {ROW_ID} = ?"
        copy.session.sql(edit, [0.01, row["R"]]).collect()
        assert window_fingerprint(copy.periods_frame(WEEKS)) != before
        copy.session.sql(edit, [-0.01, row["R"]]).collect()
        assert window_fingerprint(copy.periods_frame(WEEKS)) == before
        copy.session.sql(
            f"UPDATE {copy.table} SET ANNUAL_INCOME = 0 WHERE WEEK_NUMBER = 4"
        ).collect()
        assert window_fingerprint(copy.periods_frame(WEEKS)) == before  # outside the window

    def test_warehouse_fingerprint_counts_a_duplicated_row(self, written):
        copy = _copy_shuffled(written, "DOUBLED")
        before = window_fingerprint(copy.periods_frame(WEEKS))
        copy.session.sql(
            f"INSERT INTO {copy.table} SELECT * FROM {copy.table} WHERE WEEK_NUMBER = 2 LIMIT 1"
        ).collect()
        assert window_fingerprint(copy.periods_frame(WEEKS)) != before

    def test_warehouse_fingerprint_statement_and_answer_do_not_grow_with_the_rows(
        self, snowpark_session
    ):
        source, traffic = _source(snowpark_session), watch(snowpark_session)
        seen = []
        for rows_per_week in (2, 400):
            source.write(_applications(rows_per_week=rows_per_week), replace=True)
            with traffic.window() as window:
                window_fingerprint(source.periods_frame(WEEKS))
            seen.append(window)
        small, large = seen
        assert small.statements == large.statements
        assert any("HASH_AGG(" in s for s in large.statements)
        assert small.cells_down() == large.cells_down() == 1
        assert max(len(s) for s in large.statements) < 2_000


class TestRowsSeen:
    def test_warehouse_rows_seen_counts_the_hold_out_rows_a_window_holds(self, written):
        data = written.read_periods(PeriodRange(0, 4))
        holdout = written.periods_frame(PeriodRange(3, 4))
        assert rows_seen(holdout, written.periods_frame(PeriodRange(0, 2))) == 0
        overlapping = written.periods_frame(PeriodRange(2, 3))
        train_hashes = row_hashes(data[data["week_number"].between(2, 3)])
        expected = int(np.isin(row_hashes(data[data["week_number"] >= 3]), train_hashes).sum())
        assert rows_seen(holdout, overlapping) == expected == int((data["week_number"] == 3).sum())

    def test_warehouse_rows_seen_brings_down_one_number(self, written):
        traffic = watch(written.session)
        with traffic.window() as window:
            rows_seen(
                written.periods_frame(PeriodRange(3, 4)), written.periods_frame(PeriodRange(0, 3))
            )
        assert window.cells_down() == 1

    def test_warehouse_rows_seen_refuses_windows_of_different_columns(self, written):
        narrower = written.periods_frame(WEEKS).drop("CREDIT_SCORE")
        with pytest.raises(ValueError, match="different columns"):
            rows_seen(written.periods_frame(WEEKS), narrower)


class TestTraffic:
    """The meter a warehouse-mode test uses to say what reached the worker."""

    @pytest.fixture
    def holdout(self, written):
        return written.periods_frame(PeriodRange(3, 4))

    def test_warehouse_traffic_counts_rows_times_columns_of_each_result(self, written, holdout):
        traffic = watch(written.session)
        rows = holdout.count()
        with traffic.window() as everything:
            whole = holdout.to_pandas()
        with traffic.window() as counted:
            holdout.count()
        assert everything.cells_down() == rows * len(whole.columns) == whole.size
        assert counted.cells_down() == 1
        assert all(t.cells == 0 for t in everything.transfers if t not in everything.downloads())

    def test_warehouse_traffic_sees_only_label_and_scores_when_scoring_stays_up(self, holdout):
        """The shape of the warehouse-mode assertion: hold-out rows × 3 columns, no features."""
        traffic = watch(holdout.session)
        scored = holdout.select(
            sf.col("APPROVED"),
            (sf.col("CREDIT_SCORE") / sf.lit(850)).alias("CHAMPION_SCORE"),
            (sf.col("DEBT_TO_INCOME") * sf.lit(-1)).alias("CHALLENGER_SCORE"),
        )
        with traffic.window() as window:
            evidence = scored.to_pandas()
        assert window.cells_down() == len(evidence) * 3
        assert all(t.columns <= 3 for t in window.downloads())

    def test_warehouse_traffic_counts_frames_sent_up(self, snowpark_session):
        traffic = watch(snowpark_session)
        frame = _applications(weeks=1, rows_per_week=7)
        with traffic.window() as window:
            snowpark_session.create_dataframe(frame).count()
        assert window.cells_up() == frame.size
        assert window.cells_down() < frame.size  # the load's own report and the count
