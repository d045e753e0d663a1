"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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
    """A directory holding an installed plugin whose two policy entry points are broken."""
    project = REPO / "tests" / "resources" / "ccpolicy-broken-plugin"
    return _pip_install_into(project, tmp_path_factory.mktemp("broken-plugin") / "site")


# -- a real Prefect server, one per test session ----------------------------------------

SERVER_STARTUP_TIMEOUT_SECONDS = 120
"""A fresh server migrates its database first: ~15-20 s on two cores, more under load."""


@dataclass(frozen=True)
class PrefectServer:
    """The session's Prefect server and the environment that reaches it."""

    api_url: str
    """``http://127.0.0.1:<port>/api``."""
    home: Path
    """Its throwaway PREFECT_HOME (database, server log); kept after the session."""
    log: Path
    """The server's stdout and stderr."""
    env: dict[str, str]
    """``os.environ`` plus the settings a ``prefect`` CLI call or a worker needs."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def restore_sigint() -> None:
    """Run in a child before exec: default SIGINT, so that one SIGTERM stops a Prefect process.

    Prefect turns SIGTERM into SIGINT; a child of a non-interactive parent inherits an
    ignored SIGINT and would keep running.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_process(proc: subprocess.Popen, *, timeout: float = 15) -> None:
    """SIGTERM ``proc`` (by its PID) and wait; SIGKILL it if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def _wait_until_healthy(proc: subprocess.Popen, api_url: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    stop_process(proc)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    pytest.fail(f"The Prefect server did not become healthy; its log ({log}) ends:\n{tail}")


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real Prefect server on 127.0.0.1 and a free port, with a throwaway PREFECT_HOME.

    Tests in this process talk to it through Prefect's settings; subprocesses (the
    ``prefect`` CLI, workers) get ``.env``. It is stopped by its PID at the end of the
    session; its home, with the server log, stays under pytest's temporary folder.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    home = tmp_path_factory.mktemp("prefect-home")
    log = home / "server.log"
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        # A weekly run that finds the cycle busy retries after this long (default 30 s).
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=restore_sigint,
        )
    try:
        _wait_until_healthy(proc, api_url, log)
        with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_HOME: str(home)}):
            yield PrefectServer(
                api_url=api_url, home=home, log=log, env={**env, "PREFECT_API_URL": api_url}
            )
            _drain_prefect_buffers()
    finally:
        stop_process(proc)


def _drain_prefect_buffers() -> None:
    """Send buffered logs and events before the server goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(RuntimeError):  # raised when no log was ever sent
        APILogWorker.instance().drain()
    EventsWorker.drain_all()
