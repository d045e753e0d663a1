"""Running a flow inside the CLI: Prefect's settings and server, a quiet terminal, a status line.

The CLI calls the flows in its own process. They report to the Prefect server that
``PREFECT_API_URL`` names or, without one, to the local server the flow commands
share (``flows.cli._server``: started once in the background, then reused). Prefect
prints every log line of the run, and a failure's traceback several times, on
its console handler. While a flow runs here, a filter on that handler turns the
run's progress into one live status line (the stage and its latest message) and
keeps the engine's failure reports off the terminal: the CLI prints the error once,
as one line. The filter sits on the console handler only, so the same records still
reach the server's logs through Prefect's API handler. ``--debug`` leaves Prefect's
console output as it is.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

_PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "flows,ccpolicy",
    # Steps run outside flows too (score, replay); their logs stay local then.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}

_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
"""Where Prefect's engine reports a run's states and failures."""
_STEP_LOGGERS = ("flows", "ccpolicy")
"""Loggers of the step modules, which log inside the task run they belong to."""
_STARTING_SHARED = (
    "Starting a local Prefect server in the background (first use, about 20 s; "
    "the next commands reuse it)…"
)


def forget_empty_prefect_home() -> None:
    """An empty ``PREFECT_HOME`` means unset, as an empty ``CC_HOME`` does.

    Prefect would take it for the current folder and put its database, and the shared
    server's state and lock files, wherever the command happens to run.
    """
    if not os.environ.get("PREFECT_HOME", "unset").strip():
        del os.environ["PREFECT_HOME"]


def prepare_prefect() -> None:
    """Settings Prefect reads at import: no telemetry, our loggers attached."""
    forget_empty_prefect_home()
    for name, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


@contextmanager
def flow_api(console: Console) -> Iterator[str]:
    """Point this command's flows at the configured Prefect API, else at the shared server.

    Yields:
        The API address the flows report to.
    """
    from flows.cli._server import configured_api_url, current_prefect_home, ensure_server

    configured = configured_api_url()
    if configured:
        yield configured
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    started: list[bool] = []
    with console.status("Looking for the local Prefect server…") as status:

        def starting() -> None:
            status.update(_STARTING_SHARED)
            started.append(True)

        server = ensure_server(current_prefect_home(), on_start=starting)
    if started:
        print(
            f"Started a local Prefect server at {server.url} (PID {server.pid}) for this and "
            "later commands; `ccflows server stop` stops it.",
            file=sys.stderr,
        )
    with temporary_settings(updates={PREFECT_API_URL: server.url}):
        yield server.url


class _StatusLine(logging.Filter):
    """A filter for Prefect's console handler: progress to the status line, failures dropped."""

    def __init__(self, status: Status | None, width: int) -> None:
        super().__init__()
        self.status = status
        """Where progress goes; None drops it (after the run: the server's shutdown line)."""
        self.width = width
        self.stage = "starting"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            if self.status is not None:
                self.status.update(self._progress(record))
            return False
        if record.name.startswith(_RUN_LOGGERS) and record.levelno >= logging.ERROR:
            return False  # the engine's failure report: the CLI prints the error once
        record.exc_info = record.exc_text = None  # the API handler has already sent it
        return True

    def _progress(self, record: logging.LogRecord) -> str:
        """``<stage>: <latest message>``, cut to one line of the terminal."""
        message = record.getMessage().splitlines()[0]
        self.stage = _stage_of(record) or self.stage
        text = f"{self.stage}: {message}"
        room = max(self.width - 4, 10)
        return text if len(text) <= room else text[: room - 1] + "…"


def _stage_of(record: logging.LogRecord) -> str | None:
    """The task (else the flow) a record comes from: Prefect's own records name it, and
    a step module's record is logged inside the task run it belongs to."""
    named = getattr(record, "task_name", None) or getattr(record, "flow_name", None)
    if named or not record.name.startswith(_STEP_LOGGERS):
        return named
    from prefect.context import FlowRunContext, TaskRunContext

    task_run = TaskRunContext.get()
    if task_run is not None:
        return task_run.task.name
    flow_run = FlowRunContext.get()
    return flow_run.flow.name if flow_run is not None and flow_run.flow is not None else None


@contextmanager
def flow_terminal(console: Console, *, debug: bool) -> Iterator[None]:
    """While a flow runs in this process, show its stage on one live line, unless ``debug``.

    Call it after importing the flow module (Prefect configures its logging at import).
    Afterwards the console handler stays quiet below WARNING, so the engine's lines at
    exit print nothing either.
    """
    if debug:
        yield
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    with console.status("Starting the flow run…") as status:
        line = _StatusLine(status, console.width)
        for handler in handlers:
            handler.removeFilter(_AFTER_RUNS)
            handler.addFilter(line)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(line)
                handler.addFilter(_AFTER_RUNS)


_AFTER_RUNS = _StatusLine(None, 0)
"""The filter left on Prefect's console handler once a flow has run here."""
