"""``ccflows run`` in a real subprocess against the session's Prefect server.

What the terminal shows (one line for an error, each message once) and what the
server keeps (the run's full logs, the traceback included) are both checked, since
the CLI hides the engine's reports from the one without losing them from the other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows.records import Outcome
from tests.integration.conftest import ledger, make_home, run_logs

pytestmark = pytest.mark.prefect_server

CCFLOWS = str(Path(sys.executable).parent / "ccflows")


def ccflows(server: Any, *argv: str) -> subprocess.CompletedProcess[str]:
    """``ccflows argv`` through pipes, its flows reporting to the session's server."""
    env = {**server.env, "COLUMNS": "80"}
    env.pop("CC_DEBUG", None)
    return subprocess.run(
        [CCFLOWS, *argv], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def newest_flow_run_id(home: Path) -> Any:
    """The newest run on ``home`` (other tests of the session leave runs of their own)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=50)
    return next(run.id for run in runs if run.parameters.get("home") == str(home))


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path / "home", champion=True)


def test_an_error_inside_the_flow_is_one_line_here_and_a_traceback_on_the_server(
    prefect_server, home
):
    (home / "config.toml").write_text("[windows]\ntrain_weeks = 30\n")

    result = ccflows(prefect_server, "run", "--home", str(home))

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: The training window needs weeks")
    assert "Traceback" not in result.stderr + result.stdout
    logs = "\n".join(run_logs(newest_flow_run_id(home)))
    assert "Cycle failed before a decision" in logs and "Traceback" in logs
    assert ledger(home)[-1].outcome is Outcome.FAILED


def test_a_run_prints_its_decision_once_and_logs_it_once(prefect_server, home):
    result = ccflows(prefect_server, "run", "--home", str(home), "--policy", "auc_greater")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # progress went to the status line, which a pipe does not get
    entry = ledger(home)[-1]
    assert result.stdout.count(entry.reason) == 1
    assert f"outcome\t{entry.outcome.value}" in result.stdout
    logs = run_logs(newest_flow_run_id(home))
    # Logged once by the decision step; the run's final state carries it as its message.
    finished = [line for line in logs if "Finished in state" in line and entry.reason in line]
    assert len(finished) == 1, logs
    assert sum(entry.reason in line for line in logs if line not in finished) == 1, logs


def test_debug_shows_prefects_own_lines(prefect_server, home):
    (home / "config.toml").write_text("[windows]\ntrain_weeks = 30\n")

    result = ccflows(prefect_server, "run", "--home", str(home), "--debug")

    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "Finished in state Failed" in result.stderr


def test_a_dry_run_changes_nothing_but_its_own_ledger_entry(prefect_server, home):
    from flows.backends import open_backend
    from flows.config import load_settings

    def registry_state() -> tuple[Any, ...]:
        with open_backend(load_settings(home=home)) as backend:
            registry = backend.registry
            return (
                [v.name for v in registry.list_versions()],
                registry.status().to_dict() | {"last_entry": None},
                len(registry.ledger()),
            )

    versions, pointers, entries = registry_state()

    result = ccflows(prefect_server, "run", "--home", str(home), "--dry-run")

    assert result.returncode == 0, result.stderr
    assert registry_state() == (versions, pointers, entries + 1)
    entry = ledger(home)[-1]
    assert entry.outcome is Outcome.DRY_RUN and entry.challenger_version not in versions
    assert entry.metrics["challenger"]["roc_auc"] > 0.5
