"""The local Prefect server that the CLI's flow commands share, started on first use.

Without ``PREFECT_API_URL``, Prefect starts a temporary server inside every process
that runs a flow and stops it at exit: 15-20 s of every ``ccflows run`` here. Instead,
the first flow command starts ``prefect server start`` in the background (127.0.0.1,
a free port, no UI) and later commands reuse it while it answers its health check.
Its files sit beside Prefect's own database in ``PREFECT_HOME``:

- ``ccflows-server.json``: its PID and port;
- ``ccflows-server.log``: its output;
- ``ccflows-server.lock``: held while a command checks, starts or stops it, so two
  commands started at once share one server.

``ccflows server stop`` stops it by its PID. A ``PREFECT_API_URL`` (in the
environment or the Prefect profile) always wins: then nothing is started here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.orchestration.local_server import (
    SERVER_SETTINGS,
    STOP_TIMEOUT_SECONDS,
    api_url,
    free_port,
    is_healthy,
    server_command,
    spawn,
    stop_process,
    wait_until_healthy,
)

STATE_FILE = "ccflows-server.json"
LOG_FILE = "ccflows-server.log"
LOCK_FILE = "ccflows-server.lock"


@dataclass(frozen=True)
class BackgroundServer:
    """A server this CLI started, as its state file records it."""

    pid: int
    """Its process id: what ``ccflows server stop`` signals."""
    port: int
    """Its port on 127.0.0.1."""
    prefect_home: Path
    """The PREFECT_HOME holding its database, state file and log."""

    @property
    def url(self) -> str:
        """Its API address, for ``PREFECT_API_URL``."""
        return api_url(self.port)

    @property
    def log(self) -> Path:
        """Its output."""
        return self.prefect_home / LOG_FILE

    def is_running(self) -> bool:
        """Whether its process is alive and still a Prefect server (not a reused PID)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, but another user's: not ours
            return False
        cmdline = Path(f"/proc/{self.pid}/cmdline")
        if not cmdline.exists():  # no procfs (macOS): the health check decides
            return True
        words = cmdline.read_bytes().split(b"\0")
        return b"prefect" in words and b"server" in words


def current_prefect_home() -> Path:
    """PREFECT_HOME as Prefect resolves it (environment, profile, default)."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home).expanduser()


def configured_api_url() -> str | None:
    """The API address Prefect is configured with, if any (environment or profile)."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def recorded_server(prefect_home: Path) -> BackgroundServer | None:
    """The server the state file names, if its process still runs."""
    try:
        state = json.loads((prefect_home / STATE_FILE).read_text())
        server = BackgroundServer(int(state["pid"]), int(state["port"]), prefect_home)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return server if server.is_running() else None


def ensure_server(
    prefect_home: Path, *, on_start: Callable[[], None] = lambda: None
) -> BackgroundServer:
    """The running background server, started (and waited for) if there is none.

    Args:
        prefect_home: Where its database, state file and log live.
        on_start: Called just before a new server is started (to tell the user why
            this command waits).

    Raises:
        RuntimeError: if a new server does not become healthy, with the end of its log.
    """
    with _locked(prefect_home):
        server = recorded_server(prefect_home)
        if server is not None:
            if not is_healthy(server.url):  # another command started it a moment ago
                wait_until_healthy(server.is_running, server.url, server.log)
            return server
        on_start()
        return _start(prefect_home)


def stop_server(prefect_home: Path) -> BackgroundServer | None:
    """Stop the background server by its PID (SIGTERM, then SIGKILL); the one stopped, if any."""
    with _locked(prefect_home):
        server = recorded_server(prefect_home)
        if server is not None:
            os.kill(server.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            while server.is_running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if server.is_running():
                os.kill(server.pid, signal.SIGKILL)
        (prefect_home / STATE_FILE).unlink(missing_ok=True)
    return server


def _start(prefect_home: Path) -> BackgroundServer:
    """Start a detached server on a free port, record it, and wait until it answers."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), **SERVER_SETTINGS}
    env.pop("PREFECT_API_URL", None)
    log = prefect_home / LOG_FILE
    proc = spawn(server_command(port), env=env, log=log, detached=True)
    server = BackgroundServer(proc.pid, port, prefect_home)
    (prefect_home / STATE_FILE).write_text(json.dumps({"pid": proc.pid, "port": port}))
    try:
        wait_until_healthy(lambda: proc.poll() is None, server.url, log)
    except BaseException:
        stop_process(proc)
        (prefect_home / STATE_FILE).unlink(missing_ok=True)
        raise
    return server


@contextmanager
def _locked(prefect_home: Path) -> Iterator[None]:
    """Hold the server's lock file (an exclusive ``flock``) for the block."""
    import fcntl

    prefect_home.mkdir(parents=True, exist_ok=True)
    with open(prefect_home / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
