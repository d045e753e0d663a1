"""A throwaway Prefect server on 127.0.0.1 for the flow measurements, stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STARTUP_TIMEOUT_SECONDS = 180
"""A fresh server migrates its database first: ~15-20 s on two cores, more under load."""
STOP_TIMEOUT_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _restore_sigint() -> None:
    """Default SIGINT in the child, so that SIGTERM (which Prefect turns into SIGINT) stops it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def prefect_server(home: Path, base_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Start ``prefect server start`` with PREFECT_HOME=``home``; yield the clients' environment.

    Raises:
        RuntimeError: if it is not healthy within :data:`STARTUP_TIMEOUT_SECONDS`,
            with the end of its log.
    """
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **base_env,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
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
            preexec_fn=_restore_sigint,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not _healthy(api_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(
                    f"The Prefect server did not become healthy; {log} ends:\n{tail}"
                )
            time.sleep(0.2)
        yield {**env, "PREFECT_API_URL": api_url}
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server by its PID; SIGKILL it if it does not exit in time."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
