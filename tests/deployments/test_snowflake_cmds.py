"""``ccflows snowflake``: emit is fast and exact, account commands fail cleanly without one."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console

from flows.cli import main
from flows.cli._console import set_console
from tests.deployments.conftest import GOLDEN, REPO

HEAVY = ("prefect", "sklearn", "pandas", "snowflake.core", "snowflake.snowpark", "snowflake.ml")


def _argv(command: str, home, *extra: str) -> list[str]:
    return [
        "snowflake",
        command,
        "--prefect-yaml",
        str(REPO / "prefect.yaml"),
        "--home",
        str(home),
        *extra,
    ]


@pytest.fixture
def screen():
    buffer = io.StringIO()
    set_console(Console(file=buffer, width=200, color_system=None, force_terminal=False))
    yield buffer
    set_console(None)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for name in ("CC_HOME", "CC_CONFIG", "CC_BACKEND", "CC_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_emit_prints_the_golden_script_without_importing_heavy_libraries(tmp_path):
    code = (
        "import sys; from flows.cli import main;"
        f"code = main(['snowflake', 'emit', '--warehouse', 'COMPUTE_WH', '--home', {str(tmp_path)!r}]);"
        f"sys.stderr.write(','.join(m for m in {HEAVY!r} if m in sys.modules)); sys.exit(code)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == GOLDEN.read_text()
    assert result.stderr == ""


def test_emit_writes_the_script_and_the_archive_it_uploads(tmp_path, screen):
    out, dist = tmp_path / "graph.sql", tmp_path / "dist"
    assert (
        main(_argv("emit", tmp_path, "--out", str(out), "--archive", str(dist), "--retries", "1"))
        == 0
    )
    (archive,) = dist.glob("champion_challenger-*.zip")
    script = out.read_text()
    assert f"PUT 'file://{archive.as_posix()}'" in script
    assert "TASK_AUTO_RETRY_ATTEMPTS = 1" in script
    assert (
        "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'" in script
    )  # no warehouse: serverless
    shown = screen.getvalue()
    assert (
        f"Wrote {out}" in shown
        and "schedule: 1 1 * * 1 Asia/Singapore; serverless (XSMALL)" in shown
    )


@pytest.mark.parametrize("command", ["deploy", "run", "status"])
def test_account_commands_without_a_connection_fail_with_one_line(command, tmp_path, capsys):
    assert main(_argv(command, tmp_path, "--connection", "cc-none")) == 2
    err = capsys.readouterr().err
    assert "Cannot open a Snowflake session (connection 'cc-none'" in err
    assert "Traceback" not in err


def test_bad_graph_options_are_user_errors(tmp_path, capsys):
    assert main(_argv("emit", tmp_path, "--retries", "-1")) == 2
    assert "retry attempts must be a whole number ≥ 0" in capsys.readouterr().err
    assert main(_argv("emit", tmp_path, "--package", "pandas>=2")) == 2
    assert "must be pinned as name==version" in capsys.readouterr().err


def test_a_local_rehearsal_runs_the_graph_on_the_embedded_backend(copy_home, screen):
    home = copy_home("rehearsal")
    assert main(_argv("run", home, "--local")) == 0
    shown = screen.getvalue()
    for step in ("WEEKLY_RETRAINING", "AUTO_DEPLOY_BEST_MODEL", "RECORD_OUTCOME"):
        assert f"CHAMPION_CHALLENGER_DAG${step}" in shown
    assert shown.count("SUCCEEDED") == 3


def test_the_group_alone_shows_its_commands(capsys):
    assert main(["snowflake"]) == 2
    out = capsys.readouterr().out
    assert all(command in out for command in ("emit", "deploy", "run", "status"))
