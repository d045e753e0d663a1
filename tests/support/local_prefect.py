"""A local Prefect server and process worker as child processes, stopped by their PIDs.

For tests, CI and measurements: the server binds 127.0.0.1 on a free port with its
own PREFECT_HOME (its SQLite database and log), and every child gets the default
SIGINT back, because Prefect turns SIGTERM into SIGINT and a child of a
non-interactive parent inherits an ignored one: without it, one SIGTERM would not
stop a worker.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.orchestration.local_server import (
    SERVER_SETTINGS,
    api_url,
    free_port,
    server_command,
    spawn,
    stop_process,
    wait_until_healthy,
)


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
        RuntimeError: if it is not healthy within
            :data:`~flows.orchestration.local_server.STARTUP_TIMEOUT_SECONDS`, with the
            end of its log.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = api_url(port)
    server_env = {**env, "PREFECT_HOME": str(home), **SERVER_SETTINGS, **(settings or {})}
    server_env.pop("PREFECT_API_URL", None)
    log = home / "server.log"
    proc = spawn(server_command(port), env=server_env, log=log)
    try:
        wait_until_healthy(lambda: proc.poll() is None, url, log)
        yield LocalServer(
            api_url=url, home=home, log=log, env={**server_env, "PREFECT_API_URL": url}
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
