"""``ccflows serve`` builds the same deployments as ``prefect deploy``, from prefect.yaml."""

from __future__ import annotations

import yaml

from deployments.code_version import deployment_version
from deployments.prefect_serve import plan_serving
from tests.conftest import REPO


def test_served_deployments_are_the_deployed_ones_without_a_pool():
    written = {
        d["name"]: d for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]
    }

    plan = plan_serving(REPO)

    served = {d.name: d for d in plan.deployments}
    assert set(served) == set(written)
    for name, deployment in served.items():
        assert deployment.parameters == (written[name].get("parameters") or {}), name
        assert deployment.work_pool_name is None, "served runs need no pool"
    [weekly] = served["weekly"].schedules
    assert (weekly.schedule.cron, weekly.schedule.timezone) == ("1 1 * * 1", "Asia/Singapore")
    assert served["score"].schedules == []
    for name, deployment in served.items():
        # the module path prefect deploy stores: a served run never looks for a file
        assert deployment.entrypoint == written[name]["entrypoint"], name
        assert deployment.version == deployment_version(REPO)
    assert served["weekly"].concurrency_limit == 1
    assert served["weekly"].concurrency_options.collision_strategy == "ENQUEUE"
    assert served["score"].concurrency_limit is None
    assert plan.env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "flows,ccpolicy"
    assert plan.env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "60"
