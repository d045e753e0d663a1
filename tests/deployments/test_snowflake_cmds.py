"""``ccflows snowflake``: emit is fast and exact, account commands fail cleanly without one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flows.cli import main
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
    assert result.stdout.replace(str(REPO), "/path/to/checkout") == GOLDEN.read_text()
    assert result.stderr == ""


def test_emit_writes_the_script_and_the_archive_it_uploads(tmp_path, screen):
    out, dist = tmp_path / "graph.sql", tmp_path / "dist"
    assert (
        main(_argv("emit", tmp_path, "--out", str(out), "--archive", str(dist), "--retries", "1"))
        == 0
    )
    (archive,) = dist.glob("champion_challenger-*.zip")
    script = out.read_text()
    assert f"PUT 'file://{archive.resolve().as_posix()}'" in script
    assert archive.resolve().as_posix().startswith("/")  # file:///…: absolute
    assert "TASK_AUTO_RETRY_ATTEMPTS = 1" in script
    assert (
        "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'" in script
    )  # no warehouse: serverless
    shown = screen.getvalue()
    assert (
        f"Wrote {out}" in shown
        and "schedule: 1 1 * * 1 Asia/Singapore; serverless (XSMALL)" in shown
    )


@pytest.mark.parametrize("command", ["setup", "deploy", "run", "status"])
def test_account_commands_without_a_connection_fail_with_one_line(command, tmp_path, capsys):
    argv = _argv(command, tmp_path, "--connection", "cc-none")
    if command == "setup":  # no graph options: it sets up the registry's objects only
        argv = ["snowflake", "setup", "--home", str(tmp_path), "--connection", "cc-none"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Cannot open a Snowflake session (connection 'cc-none'" in err
    assert "Traceback" not in err


def test_emit_with_out_builds_the_archive_beside_the_script(tmp_path, screen):
    out = tmp_path / "graph.sql"
    assert main(_argv("emit", tmp_path, "--out", str(out))) == 0
    (archive,) = tmp_path.glob("champion_challenger-*.zip")
    assert f"PUT 'file://{archive.resolve().as_posix()}'" in out.read_text()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--retries", "-1", "--retries must be a whole number between 0 and 30; got -1"),
        ("--retries", "31", "--retries must be a whole number between 0 and 30; got 31"),
        ("--package", "pandas>=2", "--package 'pandas>=2' must be pinned as name==version"),
        ("--package", "pandas==2.2\n", "must be pinned as name==version"),
        ("--name", "DAG\n", "--name must be a plain identifier (a letter or underscore"),
        ("--name", "SELECT", "--name must be a plain identifier (not a Snowflake reserved"),
        ("--name", "DAG$", "--name must be a plain identifier (no $$ and no $ at the end"),
        ("--name", "A" * 240, "--name is too long: the task name"),
        ("--warehouse", "WH$$X", "warehouse must be a plain identifier (no $$"),
    ],
)
def test_bad_graph_options_are_one_line_user_errors(tmp_path, capsys, option, value, message):
    assert main(_argv("emit", tmp_path, option, value)) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err


def test_a_local_rehearsal_runs_the_graph_on_the_embedded_backend(copy_home, screen):
    home = copy_home("rehearsal")
    assert main(_argv("run", home, "--local")) == 0
    shown = screen.getvalue()
    for step in ("WEEKLY_RETRAINING", "AUTO_DEPLOY_BEST_MODEL", "RECORD_OUTCOME"):
        assert f"CHAMPION_CHALLENGER_DAG${step}" in shown
    assert shown.count("SUCCEEDED") == 3


def test_setup_creates_the_registry_objects_and_says_which(tmp_path, monkeypatch, screen):
    """The session is the recording stand-in of tests/snowflake; the command is real."""
    from flows.backends.snowflake import backend as opener
    from flows.backends.snowflake import session as snowflake_session
    from tests.snowflake.conftest import recording_session

    fake = recording_session(monkeypatch)
    monkeypatch.setattr(
        opener,
        "open_session",
        lambda settings, **_: snowflake_session.borrow_session(fake, settings),
    )
    (tmp_path / "config.toml").write_text(
        '[snowflake]\ndatabase = "CC_DB"\nschema = "CC_SCHEMA"\ncompute = "worker"\n'
    )
    argv = ["snowflake", "setup", "--home", str(tmp_path)]
    assert main(argv) == 0
    created = [s for s in fake.sql_log() if s.startswith("CREATE")]
    assert [s.split()[5].split(".")[-1] for s in created] == [
        "PROMOTION_LEDGER",
        "PROMOTION_LOCK",
        "PROMOTION_LEDGER_EVIDENCE",
        "TRAIN_ROW_HASH_PARTS",
        "LIVE_SCORE_LOG",
        "LIVE_OUTCOMES",
        "LIVE_VERSION",
        "CHALLENGER_VERSION",
    ]
    assert "Set up CC_DB.CC_SCHEMA for CREDIT_APPROVAL" in screen.getvalue()
    assert main(argv) == 0  # again: nothing changes, nothing fails


def test_the_group_alone_shows_its_commands(capsys):
    assert main(["snowflake"]) == 2
    out = capsys.readouterr().out
    assert all(command in out for command in ("setup", "emit", "deploy", "run", "status"))
