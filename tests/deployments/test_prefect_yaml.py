"""Reading the weekly deployment's schedule and parameters from prefect.yaml."""

from __future__ import annotations

import pytest
import yaml

from deployments.prefect_yaml import CronSchedule, read_deployment
from flows.errors import ConfigError
from tests.deployments.conftest import PREFECT_YAML


def _write(tmp_path, deployments):
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump({"name": "p", "deployments": deployments}))
    return path


def _weekly(**changes):
    return {
        "name": "weekly",
        "entrypoint": "flows/orchestration/pipeline.py:champion_challenger",
        "parameters": {"policy": "auc_greater"},
        "schedules": [{"cron": "1 1 * * 1", "timezone": "Asia/Singapore", "active": True}],
        **changes,
    }


class TestTheProjectsFile:
    def test_weekly_schedule_and_parameters_are_read_as_written(self):
        written = next(
            d
            for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]
            if d["name"] == "weekly"
        )
        deployment = read_deployment(PREFECT_YAML)
        assert deployment.schedule == CronSchedule("1 1 * * 1", "Asia/Singapore")
        assert deployment.schedule.expr == written["schedules"][0]["cron"]
        assert deployment.schedule.timezone == written["schedules"][0]["timezone"]
        assert deployment.parameters == written["parameters"]
        assert deployment.entrypoint == "flows.orchestration.pipeline.champion_challenger"


class TestWhatAGraphCannotExpress:
    def test_unknown_deployment_lists_the_names(self, tmp_path):
        path = _write(tmp_path, [_weekly(name="nightly")])
        with pytest.raises(
            ConfigError, match=r"no deployment named 'weekly'; it has \['nightly'\]"
        ):
            read_deployment(path)

    def test_two_active_schedules_are_refused(self, tmp_path):
        schedules = [{"cron": "1 1 * * 1"}, {"cron": "1 1 * * 4"}]
        path = _write(tmp_path, [_weekly(schedules=schedules)])
        with pytest.raises(ConfigError, match="has 2 active schedules"):
            read_deployment(path)

    def test_an_inactive_schedule_does_not_count(self, tmp_path):
        schedules = [{"cron": "1 1 * * 1", "active": False}, {"cron": "5 2 * * 3"}]
        deployment = read_deployment(_write(tmp_path, [_weekly(schedules=schedules)]))
        assert deployment.schedule == CronSchedule("5 2 * * 3", "UTC")

    def test_an_interval_schedule_is_refused(self, tmp_path):
        path = _write(tmp_path, [_weekly(schedules=[{"interval": 3600}])])
        with pytest.raises(ConfigError, match=r"schedules by \['interval'\]; only a cron"):
            read_deployment(path)

    def test_a_missing_file_names_the_flag(self, tmp_path):
        with pytest.raises(ConfigError, match="pass --prefect-yaml"):
            read_deployment(tmp_path / "missing.yaml")

    @pytest.mark.parametrize(
        ("expr", "timezone", "message"),
        [
            ("1 1 * *", "UTC", "must have five fields"),
            ("1 1 * * 1'; DROP TASK x; --", "UTC", "must have five fields"),
            ("1 1 * * 1", "Asia/Singapore' x", "is not an IANA name"),
            ("1 1 * * 1", "Mars/Olympus_Mons", "is unknown"),
        ],
    )
    def test_schedule_text_that_would_reach_sql_is_validated(self, expr, timezone, message):
        with pytest.raises(ConfigError, match=message):
            CronSchedule(expr, timezone)
