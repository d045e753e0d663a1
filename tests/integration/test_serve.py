"""``ccflows serve`` beside ``ccflows deploy`` on the session's real server.

Served alone, its deployments are the deployed ones without a pool: module
entrypoints, the code's version, the same limits and automations, and a served
weekly run is recorded once in its ledger. After ``ccflows deploy``, it refuses the
names the work pool's deployments hold, in one line and changing nothing, and the
worker's weekly run still completes and is recorded once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.code_version import deployment_version
from deployments.prefect_automations import ZOMBIE_AUTOMATION
from flows.orchestration.local_server import spawn, stop_process
from tests.conftest import REPO
from tests.integration.conftest import (
    WEEKLY,
    ccflows_cli,
    ledger,
    make_home,
    run_deployment_cli,
)

pytestmark = pytest.mark.prefect_server

CCFLOWS = str(Path(sys.executable).with_name("ccflows"))
SERVED_PREFIX = "served-"
"""Names no work pool holds, as on a server where nothing was deployed."""


def _deployment(name: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None


def _one_run(home: Path, run_id: Any) -> tuple[list[Any], list[Any]]:
    """The run's ``started`` rows and its ends in ``home``'s ledger."""
    run_id = str(run_id)
    return (
        [s for s in ledger(home, started=True) if s.run_id == run_id],
        [e for e in ledger(home) if e.run_id == run_id],
    )


@pytest.fixture
def fresh_project(tmp_path) -> Path:
    """This project's prefect.yaml, its deployments renamed ``served-…``."""
    project = yaml.safe_load((REPO / "prefect.yaml").read_text())
    for deployment in project["deployments"]:
        deployment["name"] = SERVED_PREFIX + deployment["name"]
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "prefect.yaml").write_text(yaml.safe_dump(project))
    return folder


def test_served_deployments_are_the_deployed_ones_and_a_served_cycle_is_recorded_once(
    prefect_server, fresh_project, tmp_path
):
    from prefect.client.orchestration import get_client

    home = make_home(tmp_path / "home", champion=True)
    env = {**prefect_server.env, "CC_HOME": str(home), "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    served_weekly = f"champion-challenger/{SERVED_PREFIX}weekly"
    command = [CCFLOWS, "serve", "--project-dir", str(fresh_project)]
    serving = spawn(command, env=env, log=tmp_path / "serve.log", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300
        while (deployment := _deployment(served_weekly)) is None:
            assert serving.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "serve registered nothing"
            time.sleep(1)
        assert deployment.entrypoint == "flows.orchestration.pipeline.champion_challenger"
        assert deployment.work_pool_name is None and not deployment.pull_steps
        assert deployment.version == deployment_version(fresh_project)
        assert deployment.global_concurrency_limit.limit == 1
        with get_client(sync_client=True) as client:
            assert client.read_automations_by_name(ZOMBIE_AUTOMATION)
            assert client.read_global_concurrency_limit_by_name("cc-registry-CREDIT_APPROVAL")

        run = run_deployment_cli(prefect_server, served_weekly)
    finally:
        stop_process(serving)
    assert run.returncode == 0, f"{run.output}\n{(tmp_path / 'serve.log').read_text()[-3000:]}"
    starts, ends = _one_run(home, run.flow_run_id)
    assert [s.run_count for s in starts] == [1] and len(ends) == 1
    assert ends[0].deployment_version == deployment.version


def test_serve_after_deploy_refuses_the_pools_names_and_the_worker_run_is_recorded_once(
    prefect_server, bootstrapped, worker_home
):
    before = _deployment(WEEKLY)
    refused = ccflows_cli(prefect_server, "serve")

    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "champion-challenger/weekly" in line and "work pool champion-challenger" in line
    after = _deployment(WEEKLY)
    assert (after.entrypoint, after.pull_steps, after.job_variables, after.updated) == (
        before.entrypoint,
        before.pull_steps,
        before.job_variables,
        before.updated,
    )

    run = run_deployment_cli(prefect_server, WEEKLY)
    assert run.returncode == 0, run.output
    starts, ends = _one_run(worker_home, run.flow_run_id)
    assert len(starts) == 1 and len(ends) == 1
