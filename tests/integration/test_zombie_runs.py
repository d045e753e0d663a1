"""Weekly runs that are cancelled, crash or are killed with their worker, on a real server.

Each run hangs reading a week of data (the week's file is a named pipe nobody writes
to) in a deployment on the test's own pool, with the weekly deployment's concurrency
limit (1) and heartbeat frequency (60 s) from ``prefect.yaml``.

- Cancelled, or its process killed while the worker lives: the worker reports the
  end and runs the flow's hook, which records it in the ledger, the operator's
  cancel reason included.
- Worker and flow-run process both SIGKILLed: the shipped zombie automation, as
  ``ccflows deploy`` installs it, marks the run Crashed once its heartbeats stop. That
  frees the deployment's slot (and the registry's lease has run out by then), so the
  next cycle starts and records the dead run in the ledger.

The shipped timing (a beat every 60 s, Crashed after 180 s without one: within 5
minutes of the kill) is checked against prefect.yaml in
``tests/deployments/test_prefect_automations.py``. Here the run beats at Prefect's
smallest frequency, and the test's copy of the automation waits one and a half beats
after Running or a beat; the run is killed once a beat of it is on the server's
feed. So the suite sits out under a minute rather than the shipped three to show
the same mechanism. The copy is not armed by Pending, which the shipped one is: so
short a wait would mark a slowly starting process Crashed on a loaded machine, where
the shipped three minutes leave it room.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest

from deployments.prefect_automations import ZOMBIE_AUTOMATION, install_automations
from deployments.prefect_automations import load_automations as shipped_automations
from deployments.prefect_deploy import ensure_work_pool, read_project
from flows.records import Outcome
from tests.conftest import REPO
from tests.integration.conftest import ledger, make_home, read_flow_run
from tests.support.local_prefect import process_worker

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.prefect_server

POOL = "cc-zombies"
DEPLOYMENT = "zombie-weekly"
HUNG_WEEK = 5
"""A week the challenger trains on, so the run hangs in ``retrain``."""
HEARTBEAT_SECONDS = 30
"""Prefect's smallest heartbeat frequency."""
WITHIN_SECONDS = 45
"""The test's copy of the automation waits this long after a heartbeat."""
DEADLINE_SECONDS = 300
"""The promise: a run killed with its worker leaves Running within 5 minutes."""


def _wait_for(what: str, condition: Any) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (found := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(1)
    return found


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first (read from /proc, Linux only)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in map(int, children.read().split()):
                    found += [child, *_descendants(child)]
        except FileNotFoundError:
            continue
    return found


@contextmanager
def hung_week(home: Path, week: int) -> Iterator[None]:
    """Replace a week's file by a named pipe, so that reading it blocks; restore it after."""
    path = home / "data" / "applications" / f"week-{week:05d}.parquet"
    kept = path.with_suffix(".kept")
    path.rename(kept)
    os.mkfifo(path)
    try:
        yield
    finally:
        path.unlink()
        kept.rename(path)


def _deploy_weekly(home: Path) -> UUID:
    """The weekly flow as a deployment on the test's own pool, limited as prefect.yaml limits it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy, ConcurrencyOptions

    ensure_work_pool(POOL)
    [weekly] = [d for d in read_project(REPO)["deployments"] if d["name"] == "weekly"]
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("champion-challenger")
        return client.create_deployment(
            flow_id=flow_id,
            name=DEPLOYMENT,
            entrypoint=weekly["entrypoint"],
            work_pool_name=POOL,
            pull_steps=[],
            parameters={"home": str(home), "policy": "auc_greater"},
            job_variables=_faster_heartbeat(weekly["work_pool"]["job_variables"]),
            concurrency_limit=weekly["concurrency_limit"]["limit"],
            concurrency_options=ConcurrencyOptions(
                collision_strategy=ConcurrencyLimitStrategy.ENQUEUE
            ),
        )


def _faster_heartbeat(job_variables: dict[str, Any]) -> dict[str, Any]:
    """prefect.yaml's job variables, beating every ``HEARTBEAT_SECONDS``."""
    env = {**job_variables["env"], "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}
    return {**job_variables, "env": env}


def _install_zombie_automation_for_this_deployment(deployment_id: UUID) -> None:
    """The shipped automation for this deployment's runs only, armed by Running or a beat."""
    [shipped] = [a for a in shipped_automations() if a.name == ZOMBIE_AUTOMATION]
    trigger = shipped.trigger.model_copy(
        update={
            "within": timedelta(seconds=WITHIN_SECONDS),
            "after": shipped.trigger.after - {"prefect.flow-run.Pending"},
            "match_related": [
                shipped.trigger.match_related,
                # By id: a heartbeat names its deployment only by id.
                {
                    "prefect.resource.role": "deployment",
                    "prefect.resource.id": f"prefect.deployment.{deployment_id}",
                },
            ],
        }
    )
    fast = shipped.model_copy(update={"name": f"{shipped.name} (test)", "trigger": trigger})
    assert install_automations([fast]) == {fast.name: "created"}


def _run(deployment_id: UUID) -> UUID:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.create_flow_run_from_deployment(deployment_id).id


@pytest.fixture(scope="module")
def zombie_env(prefect_server, tmp_path_factory) -> dict[str, str]:
    home = make_home(tmp_path_factory.mktemp("zombies") / "home", champion=True)
    return {**prefect_server.env, "CC_HOME": str(home), "PREFECT_WORKER_QUERY_SECONDS": "1"}


@pytest.fixture(scope="module")
def deployment_id(zombie_env) -> UUID:
    return _deploy_weekly(Path(zombie_env["CC_HOME"]))


def _in_its_cycle(home: Path, run_id: UUID) -> bool:
    """Whether the run holds the registry's slot: its ``started`` row is in the ledger."""
    return str(run_id) in {start.run_id for start in ledger(home, started=True)}


def _has_beaten(run_id: UUID) -> bool:
    """Whether a heartbeat of the run is on the server's event feed."""
    from prefect.client.orchestration import get_client

    query = {
        "filter": {
            "event": {"name": ["prefect.flow-run.heartbeat"]},
            "resource": {"id": [f"prefect.flow-run.{run_id}"]},
        },
        "limit": 1,
    }
    with get_client(sync_client=True) as client:
        return bool(client.request("POST", "/events/filter", json=query).json()["events"])


def _recorded(home: Path, run_id: UUID) -> Any:
    [entry] = [e for e in ledger(home) if e.run_id == str(run_id)]
    assert entry.outcome is Outcome.FAILED
    return entry


def test_a_cancelled_run_and_a_crashed_one_are_recorded_by_the_workers_hook(
    zombie_env, deployment_id, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    home = Path(zombie_env["CC_HOME"])
    with (
        hung_week(home, HUNG_WEEK),
        process_worker(POOL, env=zombie_env, log=tmp_path / "w.log") as worker,
    ):
        cancelled = _run(deployment_id)
        _wait_for("the run to start its cycle", lambda: _in_its_cycle(home, cancelled))
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(cancelled, Cancelling(message="wrong data this week"))
        _wait_for("the cancellation", lambda: read_flow_run(cancelled).state_name == "Cancelled")

        crashed = _run(deployment_id)
        _wait_for("the run to start its cycle", lambda: _in_its_cycle(home, crashed))
        for pid in _wait_for("the flow-run process", lambda: _descendants(worker.pid)):
            os.kill(pid, signal.SIGKILL)
        _wait_for("the crash report", lambda: read_flow_run(crashed).state_name == "Crashed")
        # The hook runs after the state is reported: wait for its ledger entry.
        _wait_for(
            "the hooks", lambda: {str(cancelled), str(crashed)} <= {e.run_id for e in ledger(home)}
        )

    assert "The run ended Cancelled: wrong data this week" in _recorded(home, cancelled).reason
    assert "The run ended Crashed" in _recorded(home, crashed).reason


def test_a_killed_run_is_marked_crashed_frees_its_slot_and_is_recorded(
    zombie_env, deployment_id, tmp_path
):
    home = Path(zombie_env["CC_HOME"])
    _install_zombie_automation_for_this_deployment(deployment_id)
    log = tmp_path / "worker.log"

    with hung_week(home, HUNG_WEEK):
        with process_worker(POOL, env=zombie_env, log=log) as worker:
            zombie = _run(deployment_id)
            _wait_for("the run to start its cycle", lambda: _in_its_cycle(home, zombie))
            _wait_for("the run's first heartbeat", lambda: _has_beaten(zombie))
            flow_processes = _wait_for("the flow-run process", lambda: _descendants(worker.pid))
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            for pid in flow_processes:
                os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
        assert read_flow_run(zombie).state_name == "Running", "nobody is left to report it"

        crashed = _wait_for(
            "the automation to mark the run Crashed",
            lambda: (run := read_flow_run(zombie)).state_name == "Crashed" and run,
        )
    assert "no heartbeat" in crashed.state.message
    assert time.monotonic() - killed_at < DEADLINE_SECONDS

    # The slot is free: the next cycle runs now, and records the dead run with its id.
    with process_worker(POOL, env=zombie_env, log=log):
        following = _run(deployment_id)
        finished = _wait_for(
            "the next cycle to finish",
            lambda: (run := read_flow_run(following)).state.is_final() and run,
        )
    assert finished.state.is_completed(), finished.state.message
    assert (
        "The run ended Crashed: Marked Crashed by the automation" in _recorded(home, zombie).reason
    )
    assert ledger(home)[-1].run_id == str(following)
    assert [e.run_id for e in ledger(home)].count(str(zombie)) == 1
