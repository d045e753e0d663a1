"""The documented production path: deploy, a process worker, ``prefect deployment run``."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from prefect.workers.process import ProcessWorker

from flows.orchestration.run_logging import LOGGING_CONFIG
from flows.orchestration.run_story import OUTCOME_STATE_NAMES
from flows.package_identity import package_version
from flows.records import Outcome
from tests.conftest import REPO
from tests.integration.conftest import (
    BOOTSTRAP,
    POOL,
    WATCH_TIMEOUT_SECONDS,
    WEEKLY,
    artifacts,
    ledger,
    live_version,
    prefect_cli,
    read_flow_run,
    run_deployment_cli,
    run_logs,
    task_runs,
)

pytestmark = pytest.mark.prefect_server


def _read_deployment(name: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name)


def read_flow_run_states(flow_run_id: UUID) -> list[str]:
    """The names of the states a flow run went through, oldest first."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [state.name for state in client.read_flow_run_states(flow_run_id)]


def _wait_until_final(flow_run_id: UUID) -> Any:
    deadline = time.monotonic() + WATCH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        flow_run = read_flow_run(flow_run_id)
        if flow_run.state is not None and flow_run.state.is_final():
            return flow_run
        time.sleep(1)
    pytest.fail(f"flow run {flow_run_id} did not finish within {WATCH_TIMEOUT_SECONDS} s")


def _wait_until_running(flow_run_id: UUID) -> None:
    deadline = time.monotonic() + WATCH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        state = read_flow_run(flow_run_id).state
        if state is not None and (state.is_running() or state.is_final()):
            return
        time.sleep(0.2)
    pytest.fail(f"flow run {flow_run_id} did not start within {WATCH_TIMEOUT_SECONDS} s")


class TestDeploy:
    def test_deploy_creates_the_process_pool_the_deployments_and_the_registry_limit(self, deployed):
        from prefect.client.orchestration import get_client

        from deployments.code_version import deployment_version

        assert deployed["created_pools"] == [POOL]
        assert {d["name"] for d in deployed["deployments"]} == {
            WEEKLY,
            BOOTSTRAP,
            "score/score",
            "rollback/rollback",
            "review/review",
        }
        with get_client(sync_client=True) as client:
            pool = client.read_work_pool(POOL)
            registry = client.read_global_concurrency_limit_by_name(deployed["registry_limit"])
        assert pool.type == "process"
        assert pool.base_job_template == ProcessWorker.get_default_base_job_template()
        assert (deployed["registry_limit"], registry.limit) == ("cc-registry-CREDIT_APPROVAL", 1)
        for name in (WEEKLY, BOOTSTRAP, "rollback/rollback", "review/review"):
            deployment = _read_deployment(name)
            assert deployment.global_concurrency_limit.limit == 1, name
            assert deployment.concurrency_options.collision_strategy == "ENQUEUE", name
        assert _read_deployment("score/score").global_concurrency_limit is None
        assert _read_deployment(WEEKLY).version == deployment_version(REPO) == deployed["version"]

    def test_plain_prefect_deploy_keeps_the_concurrency_limit_and_the_version(
        self, prefect_server, deployed
    ):
        from deployments.code_version import deployment_version

        prefect_cli(prefect_server, "--no-prompt", "deploy", "--all")
        weekly = _read_deployment(WEEKLY)
        assert weekly.global_concurrency_limit.limit == 1
        assert weekly.version == deployment_version(REPO)
        assert weekly.job_variables["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "60"

    def test_deploying_again_changes_nothing_and_installs_no_second_automation(self, deployed):
        from prefect.client.orchestration import get_client

        from deployments.prefect_automations import ZOMBIE_AUTOMATION, install_automations
        from deployments.prefect_deploy import ensure_work_pool

        assert deployed["automations"] == {ZOMBIE_AUTOMATION: "created"}
        assert ensure_work_pool(POOL) is False
        assert install_automations() == {ZOMBIE_AUTOMATION: "updated"}
        with get_client(sync_client=True) as client:
            [zombie] = client.read_automations_by_name(ZOMBIE_AUTOMATION)
        assert zombie.enabled and zombie.trigger.within.total_seconds() == 180

    def test_a_pool_made_with_an_empty_job_template_gets_the_default_one(self, prefect_server):
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import WorkPoolCreate

        from deployments.prefect_deploy import ensure_work_pool

        with get_client(sync_client=True) as client:
            client.create_work_pool(WorkPoolCreate(name="bare-pool", type="process"))
            assert client.read_work_pool("bare-pool").base_job_template == {}
            assert ensure_work_pool("bare-pool") is False
            template = client.read_work_pool("bare-pool").base_job_template
        assert template == ProcessWorker.get_default_base_job_template()

    def test_the_weekly_schedule_on_the_server_is_monday_0101_in_singapore(self, deployed):
        deployment = _read_deployment(WEEKLY)
        [schedule] = deployment.schedules
        assert schedule.active
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (
            "1 1 * * 1",
            "Asia/Singapore",
        )

    def test_the_scheduler_plans_weekly_runs_on_mondays_at_0101_singapore_time(self, deployed):
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        weekly = DeploymentFilter(id=DeploymentFilterId(any_=[_read_deployment(WEEKLY).id]))
        deadline = time.monotonic() + 60
        with get_client(sync_client=True) as client:
            while not (
                planned := [
                    flow_run
                    for flow_run in client.read_flow_runs(deployment_filter=weekly)
                    if flow_run.auto_scheduled
                ]
            ):
                assert time.monotonic() < deadline, "the scheduler planned no weekly run"
                time.sleep(1)
        singapore = ZoneInfo("Asia/Singapore")
        for flow_run in planned:
            local = flow_run.expected_start_time.astimezone(singapore)
            assert (local.strftime("%A"), local.hour, local.minute) == ("Monday", 1, 1)

    def test_runs_import_the_installed_package_with_no_folder_and_the_step_loggers(self, deployed):
        for name in (WEEKLY, BOOTSTRAP, "score/score"):
            deployment = _read_deployment(name)
            assert deployment.pull_steps == []
            assert deployment.entrypoint.startswith("flows.orchestration.")
            # the one path recorded: the installed package's logging config
            env = deployment.job_variables["env"]
            assert env.pop("PREFECT_LOGGING_SETTINGS_PATH") == str(LOGGING_CONFIG)
            assert str(REPO) not in json.dumps(deployment.model_dump(mode="json"))

    def test_unscheduled_deployments_have_no_schedule(self, deployed):
        assert _read_deployment(BOOTSTRAP).schedules == []
        assert _read_deployment("score/score").schedules == []


class TestWeeklyRun:
    def test_the_bootstrap_deployment_made_the_first_champion_live(self, bootstrapped, worker_home):
        flow_run = read_flow_run(bootstrapped.flow_run_id)
        assert flow_run.state_name == "Completed"
        assert flow_run.name == "credit_approval-week-19-bootstrap"
        [entry] = ledger(worker_home)
        assert entry.outcome is Outcome.BOOTSTRAPPED
        assert entry.live_after == live_version(worker_home)

    def test_a_weekly_run_completes_and_explains_itself(
        self, prefect_server, bootstrapped, worker_home
    ):
        champion = live_version(worker_home)
        run = run_deployment_cli(prefect_server, WEEKLY)
        assert run.returncode == 0, run.output

        flow_run = read_flow_run(run.flow_run_id)
        assert flow_run.state.is_completed()
        assert flow_run.name == "credit_approval-week-19"
        tasks = task_runs(run.flow_run_id)
        for name in ("check-policy", "plan", "retrain", "evaluate", "decide"):
            assert tasks[name].state_name == "Completed", name

        entry = ledger(worker_home)[-1]
        assert entry.run_id == str(run.flow_run_id)
        # which code decided, and which attempt: on the entry, and in the decision report
        version = _read_deployment(WEEKLY).version
        assert (entry.run_count, entry.deployment_version) == (1, version)
        assert entry.package_version == package_version()
        [start] = [s for s in ledger(worker_home, started=True) if s.run_id == entry.run_id]
        assert (start.run_count, start.deployment_version) == (1, version)
        # the run's result, read back from the server, is the ledger entry
        assert flow_run.state.result() == entry.to_dict()
        assert entry.champion_version == champion
        assert entry.policy == "significance_margin"
        assert entry.outcome in (Outcome.PROMOTED, Outcome.KEPT, Outcome.INCONCLUSIVE)
        assert flow_run.state_name == OUTCOME_STATE_NAMES[entry.outcome]
        assert flow_run.state.message == entry.reason

        found = artifacts(run.flow_run_id)
        assert found.pop(None).data["storage_key"], "the persisted result, without a key"
        assert set(found) == {
            "credit-approval-metrics",
            "credit-approval-decision",
            "credit-approval-versions",
            "credit-approval-trend",
            "credit-approval-trend-table",
        }
        trend = json.loads(found["credit-approval-trend-table"].data)
        assert trend[-1]["entry"] == entry.id and trend[-1]["outcome"] == entry.outcome.value
        rows = {row["metric"]: row for row in json.loads(found["credit-approval-metrics"].data)}
        for role in ("champion", "challenger"):
            assert rows["roc_auc"][role] == round(entry.metrics[role]["roc_auc"], 4)
        report = found["credit-approval-decision"].data
        for fact in (
            entry.reason,
            f"`{entry.verdict}`",
            entry.champion_version,
            entry.challenger_version,
            "Paired DeLong test of no gain",
            entry.holdout_fingerprint[:16],
            f"#{entry.id}",
            f"`{version}`",
            f"`{entry.run_id}`",
        ):
            assert fact in report
        assert entry.challenger_version in found["credit-approval-versions"].data

        logs = run_logs(run.flow_run_id)
        assert any(line.startswith("flows.") for line in logs), "step loggers not attached"
        assert any(entry.reason in line for line in logs)

    def test_an_unknown_policy_parameter_fails_the_run_naming_it(
        self, prefect_server, bootstrapped, worker_home
    ):
        champion = live_version(worker_home)
        run = run_deployment_cli(prefect_server, WEEKLY, policy_params={"margin": 0, "bogus": 1})
        assert run.returncode == 1, run.output

        flow_run = read_flow_run(run.flow_run_id)
        assert flow_run.state_name == "Failed"
        assert "PolicyParameterError" in flow_run.state.message
        assert "'bogus'" in flow_run.state.message
        assert any("'bogus'" in line and "margin" in line for line in run_logs(run.flow_run_id))
        tasks = task_runs(run.flow_run_id)
        assert tasks["check-policy"].state_name == "Failed"
        assert "retrain" not in tasks

        assert live_version(worker_home) == champion
        entry = ledger(worker_home)[-1]
        assert entry.outcome is Outcome.FAILED
        assert "'bogus'" in entry.reason and entry.run_id == str(run.flow_run_id)

    def test_a_rollback_waits_for_a_running_cycle_and_cycles_wait_for_each_other(
        self, bootstrapped, worker_home
    ):
        from prefect.deployments import run_deployment

        first = run_deployment(WEEKLY, timeout=0, as_subflow=False)
        _wait_until_running(first.id)  # the others are submitted while it holds its slots
        started = [first] + [
            run_deployment(name, timeout=0, as_subflow=False)
            for name in ("rollback/rollback", WEEKLY)
        ]
        finished = [_wait_until_final(flow_run.id) for flow_run in started]
        # The second weekly run never reads Late: when the worker finds the first one
        # still holding the deployment's slot, it waits as AwaitingConcurrencySlot (how
        # often it does depends on how fast the first one runs) ...
        waited = read_flow_run_states(started[2].id)
        assert "Late" not in waited
        assert set(waited) <= {"Scheduled", "AwaitingConcurrencySlot", "Pending", "Submitting",
                               "Running", finished[2].state_name}  # fmt: skip
        # ... and no two of them wrote to the registry at once: in the ledger, each
        # run's rows, from its started row to its end, come one run after another.
        rows = sorted(ledger(worker_home) + ledger(worker_home, started=True), key=lambda e: e.id)
        ours = {str(flow_run.id) for flow_run in finished}
        order = [
            run_id for run_id, _ in itertools.groupby(e.run_id for e in rows if e.run_id in ours)
        ]
        assert sorted(order) == sorted(ours), "a run's rows were interleaved with another's"
        for flow_run in finished:
            ends = [e for e in ledger(worker_home) if e.run_id == str(flow_run.id)]
            assert len(ends) == 1, (flow_run.name, ends)
