"""The leakage check where the rows live: a version's training window, fingerprinted and matched in SQL.

On Snowflake a version records its training window's ``HASH_AGG`` fingerprint, not a
hash per training row. Judging it, the warehouse fingerprints the window again (the
same rows, or refuse) and counts the hold-out rows it holds: one number comes down.
Versions logged with row hashes before are still checked on them. Everything runs
on fakesnow with the ML registry stand-in (``warehouse_fixtures.offline_account``);
the tests that only read share one account, the one that edits rows has its own.
"""

from __future__ import annotations

from collections.abc import Iterator

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
from tests.snowflake.warehouse_fixtures import OfflineAccount, offline_account

pytest.importorskip("fakesnow")

TABLE = SnowflakeSettings().applications_table


@pytest.fixture(scope="module")
def shared(fakesnow_warehouse, tmp_path_factory) -> Iterator[OfflineAccount]:
    """One account for the tests that change no stored row."""
    with pytest.MonkeyPatch.context() as patch:
        yield offline_account(
            fakesnow_warehouse, "T_LEAKAGE_SHARED", patch, tmp_path_factory.mktemp("leakage")
        )


def test_warehouse_version_records_its_window_fingerprint_and_no_row_hash(shared):
    with open_backend(shared.worker_settings) as backend:
        champion = backend.registry.champion()
        window = backend.source.window_fingerprint(champion.train_periods)
        assert champion.train_window_fingerprint == window
        assert len(window) == 16
        assert backend.registry.train_row_hashes(champion.name) is None


def test_warehouse_check_brings_down_two_numbers_whatever_the_rows(shared):
    """The window's fingerprint and the count of hold-out rows it holds: nothing per row."""
    with open_backend(shared.worker_settings) as backend:
        plan = steps.plan_cycle(backend, shared.settings)
        champion = backend.registry.champion()
        with shared.traffic.window() as traffic:
            check_window_not_trained_on(backend.source, champion, plan.holdout, n_rows=1)
    assert traffic.cells_down() == 2
    assert all(t.rows <= 1 for t in traffic.downloads())


def test_warehouse_versions_with_row_hashes_are_still_checked_on_them(shared):
    """A version logged before windows were fingerprinted keeps its hashes, and they are read."""
    with open_backend(shared.worker_settings) as backend:
        plan = steps.plan_cycle(backend, shared.settings)
        source = backend.source
        spec = load_settings(home=shared.settings.home).challenger_spec
        weeks = PeriodRange(0, 9)
        leaked = source.read_periods(PeriodRange(plan.holdout.end, plan.holdout.end))
        train = pd.concat([source.read_periods(weeks), leaked], ignore_index=True)
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


def test_warehouse_a_training_row_moved_into_the_hold_out_is_caught_and_refingerprinted(
    fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path
):
    """The champion trained on a row that is now a hold-out row: its window no longer matches.

    Both compute modes refuse it before scoring, the live version stays; the same
    window trained again records another fingerprint (and so another version).
    """
    account = offline_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path)
    account.procedure.sql(
        f"UPDATE {TABLE} SET WEEK_NUMBER = 18 WHERE ROW_ID = "
        f"(SELECT MIN(ROW_ID) FROM {TABLE} WHERE WEEK_NUMBER = 5)"
    ).collect()
    for settings in (account.settings, account.worker_settings):
        with open_backend(settings) as backend:
            champion = backend.registry.champion()
            with pytest.raises(LeakageError, match=rf"version {champion.name} was trained, chang"):
                stages.weekly_cycle(backend, settings, ccpolicy.load_policy("auc_greater"))
            assert backend.registry.live_version() == champion.name
    assert [stage for stage, _ in account.calls] == ["version", "retrain", "evaluate"]

    with open_backend(account.worker_settings) as backend:
        windows = steps.plan_cycle(backend, account.settings, role="champion").windows
        again, reused, _ = contestants.train_and_log(
            backend, account.settings.champion_spec, windows, role="champion"
        )
    assert not reused and again.name != champion.name
    assert again.train_weeks == champion.train_weeks
    assert again.train_window_fingerprint != champion.train_window_fingerprint
