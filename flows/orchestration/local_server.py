"""A local Prefect server as a child process: started on a free port, checked, stopped by its PID.

Shared by the CLI's background server and by the test and benchmark harnesses. The
server binds 127.0.0.1 only. Every child gets the default SIGINT back, because
Prefect turns SIGTERM into SIGINT and a child of a non-interactive parent inherits
an ignored one: without it, one SIGTERM would not stop it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

STARTUP_TIMEOUT_SECONDS = 300
"""A fresh server migrates its database first: ~15-20 s on two idle cores, minutes on busy ones."""
STOP_TIMEOUT_SECONDS = 15
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no telemetry calls from an offline machine
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api_url(port: int) -> str:
    """The API address of a local server on ``port``."""
    return f"http://127.0.0.1:{port}/api"


def server_command(port: int) -> list[str]:
    """``prefect server start`` on 127.0.0.1:``port``, without the UI, in this interpreter."""
    return [
        *(sys.executable, "-m", "prefect", "server", "start"),
        *("--host", "127.0.0.1", "--port", str(port), "--no-ui"),
    ]


def restore_sigint() -> None:
    """``preexec_fn`` of every child: default SIGINT, so that one SIGTERM stops it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(
    command: list[str],
    *,
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
    detached: bool = False,
) -> subprocess.Popen:
    """Start ``command`` with its output in ``log`` and the default SIGINT.

    Args:
        detached: In a session of its own, so it outlives this process and the
            terminal's Ctrl-C does not reach it.
    """
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=restore_sigint,
            start_new_session=detached,
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


def is_healthy(url: str, *, timeout: float = 2.0) -> bool:
    """Whether the server at API address ``url`` answers its health check."""
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    return False


def wait_until_healthy(
    alive: Callable[[], bool], url: str, log: Path, *, timeout: float = STARTUP_TIMEOUT_SECONDS
) -> None:
    """Poll ``url`` until the server answers, while ``alive()`` says its process runs.

    Raises:
        RuntimeError: if it is not healthy within ``timeout`` seconds or its process
            ended, with the end of its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if is_healthy(url):
            return
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise RuntimeError(f"The Prefect server did not become healthy; its log ({log}) ends:\n{tail}")
