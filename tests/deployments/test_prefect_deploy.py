"""Reading prefect.yaml for ``ccflows deploy`` and refusing to deploy without a server."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from deployments.prefect_deploy import (
    find_project_dir,
    read_deployments,
    read_project,
    require_api_url,
)
from flows.cli import main
from flows.cli._console import set_console
from flows.errors import ConfigError
from tests.conftest import REPO


class TestReadDeployments:
    def test_the_project_declares_weekly_bootstrap_score_and_rollback_on_one_pool(self):
        specs = {spec.full_name: spec for spec in read_deployments(REPO)}

        assert set(specs) == {
            "champion-challenger/weekly",
            "train-champion/bootstrap",
            "score/score",
            "rollback/rollback",
            "review/review",
        }
        assert {spec.work_pool for spec in specs.values()} == {"champion-challenger"}
        assert specs["champion-challenger/weekly"].schedules == ("1 1 * * 1 (Asia/Singapore)",)
        assert specs["score/score"].schedules == ()
        assert specs["review/review"].schedules == ("0 2 * * * (Asia/Singapore)",)

    def test_a_flow_without_a_name_is_named_like_prefect_names_it(self, tmp_path):
        (tmp_path / "jobs.py").write_text("@flow\ndef nightly_job():\n    pass\n")
        (tmp_path / "prefect.yaml").write_text(
            "deployments:\n  - name: n\n    entrypoint: jobs.py:nightly_job\n"
            "    work_pool: {name: p}\n"
        )
        [spec] = read_deployments(tmp_path)
        assert spec.full_name == "nightly-job/n"

    def test_a_deployment_without_a_work_pool_is_refused_by_name(self, tmp_path):
        (tmp_path / "prefect.yaml").write_text(
            "deployments:\n  - name: orphan\n    entrypoint: jobs.py:f\n"
        )
        with pytest.raises(ConfigError, match="Deployment 'orphan' .* names no work_pool"):
            read_deployments(tmp_path)

    def test_an_entrypoint_naming_a_missing_function_is_refused(self, tmp_path):
        (tmp_path / "jobs.py").write_text("def other():\n    pass\n")
        (tmp_path / "prefect.yaml").write_text(
            "deployments:\n  - name: n\n    entrypoint: jobs.py:absent\n    work_pool: {name: p}\n"
        )
        with pytest.raises(ConfigError, match="defines no function 'absent'"):
            read_deployments(tmp_path)


def test_a_folder_without_prefect_yaml_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="No prefect.yaml in .* pass --project-dir"):
        find_project_dir(tmp_path)


class TestWithoutAServer:
    def test_no_api_url_is_refused_instead_of_deploying_to_a_throwaway_server(self):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings(updates={PREFECT_API_URL: None}),
            pytest.raises(ConfigError, match="No Prefect server configured.*PREFECT_API_URL"),
        ):
            require_api_url()

    def test_ccflows_deploy_says_the_server_does_not_answer_in_one_line(self, capsys):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        set_console(Console(file=io.StringIO(), width=120, color_system=None))
        try:
            with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
                code = main(["deploy", "--project-dir", str(REPO)])
        finally:
            set_console(None)
        assert code == 2
        err = capsys.readouterr().err
        assert "http://127.0.0.1:9/api does not answer" in err
        assert "Traceback" not in err


def test_the_next_steps_after_deploying_install_the_first_champion_before_a_cycle():
    from deployments.cli.deploy_cmds import next_steps

    hint = next_steps(read_deployments(REPO)).splitlines()
    runs = [line.split("'")[1] for line in hint if "prefect deployment run" in line]
    assert runs == ["train-champion/bootstrap", "champion-challenger/weekly"]
    assert "prefect worker start --pool champion-challenger" in hint[1]


class TestModuleEntrypoints:
    def test_the_project_runs_installed_modules_without_pull_steps(self):
        project = read_project(REPO)
        assert project["pull"] == []
        assert all(
            "." in d["entrypoint"] and ":" not in d["entrypoint"] for d in project["deployments"]
        )

    def test_a_module_that_is_not_installed_is_refused_with_the_fix(self, tmp_path):
        (tmp_path / "prefect.yaml").write_text(
            "deployments:\n  - name: n\n    entrypoint: not_installed_pkg.jobs.run\n"
            "    work_pool: {name: p}\n"
        )
        with pytest.raises(ConfigError, match="'not_installed_pkg.jobs' is not importable.*pip"):
            read_deployments(tmp_path)


class TestDeclaredConcurrency:
    def test_every_deployment_that_writes_the_registry_runs_once_at_a_time_plain_deploy_too(
        self,
    ):
        project = {d["name"]: d for d in read_project(REPO)["deployments"]}
        specs = {spec.name: spec for spec in read_deployments(REPO)}

        for name in ("weekly", "bootstrap", "rollback", "review"):
            # declared in prefect.yaml itself, so `prefect deploy --all` keeps it
            assert project[name]["concurrency_limit"] == {
                "limit": 1,
                "collision_strategy": "ENQUEUE",
            }, name
            assert specs[name].concurrency_limit == 1
        assert specs["score"].concurrency_limit is None
        assert "work_queue_limits" not in read_project(REPO).get("definitions", {})

    def test_runs_send_a_heartbeat_a_minute_and_carry_the_code_version(self):
        project = read_project(REPO)
        assert {"deployments.code_version.code_version_step": {"id": "code-version"}} in project[
            "build"
        ]
        for deployment in project["deployments"]:
            env = deployment["work_pool"]["job_variables"]["env"]
            assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "60"
            assert deployment["version"] == "{{ code-version.version }}"
