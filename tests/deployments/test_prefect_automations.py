"""The automations shipped under deployments/automations/, read as Prefect reads them."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from deployments.prefect_automations import (
    MISSING_CYCLE_ALERT,
    MISSING_CYCLE_GRACE,
    POOL_ALERT,
    ZOMBIE_AUTOMATION,
    alerts,
    load_automations,
    notification_block_id,
)
from deployments.prefect_deploy import read_project
from deployments.prefect_yaml import read_deployment
from flows.errors import ConfigError
from flows.orchestration.review import REVIEW_FLOW, REVIEW_STATE_NAMES
from flows.orchestration.run_story import DECISION_EVENT_PREFIX, OUTCOME_STATE_NAMES
from tests.conftest import REPO

BLOCK = UUID("12345678-1234-5678-1234-567812345678")


def _zombie():
    [zombie] = [a for a in load_automations() if a.name == ZOMBIE_AUTOMATION]
    return zombie


class TestZombieAutomation:
    def test_every_name_a_finished_run_can_end_with_disarms_it(self):
        expected = _zombie().trigger.expect
        names = [*OUTCOME_STATE_NAMES.values(), *REVIEW_STATE_NAMES, "Completed", "Failed"]
        for name in [*names, "TimedOut"]:
            assert f"prefect.flow-run.{name}" in expected, name
        assert {"prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"} <= expected

    def test_it_watches_the_review_flow_too(self):
        assert REVIEW_FLOW in _zombie().trigger.match_related["prefect.resource.name"]

    def test_it_is_armed_by_pending_running_or_a_heartbeat_and_marks_the_run_crashed(self):
        zombie = _zombie()
        assert zombie.trigger.posture == "Proactive"
        armed_by = {"prefect.flow-run.Pending", "prefect.flow-run.Running"}
        assert zombie.trigger.after == armed_by | {"prefect.flow-run.heartbeat"}
        assert "prefect.flow-run.Running" in zombie.trigger.expect, "a start disarms Pending"
        assert zombie.trigger.for_each == {"prefect.resource.id"}
        [env] = {
            d["work_pool"]["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"]
            for d in read_project(REPO)["deployments"]
        }
        assert zombie.trigger.within == timedelta(seconds=3 * int(env)), "three missed beats"
        [action] = zombie.actions
        assert (action.type, action.state) == ("change-flow-run-state", "CRASHED")


class TestAlerts:
    @pytest.fixture
    def installed(self):
        weekly = read_deployment(REPO / "prefect.yaml").schedule
        return {a.name: a for a in alerts(BLOCK, work_pool="pool-x", weekly=weekly)}

    def test_every_alert_notifies_through_the_named_block(self, installed):
        assert len(installed) == 3
        for alert in installed.values():
            assert [(a.type, a.block_document_id) for a in alert.actions] == [
                ("send-notification", BLOCK)
            ]

    def test_a_weekly_cycle_missing_for_a_week_and_a_grace_is_alerted(self, installed):
        missing = installed[MISSING_CYCLE_ALERT].trigger
        assert missing.posture == "Proactive" and not missing.after
        assert missing.within == timedelta(days=7) + MISSING_CYCLE_GRACE
        for name in [*OUTCOME_STATE_NAMES.values(), "Completed", "Failed", "Crashed"]:
            assert f"prefect.flow-run.{name}" in missing.expect, name

    def test_the_pool_alert_watches_the_deployed_pool_and_serving_has_none(self, installed):
        assert installed[POOL_ALERT].trigger.expect == {"prefect.work-pool.not-ready"}
        assert installed[POOL_ALERT].trigger.match.root["prefect.resource.name"] == "pool-x"
        weekly = read_deployment(REPO / "prefect.yaml").schedule
        served = alerts(BLOCK, work_pool=None, weekly=weekly)
        assert POOL_ALERT not in {a.name for a in served} and len(served) == 2

    def test_a_promotion_or_a_failed_cycle_is_alerted(self, installed):
        [notify] = [
            a
            for a in installed.values()
            if a.trigger.posture == "Reactive"
            and f"{DECISION_EVENT_PREFIX}promoted" in a.trigger.expect
        ]
        assert {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"} <= notify.trigger.expect

    @pytest.mark.parametrize("spec", ["slack-webhook", "/ops", "a/b/c"])
    def test_a_notify_block_that_is_not_type_slash_name_is_refused(self, spec):
        with pytest.raises(ConfigError, match="TYPE/NAME, e.g. slack-webhook/ops"):
            notification_block_id(spec)


def test_an_invalid_automation_file_is_refused_naming_it(tmp_path):
    (tmp_path / "broken.yaml").write_text("automations:\n  - name: x\n    trigger: {type: nope}\n")
    with pytest.raises(ConfigError, match=r"broken.yaml is invalid"):
        load_automations(tmp_path)
