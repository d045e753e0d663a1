"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.cli._flow_runs import prepare_prefect
from tests.support.local_prefect import LocalServer, drain_api_buffers, local_server

REPO = Path(__file__).resolve().parent.parent

prepare_prefect()  # before Prefect is imported: the flows run here as in the CLI's process


def _pip_install_into(project: Path, target: Path) -> Path:
    """Really pip-install ``project`` into ``target`` (not into the venv) and return ``target``.

    The project is copied first so the build's egg-info and build/ folders never land
    in the working tree; no index and no build isolation keep it offline.
    """
    source = target.with_name(f"{target.name}-src")
    shutil.copytree(project, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
        "--no-build-isolation", "--disable-pip-version-check", "--target", str(target), str(source),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"pip install of {project.name} failed:\n{result.stdout}\n{result.stderr}")
    return target


@pytest.fixture(scope="session")
def example_plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed example policy plugin (``minimum_lift``).

    Put it on ``sys.path`` (``monkeypatch.syspath_prepend``) or ``PYTHONPATH`` to make
    the policy discoverable through its real entry point.
    """
    project = REPO / "examples" / "ccpolicy-plugin-example"
    return _pip_install_into(project, tmp_path_factory.mktemp("example-plugin") / "site")


@pytest.fixture(scope="session")
def broken_plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding an installed plugin whose policy entry points are broken on purpose."""
    project = REPO / "tests" / "resources" / "ccpolicy-broken-plugin"
    return _pip_install_into(project, tmp_path_factory.mktemp("broken-plugin") / "site")


@pytest.fixture
def with_broken(broken_plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The broken plugin's entry points discoverable for this test (on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(broken_plugin_path))
    return broken_plugin_path


@pytest.fixture(scope="session")
def parity_plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed plugin whose policies decide as a test says."""
    project = REPO / "tests" / "resources" / "ccpolicy-parity-plugin"
    return _pip_install_into(project, tmp_path_factory.mktemp("parity-plugin") / "site")


@pytest.fixture
def with_parity_plugin(parity_plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The parity plugin's entry points discoverable for this test (on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(parity_plugin_path))
    return parity_plugin_path


@pytest.fixture(scope="session", autouse=True)
def no_shared_server_left_behind() -> Iterator[None]:
    """Stop the background server CLI flow commands share, if a test started one here.

    Commands run without ``PREFECT_API_URL`` start it under the session's PREFECT_HOME
    and leave it running for the next command; the session stops it, by its recorded PID.
    """
    from flows.cli._server import current_prefect_home, recorded_server, stop_server

    home = current_prefect_home()
    before = recorded_server(home) if home.is_dir() else None
    yield
    if before is None and home.is_dir() and recorded_server(home) is not None:
        stop_server(home)  # one a test started: a server that was running before stays


@pytest.fixture
def screen() -> Iterator[io.StringIO]:
    """What the CLI prints to its console in this process, wide enough that nothing wraps."""
    from rich.console import Console

    from flows.cli._console import set_console

    buffer = io.StringIO()
    set_console(Console(file=buffer, width=200, color_system=None, force_terminal=False))
    yield buffer
    set_console(None)


# -- a real Prefect server, one per test session ----------------------------------------


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A real Prefect server on 127.0.0.1 and a free port, with a throwaway PREFECT_HOME.

    Tests in this process talk to it through Prefect's settings; subprocesses (the
    ``prefect`` CLI, workers) get ``.env``. It is stopped by its PID at the end of the
    session; its home, with the server log, stays under pytest's temporary folder.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    home = tmp_path_factory.mktemp("prefect-home")
    settings = {
        # A weekly run that finds the cycle busy retries after this long (default 30 s).
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
        # The scheduler creates a new deployment's upcoming runs this soon (default 60 s).
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    }
    with (
        local_server(home, env=os.environ, settings=settings) as server,
        temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_HOME: str(home)}),
    ):
        yield server
        drain_api_buffers()
