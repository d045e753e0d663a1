"""The review flow against the session's Prefect server: its tasks, state, artifact and event."""

from __future__ import annotations

import pytest

from flows.backends import open_backend
from flows.cycle import steps
from flows.orchestration.review import review
from flows.records import Outcome
from tests.flows.live.homes import live_home
from tests.flows.live.test_review import log_matured, matured_rows
from tests.integration.conftest import artifacts, events_of, read_flow_run, task_runs

pytestmark = pytest.mark.prefect_server


@pytest.fixture
def tested(tmp_path):
    """A loans home under a shadow test, with 300 matured rows in its score log."""
    settings = live_home(tmp_path / "home")
    with open_backend(settings) as backend:
        test = steps.live_candidate(backend)
        newest = steps.live_clock(backend)
        log_matured(backend, matured_rows(test, periods=[newest - 2], per_period=300))
    return settings


def test_a_look_completes_named_after_its_outcome_with_the_path_and_an_event(
    prefect_server, tested
):
    state = review(home=str(tested.home), return_state=True)

    assert state.is_completed() and state.name == "Continued", state.message
    flow_run_id = state.state_details.flow_run_id
    tasks = task_runs(flow_run_id)
    assert tasks["live-candidate"].state_name == "Completed"
    assert tasks["review"].state_name == "Completed"
    assert read_flow_run(flow_run_id).name == "loans-week-19-review"
    report = artifacts(flow_run_id)["loans-live-test"]
    assert "live review of" in report.data and "● against the boundary ┃" in report.data
    [event] = events_of(flow_run_id, prefix="champion-challenger.live.")
    assert event["event"] == "champion-challenger.live.continued"
    assert event["payload"]["number"] == 1 and event["payload"]["rows"] == 300
    with open_backend(tested) as backend:
        entry = steps.history(backend)[-1]
    assert entry.outcome is Outcome.CONTINUED and entry.run_id == str(flow_run_id)


def test_without_a_candidate_the_run_completes_as_no_candidate(prefect_server, tested):
    with open_backend(tested) as backend:
        last = steps.history(backend)[-1]
        backend.registry.append_ledger(last.stamped(outcome=Outcome.REJECTED, id=None))
        before = len(steps.history(backend))
    state = review(home=str(tested.home), return_state=True)
    assert state.is_completed() and state.name == "No candidate"
    assert "No candidate of LOANS is under live test" in state.message
    with open_backend(tested) as backend:
        assert len(steps.history(backend)) == before
