"""``ccflows serve`` builds the same deployments as ``prefect deploy``, from prefect.yaml."""

from __future__ import annotations

import yaml

from deployments.prefect_serve import plan_serving
from tests.conftest import REPO


def test_served_deployments_keep_the_schedules_parameters_and_one_run_at_a_time():
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
    assert served["weekly"].entrypoint.endswith("champion_challenger")
    assert plan.limit == 1
    assert plan.env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "flows,ccpolicy"
