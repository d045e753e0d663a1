"""The local Prefect server the CLI's flow commands share: started once, reused, stopped by PID.

The slow test runs real ``ccflows`` processes with no ``PREFECT_API_URL`` and a
PREFECT_HOME of its own, so they start their own server (not the session's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli._server import STATE_FILE, BackgroundServer, recorded_server, stop_server
from tests.integration.conftest import make_home

CCFLOWS = str(Path(sys.executable).parent / "ccflows")


@pytest.fixture
def prefect_home(tmp_path):
    """A PREFECT_HOME of this test; whatever server it left is stopped by its PID."""
    home = tmp_path / "prefect-home"
    home.mkdir()
    yield home
    stop_server(home)


def ccflows(
    prefect_home: Path | str, *argv: str, cwd: Path | None = None, user_home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``ccflows argv`` with no Prefect API configured and this test's PREFECT_HOME
    (and, if given, run in ``cwd`` by a user whose HOME is ``user_home``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CC_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if user_home is not None:
        env["HOME"] = str(user_home)
    return subprocess.run(
        [CCFLOWS, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False
    )


class TestTheStateFile:
    def test_a_dead_process_is_no_server(self, prefect_home):
        finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True)  # fmt: skip
        (prefect_home / STATE_FILE).write_text(json.dumps({"pid": int(finished.stdout), "port": 9}))
        assert recorded_server(prefect_home) is None

    def test_a_live_process_that_is_not_a_prefect_server_is_never_signalled(self, prefect_home):
        (prefect_home / STATE_FILE).write_text(json.dumps({"pid": os.getpid(), "port": 9}))
        assert not BackgroundServer(os.getpid(), 9, prefect_home).is_running()
        assert stop_server(prefect_home) is None  # and this test process is still here
        assert not (prefect_home / STATE_FILE).exists()

    def test_an_unreadable_state_file_is_no_server(self, prefect_home):
        (prefect_home / STATE_FILE).write_text("{not json")
        assert recorded_server(prefect_home) is None


@pytest.mark.prefect_server
@pytest.mark.slow
def test_flow_commands_start_one_server_reuse_it_and_stop_it_by_its_pid(prefect_home, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = str(make_home(tmp_path / "home", champion=True))
    assert ccflows(prefect_home, "server", "status").returncode == 1

    first = ccflows(prefect_home, "run", "--dry-run", "--home", home)
    assert first.returncode == 0, first.stderr
    assert "Started a local Prefect server" in first.stderr
    server = recorded_server(prefect_home)
    assert server is not None and server.is_running()
    assert f"PID {server.pid}" in first.stderr

    second = ccflows(prefect_home, "run", "--dry-run", "--home", home)
    assert second.returncode == 0, second.stderr
    assert "Started" not in second.stderr
    assert recorded_server(prefect_home) == server

    status = ccflows(prefect_home, "server", "status", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["pid"] == server.pid
    with (
        temporary_settings(updates={PREFECT_API_URL: server.url}),
        get_client(sync_client=True) as client,
    ):
        names = [run.name for run in client.read_flow_runs()]
    assert names == ["credit_approval-week-19-dry-run"] * 2

    stopped = ccflows(prefect_home, "server", "stop", "--json")
    assert stopped.returncode == 0 and json.loads(stopped.stdout)["pid"] == server.pid
    assert not server.is_running()
    assert not (prefect_home / STATE_FILE).exists()
    assert ccflows(prefect_home, "server", "status").returncode == 1


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_prefect_home_means_prefects_default_not_the_current_folder(tmp_path, empty):
    user_home, work = tmp_path / "user", tmp_path / "work"
    user_home.mkdir()
    work.mkdir()
    stopped = ccflows(empty, "server", "stop", "--json", cwd=work, user_home=user_home)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["prefect_home"] == str(user_home / ".prefect")
    assert list(work.iterdir()) == []  # no lock file, no database in the current folder
