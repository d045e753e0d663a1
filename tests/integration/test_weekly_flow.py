"""The flows called in this process, against the session's Prefect server (no worker)."""

from __future__ import annotations

import pytest

from flows.pipeline import champion_challenger, score
from flows.registry.base import Outcome
from tests.integration.conftest import (
    artifacts,
    ledger,
    live_version,
    make_home,
    read_flow_run,
    task_runs,
)

pytestmark = pytest.mark.prefect_server


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path / "home", champion=True)


def test_the_weekly_flow_runs_retrain_evaluate_and_promote_under_prefect(prefect_server, home):
    state = champion_challenger(home=str(home), return_state=True)

    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    tasks = task_runs(flow_run_id)
    for name in ("check-policy", "check-data", "retrain", "evaluate", "promote"):
        assert tasks[name].state_name == "Completed", name
    assert read_flow_run(flow_run_id).name == "credit_approval-week-19"
    entry = state.result()
    assert entry["run_id"] == str(flow_run_id)
    assert ledger(home)[-1].id == entry["id"]


def test_a_dry_run_is_named_so_and_changes_nothing(prefect_server, home):
    champion = live_version(home)
    state = champion_challenger(
        home=str(home), policy="auc_greater", dry_run=True, return_state=True
    )

    assert state.is_completed(), state.message
    assert read_flow_run(state.state_details.flow_run_id).name == "credit_approval-week-19-dry-run"
    assert state.result()["outcome"] == Outcome.DRY_RUN.value
    assert live_version(home) == champion


def test_a_missing_label_in_the_holdout_fails_at_once_naming_the_column_and_is_recorded(
    prefect_server, home
):
    import pandas as pd

    newest = home / "data" / "applications" / "week-00019.parquet"
    rows = pd.read_parquet(newest)
    rows.loc[3, "approved"] = float("nan")  # a missing feature value would be imputed
    rows.to_parquet(newest, index=False)
    champion = live_version(home)

    state = champion_challenger(home=str(home), return_state=True)

    assert state.is_failed()
    assert "'approved'" in state.message and "1 missing label" in state.message
    evaluate = task_runs(state.state_details.flow_run_id)["evaluate"]
    assert evaluate.state_name == "Failed"
    assert evaluate.run_count == 1, "bad data must not be retried"
    assert live_version(home) == champion
    entry = ledger(home)[-1]
    assert entry.outcome is Outcome.FAILED
    assert "'approved'" in entry.reason and entry.champion_version == champion


def test_a_scoring_run_says_what_was_scored_by_which_version(prefect_server, home):
    state = score(home=str(home), first_week=18, last_week=19, return_state=True)

    assert state.is_completed(), state.message
    result = state.result()
    assert result == {"version": live_version(home), "rows": 800}
    assert read_flow_run(state.state_details.flow_run_id).name == "credit_approval-week-19-score"
    summary = artifacts(state.state_details.flow_run_id)["credit-approval-scoring"]
    assert f"Scored 800 applications with `{result['version']}`" in summary.data
    assert result["version"] in summary.description


@pytest.mark.parametrize("flow_name", ["champion_challenger", "score"])
def test_a_flow_run_opens_its_backend_once_and_closes_it(
    prefect_server, home, monkeypatch, flow_name
):
    from flows import pipeline
    from flows.backends import local

    opened, closed = [], []
    real_open = local.open_local_backend

    def counting_open(settings):
        backend = real_open(settings)
        opened.append(backend)
        monkeypatch.setattr(backend.registry, "close", lambda: closed.append(backend))
        return backend

    monkeypatch.setattr(local, "open_local_backend", counting_open)
    state = getattr(pipeline, flow_name)(home=str(home), return_state=True)

    assert state.is_completed(), state.message
    assert len(opened) == 1 and closed == opened
