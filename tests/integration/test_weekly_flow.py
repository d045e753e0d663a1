"""The flows called in this process, against the session's Prefect server (no worker)."""

from __future__ import annotations

import itertools
import json
import logging

import pytest

from flows.names import LABEL_COLUMN
from flows.orchestration.pipeline import champion_challenger
from flows.orchestration.run_story import OUTCOME_STATE_NAMES
from flows.orchestration.score_flow import score
from flows.records import Outcome
from tests.integration.conftest import (
    artifacts,
    events_of,
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


def _engine_log_records() -> list[logging.LogRecord]:
    """Collects what Prefect's flow-run engine logs in this process from now on."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("prefect.flow_runs").addHandler(handler)
    return records


def test_the_weekly_flow_runs_retrain_evaluate_and_promote_under_prefect(prefect_server, home):
    records = _engine_log_records()
    state = champion_challenger(home=str(home), return_state=True)

    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    tasks = task_runs(flow_run_id)
    chain = ("check-policy", "plan", "retrain", "evaluate", "decide")
    for name in chain:
        assert tasks[name].state_name == "Completed", name
    for upstream, downstream in itertools.pairwise(chain):
        inputs = [i.id for edges in tasks[downstream].task_inputs.values() for i in edges]
        assert tasks[upstream].id in inputs, f"no edge {upstream} -> {downstream} in the graph"
    assert read_flow_run(flow_run_id).name == "credit_approval-week-19"
    entry = state.result()
    assert entry["run_id"] == str(flow_run_id)
    assert ledger(home)[-1].id == entry["id"]

    # The run's final state says what happened, and why.
    assert state.name == OUTCOME_STATE_NAMES[Outcome(entry["outcome"])]
    assert state.message == entry["reason"]
    assert read_flow_run(flow_run_id).state_name == state.name
    # The engine's own last lines carry the final name, not the one the run started with.
    finished = [r for r in records if r.getMessage().startswith("Finished in state")]
    assert [r.flow_run_name for r in finished] == ["credit_approval-week-19"]

    # The metric table is rounded for reading; the ledger keeps the raw values.
    found = artifacts(flow_run_id)
    rows = {row["metric"]: row for row in json.loads(found["credit-approval-metrics"].data)}
    raw = entry["metrics"]["challenger"]["roc_auc"]
    assert rows["roc_auc"]["challenger"] == round(raw, 4) != raw
    assert found["credit-approval-decision"].description == entry["outcome"]
    recorded_at = entry["recorded_at"]
    report = found["credit-approval-decision"].data
    assert f"{recorded_at[:19].replace('T', ' ')} UTC" in report and recorded_at not in report

    # The decision is an event about the model on the server's feed.
    [event] = events_of(flow_run_id, prefix="champion-challenger.decision.")
    assert event["event"] == f"champion-challenger.decision.{entry['outcome']}"
    assert event["resource"]["prefect.resource.id"] == "champion-challenger.model.CREDIT_APPROVAL"
    payload = event["payload"]
    assert (payload["champion_version"], payload["challenger_version"]) == (
        entry["champion_version"],
        entry["challenger_version"],
    )
    assert payload["p_value"] == pytest.approx(entry["details"]["p_value"])


def test_a_dry_run_is_named_so_and_changes_nothing(prefect_server, home):
    champion = live_version(home)
    state = champion_challenger(
        home=str(home), policy="auc_greater", dry_run=True, return_state=True
    )

    assert state.is_completed(), state.message
    assert state.name == "Dry run"
    assert read_flow_run(state.state_details.flow_run_id).name == "credit_approval-week-19-dry-run"
    assert state.result()["outcome"] == Outcome.DRY_RUN.value
    assert live_version(home) == champion


def test_a_missing_label_in_the_holdout_fails_at_once_naming_the_column_and_is_recorded(
    prefect_server, home
):
    import pandas as pd

    newest = home / "data" / "applications" / "week-00019.parquet"
    rows = pd.read_parquet(newest)
    rows.loc[3, LABEL_COLUMN] = None
    rows.to_parquet(newest, index=False)
    champion = live_version(home)

    state = champion_challenger(home=str(home), return_state=True)

    assert state.is_failed()
    assert f"'{LABEL_COLUMN}'" in state.message and "missing label" in state.message
    evaluate = task_runs(state.state_details.flow_run_id)["evaluate"]
    assert evaluate.state_name == "Failed"
    assert evaluate.run_count == 1, "bad data must not be retried"
    assert live_version(home) == champion
    entry = ledger(home)[-1]
    assert entry.outcome is Outcome.FAILED
    assert f"'{LABEL_COLUMN}'" in entry.reason and entry.champion_version == champion
    assert [e.run_id for e in ledger(home)].count(entry.run_id) == 1, "the hook adds no twin"

    # The run's message is the one-line error, and a short report says the champion is safe.
    assert state.message.startswith("DataValidationError: ") and "\n" not in state.message
    report = artifacts(state.state_details.flow_run_id)["credit-approval-decision"]
    assert report.description == f"failed: {state.message}"
    assert "champion untouched" in report.data and f"#{entry.id}" in report.data


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
    from flows.backends.local import backend as local

    opened, closed = [], []
    real_open = local.open_local_backend

    def counting_open(settings, **options):
        backend = real_open(settings, **options)
        opened.append(backend)
        monkeypatch.setattr(backend.registry, "close", lambda: closed.append(backend))
        return backend

    monkeypatch.setattr(local, "open_local_backend", counting_open)
    flow = {"champion_challenger": champion_challenger, "score": score}[flow_name]
    state = flow(home=str(home), return_state=True)

    assert state.is_completed(), state.message
    assert len(opened) == 1 and closed == opened
