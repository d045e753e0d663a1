"""The automations shipped under deployments/automations/, read as Prefect reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deployments.prefect_automations import AUTOMATIONS_DIR, ZOMBIE_AUTOMATION, load_automations
from flows.errors import ConfigError
from flows.orchestration.review import REVIEW_FLOW, REVIEW_STATE_NAMES
from flows.orchestration.run_story import DECISION_EVENT_PREFIX, OUTCOME_STATE_NAMES


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

    def test_it_is_armed_by_a_start_or_a_heartbeat_and_marks_the_run_crashed(self):
        zombie = _zombie()
        assert zombie.trigger.posture == "Proactive"
        assert zombie.trigger.after == {"prefect.flow-run.Running", "prefect.flow-run.heartbeat"}
        assert zombie.trigger.for_each == {"prefect.resource.id"}
        assert zombie.trigger.within >= timedelta(seconds=3 * 180), "three missed heartbeats"
        [action] = zombie.actions
        assert (action.type, action.state) == ("change-flow-run-state", "CRASHED")


def test_the_optional_notification_fires_on_a_promotion_or_a_failed_cycle():
    [notify] = load_automations(AUTOMATIONS_DIR / "optional")
    assert f"{DECISION_EVENT_PREFIX}promoted" in notify.trigger.expect
    assert {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"} <= notify.trigger.expect
    assert notify.actions[0].type == "send-notification"


def test_an_invalid_automation_file_is_refused_naming_it(tmp_path):
    (tmp_path / "broken.yaml").write_text("automations:\n  - name: x\n    trigger: {type: nope}\n")
    with pytest.raises(ConfigError, match=r"broken.yaml is invalid"):
        load_automations(tmp_path)
