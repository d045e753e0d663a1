"""The leakage check where the rows live: a version's training window, fingerprinted and matched in SQL.

On Snowflake a version records its training window's ``HASH_AGG`` fingerprint, not a
hash per training row. Judging it, the warehouse fingerprints the window again (the
same rows, or refuse) and counts the hold-out rows it holds: one number comes down.
Versions logged with row hashes before are still checked on them. Everything runs
on fakesnow with the ML registry stand-in (``warehouse_fixtures.offline_account``).
"""

from __future__ import annotations

import pandas as pd
import pytest

import ccpolicy
from flows.backends import open_backend
from flows.config import SnowflakeSettings, load_settings
from flows.cycle import contestants, stages, steps
from flows.cycle.evaluation import check_window_not_trained_on
from flows.cycle.training import train_model
from flows.data.periods import PeriodRange
from flows.errors import LeakageError
from flows.names import FEATURE_COLUMNS
from flows.records import ModelVersion
from tests.snowflake.warehouse_fixtures import offline_account

pytest.importorskip("fakesnow")

TABLE = SnowflakeSettings().applications_table


@pytest.fixture
def account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path):
    return offline_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path)


def _champion(backend) -> ModelVersion:
    return backend.registry.champion()


def _move_a_row(account, *, from_week: int, to_week: int) -> None:
    """Give one stored row of ``from_week`` the period ``to_week``: it changes windows."""
    account.procedure.sql(
        f"UPDATE {TABLE} SET WEEK_NUMBER = ? WHERE ROW_ID = "
        f"(SELECT MIN(ROW_ID) FROM {TABLE} WHERE WEEK_NUMBER = ?)",
        [to_week, from_week],
    ).collect()


def test_warehouse_version_records_its_window_fingerprint_and_no_row_hash(account):
    with open_backend(account.worker_settings) as backend:
        champion = _champion(backend)
        window = backend.source.window_fingerprint(champion.train_periods)
        assert champion.train_window_fingerprint == window
        assert len(window) == 16
        assert backend.registry.train_row_hashes(champion.name) is None


def test_warehouse_recorded_fingerprint_changes_when_a_training_row_changes(account):
    with open_backend(account.worker_settings) as backend:
        before = _champion(backend)
        account.procedure.sql(
            f"UPDATE {TABLE} SET ANNUAL_INCOME = ANNUAL_INCOME + 1 WHERE ROW_ID = "
            f"(SELECT MIN(ROW_ID) FROM {TABLE} WHERE WEEK_NUMBER = 4)"
        ).collect()
        windows = steps.plan_cycle(backend, account.settings, role="champion").windows
        after, reused, _ = contestants.train_and_log(
            backend, account.settings.champion_spec, windows, role="champion"
        )
    assert not reused and after.name != before.name
    assert after.train_window_fingerprint != before.train_window_fingerprint
    assert after.train_weeks == before.train_weeks


@pytest.mark.parametrize("mode", ["warehouse", "worker"])
def test_warehouse_a_training_row_moved_into_the_hold_out_is_caught(account, mode):
    """The champion trained on a row that is now a hold-out row: its window no longer matches."""
    settings = account.settings if mode == "warehouse" else account.worker_settings
    _move_a_row(account, from_week=5, to_week=18)
    with open_backend(settings) as backend:
        champion = _champion(backend)
        with pytest.raises(LeakageError, match=rf"version {champion.name} was trained, changed"):
            stages.weekly_cycle(backend, settings, ccpolicy.load_policy("auc_greater"))
        assert backend.registry.live_version() == champion.name
    assert bool(account.calls) == (mode == "warehouse")


def test_warehouse_check_brings_down_two_numbers_whatever_the_rows(account):
    """The window's fingerprint and the count of hold-out rows it holds: nothing per row."""
    with open_backend(account.worker_settings) as backend:
        plan = steps.plan_cycle(backend, account.settings)
        champion = _champion(backend)
        with account.traffic.window() as traffic:
            check_window_not_trained_on(backend.source, champion, plan.holdout, n_rows=1)
    assert traffic.cells_down() == 2
    assert all(t.rows <= 1 for t in traffic.downloads())


def test_warehouse_versions_with_row_hashes_are_still_checked_on_them(account):
    """A version logged before windows were fingerprinted keeps its hashes, and they are read."""
    with open_backend(account.worker_settings) as backend:
        plan = steps.plan_cycle(backend, account.settings)
        source = backend.source
        spec = load_settings(home=account.settings.home).challenger_spec
        weeks = PeriodRange(0, 9)
        rows = source.read_periods(weeks)
        leaked = source.read_periods(PeriodRange(plan.holdout.end, plan.holdout.end))
        train = pd.concat([rows, leaked], ignore_index=True)
        trained = train_model(spec, train, train, train_periods=weeks, test_periods=weeks)
        record = ModelVersion(
            model_name=backend.registry.model_name,
            name="OLD_STYLE",
            created_at="",
            train_weeks=(weeks.start, weeks.end),
            spec=spec.to_dict(),
        )
        backend.registry.log_version(
            trained.model,
            record,
            sample_input=train[list(FEATURE_COLUMNS)].head(5),
            train_row_hashes=trained.train_row_hashes,
        )
        with pytest.raises(LeakageError, match=rf"OLD_STYLE was trained on {len(leaked)} of the"):
            steps.evaluate(backend, plan, challenger="OLD_STYLE")
