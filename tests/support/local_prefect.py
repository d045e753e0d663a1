"""A local Prefect server and process worker as child processes, stopped by their PIDs.

For tests, CI and measurements: the server binds 127.0.0.1 on a free port with its
own PREFECT_HOME (its SQLite database and log), and every child gets the default
SIGINT back, because Prefect turns SIGTERM into SIGINT and a child of a
non-interactive parent inherits an ignored one: without it, one SIGTERM would not
stop a worker.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_SECONDS = 300
"""A fresh server migrates its database first: ~15-20 s on two idle cores, minutes on busy ones."""
STOP_TIMEOUT_SECONDS = 15
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no telemetry calls from an offline machine
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
}


@dataclass(frozen=True)
class LocalServer:
    """A running local server and the environment that reaches it."""

    api_url: str
    """``http://127.0.0.1:<port>/api``."""
    home: Path
    """Its PREFECT_HOME (database, server log)."""
    log: Path
    """The server's stdout and stderr."""
    env: dict[str, str]
    """The given environment plus the settings a ``prefect`` CLI call or a worker needs."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def restore_sigint() -> None:
    """``preexec_fn`` of every child: default SIGINT, so that one SIGTERM stops it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(command: list[str], *, env: Mapping[str, str], log: Path, cwd: Path | None = None):
    """Start ``command`` with its output in ``log`` and the default SIGINT."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=restore_sigint,
        )


def stop_process(proc: subprocess.Popen, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM ``proc`` by its PID and wait; SIGKILL it if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def _wait_until_healthy(proc: subprocess.Popen, api_url: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise RuntimeError(f"The Prefect server did not become healthy; its log ({log}) ends:\n{tail}")


@contextmanager
def local_server(
    home: Path, *, env: Mapping[str, str], settings: Mapping[str, str] | None = None
) -> Iterator[LocalServer]:
    """Run ``prefect server start`` on 127.0.0.1 with PREFECT_HOME=``home`` until the block ends.

    Args:
        home: Its PREFECT_HOME; created if missing and left in place afterwards.
        env: Environment of the server and base of :attr:`LocalServer.env`.
        settings: More ``PREFECT_*`` settings for the server and its clients.

    Raises:
        RuntimeError: if it is not healthy within :data:`STARTUP_TIMEOUT_SECONDS`,
            with the end of its log.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server_env = {**env, "PREFECT_HOME": str(home), **SERVER_SETTINGS, **(settings or {})}
    server_env.pop("PREFECT_API_URL", None)
    log = home / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    proc = spawn(command, env=server_env, log=log)
    try:
        _wait_until_healthy(proc, api_url, log)
        yield LocalServer(
            api_url=api_url, home=home, log=log, env={**server_env, "PREFECT_API_URL": api_url}
        )
    finally:
        stop_process(proc)


@contextmanager
def process_worker(
    pool: str, *, env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """Run ``prefect worker start --pool POOL`` until the block ends; its output goes to ``log``."""
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool]
    proc = spawn(command, env=env, log=log, cwd=cwd)
    try:
        yield proc
    finally:
        stop_process(proc)


def drain_api_buffers() -> None:
    """Send this process's buffered logs and events before the server goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(RuntimeError):  # raised when no log was ever sent
        APILogWorker.instance().drain()
    EventsWorker.drain_all()
