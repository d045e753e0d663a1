"""The production path against the session's real Prefect server.

``ccflows deploy`` creates the work pool and deploys ``prefect.yaml``; one process
worker, whose environment points CC_HOME at a prepared home, runs every deployment
run of the session. Helpers read what each run did back from the server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest

from tests.conftest import REPO
from tests.support.local_prefect import LocalServer, process_worker

if TYPE_CHECKING:
    from collections.abc import Iterator

POOL = "champion-challenger"
WEEKLY = "champion-challenger/weekly"
BOOTSTRAP = "train-champion/bootstrap"
WATCH_TIMEOUT_SECONDS = 300
EVENT_WAIT_SECONDS = 60
SMALL_MODELS = """
[champion]
params = { n_estimators = 20, max_depth = 8, random_state = 42 }

[challenger]
params = { n_estimators = 25, max_depth = 8, random_state = 7 }
"""
"""Smaller forests than the quickstart's keep each run's training to a second or so."""

pytestmark = pytest.mark.prefect_server


def make_home(path: Path, *, champion: bool) -> Path:
    """A home with the quickstart's 20 weeks of data and, if asked, a live champion."""
    from flows.backends import open_backend
    from flows.config import load_settings
    from flows.cycle import steps
    from flows.data.quickstart import GeneratorSpec

    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text(SMALL_MODELS)
    settings = load_settings(home=path)
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec(), n_periods=20)
        if champion:
            steps.train_champion(backend, settings)
    return path


def live_version(home: Path) -> str | None:
    """LIVE_VERSION of the default model in ``home``."""
    from flows.backends import open_backend
    from flows.config import load_settings

    with open_backend(load_settings(home=home)) as backend:
        return backend.registry.live_version()


def ledger(home: Path, *, started: bool = False) -> list[Any]:
    """Every ledger entry of the default model in ``home`` (or its runs' started rows)."""
    from flows.backends import open_backend
    from flows.config import load_settings

    with open_backend(load_settings(home=home)) as backend:
        return backend.registry.ledger(started=started)


@dataclass(frozen=True)
class CliRun:
    """A ``prefect deployment run`` and what it printed."""

    returncode: int
    flow_run_id: UUID
    output: str


def prefect_cli(server: LocalServer, *args: str, timeout: float = 120) -> str:
    """Run ``prefect <args>`` against the server; fail the test on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env=server.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def run_deployment_cli(server: LocalServer, name: str, **params: Any) -> CliRun:
    """``prefect deployment run NAME --param k=v … --watch``, as an operator types it."""
    command = [sys.executable, "-m", "prefect", "deployment", "run", name, "--watch"]
    command += ["--watch-timeout", str(WATCH_TIMEOUT_SECONDS)]
    for key, value in params.items():
        command += ["--param", f"{key}={json.dumps(value)}"]
    result = subprocess.run(
        command,
        env=server.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WATCH_TIMEOUT_SECONDS + 60,
        check=False,
    )
    output = result.stdout + result.stderr
    found = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert found, f"no flow run was created:\n{output}"
    return CliRun(result.returncode, UUID(found.group(1)), output)


# -- reading runs back from the server ------------------------------------------------------


def read_flow_run(flow_run_id: UUID) -> Any:
    """The flow run as the server holds it."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def task_runs(flow_run_id: UUID) -> dict[str, Any]:
    """Task name (without Prefect's per-run suffix) → its task run in this flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {run.name.rsplit("-", 1)[0]: run for run in runs}


def artifacts(flow_run_id: UUID) -> dict[str, Any]:
    """Artifact key → artifact, for the artifacts a flow run created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.key: artifact for artifact in found}


def events_of(flow_run_id: UUID, *, prefix: str) -> list[dict[str, Any]]:
    """The events named ``<prefix>…`` related to a flow run, read back from the server's feed.

    Waits up to :data:`EVENT_WAIT_SECONDS` for the first one: events reach the feed
    asynchronously.
    """
    import time

    from prefect.client.orchestration import get_client

    query = {
        "filter": {
            "event": {"prefix": [prefix]},
            "related": {"resources_in_roles": [[f"prefect.flow-run.{flow_run_id}", "flow-run"]]},
        },
        "limit": 10,
    }
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    with get_client(sync_client=True) as client:
        while not (found := client.request("POST", "/events/filter", json=query).json()["events"]):
            assert time.monotonic() < deadline, f"no {prefix}* event on the server's feed"
            time.sleep(1)
    return found


def run_logs(flow_run_id: UUID) -> list[str]:
    """Every log line of a flow run and its tasks, as the UI shows them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return [f"{log.name}: {log.message}" for log in logs]


# -- the deployed project and its worker --------------------------------------------------------


def ccflows_cli(server: LocalServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``ccflows <args>`` in the project folder against the server, as an operator runs it."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("ccflows")), *args],
        env=server.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def deployed(prefect_server: LocalServer) -> dict[str, Any]:
    """``ccflows deploy --json`` from the project folder: the pool and the deployments."""
    result = ccflows_cli(prefect_server, "deploy", "--json")
    assert result.returncode == 0, f"ccflows deploy:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worker's CC_HOME: data only; the ``bootstrap`` deployment trains the champion."""
    return make_home(tmp_path_factory.mktemp("worker-home"), champion=False)


@pytest.fixture(scope="session")
def worker(
    prefect_server: LocalServer, deployed: dict[str, Any], worker_home: Path
) -> Iterator[Path]:
    """One process worker on the pool, CC_HOME in its environment; yields its log file."""
    log = prefect_server.home / "worker.log"
    env = {**prefect_server.env, "CC_HOME": str(worker_home), "PREFECT_WORKER_QUERY_SECONDS": "1"}
    env.pop("PREFECT_LOGGING_SETTINGS_PATH", None)  # the deployments' job variables bring it
    with process_worker(POOL, env=env, log=log, cwd=worker_home):
        yield log


@pytest.fixture(scope="session")
def bootstrapped(prefect_server: LocalServer, worker: Path, worker_home: Path) -> CliRun:
    """The documented first step: the ``bootstrap`` deployment makes the first champion live."""
    run = run_deployment_cli(prefect_server, BOOTSTRAP)
    assert run.returncode == 0, f"{run.output}\nworker log: {worker}"
    assert live_version(worker_home) is not None
    return run
