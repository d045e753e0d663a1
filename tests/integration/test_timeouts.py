"""Timeouts are final: never retried, the run ends TimedOut, the ledger records it.

Each cycle hangs in its evaluation step (a loop of short sleeps stands in for a hung
step: a read blocked in C on a pipe would not even let Prefect's timeout in), under a
tiny timeout, in this process against the session's server.
"""

from __future__ import annotations

import time

import pytest

from flows.cycle import steps
from flows.orchestration import pipeline, retries
from flows.records import Outcome
from tests.integration.conftest import ledger, live_version, make_home, task_runs

pytestmark = pytest.mark.prefect_server


HANG_SECONDS = 120


@pytest.fixture
def home(prefect_server, tmp_path):
    return make_home(tmp_path / "home", champion=True)


@pytest.fixture
def hung_evaluation(monkeypatch):
    """``steps.evaluate`` hangs (far longer than any timeout below) before evaluating."""
    real = steps.evaluate

    def hanging(*args, **kwargs):
        # Short sleeps: Prefect's watcher-thread timeout interrupts Python code between
        # two calls, never a sleep or a system call in the middle.
        deadline = time.monotonic() + HANG_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(steps, "evaluate", hanging)


def _assert_recorded_timeout(home, state, champion):
    assert state.is_failed() and state.name == "TimedOut", (state.name, state.message)
    assert live_version(home) == champion
    entry = ledger(home)[-1]
    assert entry.outcome is Outcome.FAILED
    assert entry.run_id == str(state.state_details.flow_run_id)
    return entry


def test_a_task_timeout_is_not_retried_and_ends_the_run_timed_out(
    home, hung_evaluation, monkeypatch
):
    champion = live_version(home)
    monkeypatch.setattr(pipeline, "evaluate", pipeline.evaluate.with_options(timeout_seconds=1))
    weekly = pipeline.champion_challenger.with_options(timeout_seconds=None)

    state = weekly(home=str(home), return_state=True)

    entry = _assert_recorded_timeout(home, state, champion)
    evaluate = task_runs(state.state_details.flow_run_id)["evaluate"]
    assert (evaluate.state_name, evaluate.run_count) == ("TimedOut", 1)
    assert pipeline.evaluate.retries == retries.IO_RETRIES, "retries exist, but not for this"
    assert "TaskRunTimeoutError" in entry.reason


CYCLE_TIMEOUT_SECONDS = 10
"""Long enough to reach the hung evaluation on a loaded machine (training comes first)."""


def test_the_cycle_timeout_firing_inside_a_task_ends_the_run_timed_out(home, hung_evaluation):
    champion = live_version(home)
    weekly = pipeline.champion_challenger.with_options(timeout_seconds=CYCLE_TIMEOUT_SECONDS)

    state = weekly(home=str(home), return_state=True)

    entry = _assert_recorded_timeout(home, state, champion)
    evaluate = task_runs(state.state_details.flow_run_id)["evaluate"]
    assert evaluate.run_count == 1, "the flow's timeout must not become a retried task failure"
    # The timeout that fired is named: the cycle's, not the task's own 3600 s. (Prefect's
    # own state message may name either, by which of its nested scopes sees it first.)
    assert (
        f"The weekly cycle exceeded its timeout of {CYCLE_TIMEOUT_SECONDS} s, during the "
        "evaluate task" in entry.reason
    )
    assert "Task run exceeded" not in entry.reason
