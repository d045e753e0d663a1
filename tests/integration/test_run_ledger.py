"""Each weekly run is recorded in its own ledger only, once per attempt, on a real server.

The flows run in this process against the session's server: a run's home given
through its environment (as a per-run job variable gives it), and a failed run
retried as the UI retries it (AwaitingRetry, forced: ``run_count`` 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.backends import open_backend
from flows.config import load_settings
from flows.cycle import steps
from flows.orchestration.pipeline import champion_challenger
from flows.records import Outcome
from tests.integration.conftest import ledger, make_home, read_flow_run

pytestmark = pytest.mark.prefect_server


def _rows(home: Path, run_id: Any) -> tuple[list[Any], list[Any]]:
    """The run's ``started`` rows and its ends in ``home``'s ledger, oldest first."""
    run_id = str(run_id)
    return (
        [s for s in ledger(home, started=True) if s.run_id == run_id],
        [e for e in ledger(home) if e.run_id == run_id],
    )


def test_a_home_given_per_run_records_only_its_own_runs(prefect_server, tmp_path, monkeypatch):
    home_a = make_home(tmp_path / "a", champion=True)
    home_b = make_home(tmp_path / "b", champion=True)

    monkeypatch.setenv("CC_HOME", str(home_b))  # the run's environment, not a parameter
    in_b = champion_challenger(policy_params={"margin": 0, "bogus": 1}, return_state=True)
    monkeypatch.setenv("CC_HOME", str(home_a))
    in_a = champion_challenger(return_state=True)

    assert in_b.is_failed() and in_a.is_completed(), in_a.message
    b_run = in_b.state_details.flow_run_id
    assert read_flow_run(b_run).parameters.get("home") is None
    # A's cycle reconciled the failed runs it could see, and recorded none of B's.
    assert _rows(home_a, b_run) == ([], [])
    starts, ends = _rows(home_b, b_run)
    assert len(starts) == 1 and [e.outcome for e in ends] == [Outcome.FAILED]


def test_a_run_retried_as_the_ui_retries_has_one_end_per_attempt(prefect_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import AwaitingRetry

    home = make_home(tmp_path / "home", champion=False)
    first = champion_challenger(home=str(home), return_state=True)
    assert first.is_failed() and "no live champion" in first.message
    run_id = first.state_details.flow_run_id

    with open_backend(load_settings(home=home)) as backend:  # the operator fixes the cause
        steps.train_champion(backend, load_settings(home=home))
    with get_client(sync_client=True) as client:  # ... and retries the run from the UI
        client.set_flow_run_state(run_id, AwaitingRetry(), force=True)
    retried = run_flow(champion_challenger, flow_run=read_flow_run(run_id), return_type="state")

    assert retried.is_completed(), retried.message
    assert read_flow_run(run_id).run_count == 2
    starts, ends = _rows(home, run_id)
    assert [s.run_count for s in starts] == [1, 2]
    assert [(e.run_count, e.outcome is Outcome.FAILED) for e in ends] == [(1, True), (2, False)]
    assert retried.result() == ends[-1].to_dict()

    later = champion_challenger(home=str(home), return_state=True)  # reconciles nothing more
    assert later.is_completed() and _rows(home, run_id)[1] == ends
