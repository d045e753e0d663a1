"""What every flow of this package shares: its timeouts, its result, its settings and its name.

Operational rules, the same for every flow:

- Every task has a timeout, and the weekly flow one too. A timeout is final: the
  run ends Failed (``TimedOut``) and frees the registry's slot.
- A flow's result is kept as small JSON (:data:`SMALL_JSON_RESULT`): the UI and
  ``run_deployment(...).state.result()`` read it back, wherever they run, as long
  as they reach the flow run's result storage (by default ``$PREFECT_HOME/storage``
  on the machine that ran it; see ``docs/production.md``).
- A run resolves its settings as the CLI does (:func:`run_settings`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from prefect.runtime import flow_run
from prefect.settings import get_current_settings

from flows.config import Settings, load_settings
from flows.names import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    from flows.data.periods import WindowSpec

IO_TIMEOUT_SECONDS = 600
"""Timeout of a read or a ledger write."""
STEP_TIMEOUT_SECONDS = 3600
"""Timeout of a training, evaluation or scoring step."""
CYCLE_TIMEOUT_SECONDS = 3 * STEP_TIMEOUT_SECONDS
"""Timeout of a whole weekly cycle; it frees the registry's slot."""
SMALL_JSON_RESULT: dict[str, Any] = {"persist_result": True, "result_serializer": "json"}
"""A flow's result kept as small JSON, so the server's readers (the UI, ``run_deployment``) get it."""


def run_settings(
    backend: str | None,
    model_name: str | None,
    home: str | None,
    config: str | None,
    windows: WindowSpec | None = None,
) -> Settings:
    """The run's settings, resolved as the CLI and the end hooks resolve them."""
    return load_settings(
        home=home, backend=backend, model_name=model_name, config=config, windows=windows
    )


def current_run_id() -> str | None:
    """The id of the flow run in progress, recorded with its ledger entries."""
    return flow_run.get_id()


def provisional_name(kind: str) -> str:
    """The name a run starts with, from its parameters: ``<model>-<kind>``."""
    model = flow_run.parameters.get("model_name") or DEFAULT_MODEL_NAME
    return f"{str(model).lower()}-{kind}"


def attach_step_loggers() -> None:
    """Let the step modules' INFO lines reach the run's logs.

    ``PREFECT_LOGGING_EXTRA_LOGGERS`` (``flows,ccpolicy`` in the deployments) gives those
    loggers Prefect's API handler but leaves their level unset, so the root logger's
    WARNING level would still drop their INFO lines.
    """
    current = get_current_settings().logging
    for name in current.extra_loggers or []:
        step_logger = logging.getLogger(name)
        if step_logger.level == logging.NOTSET:
            step_logger.setLevel(current.level)
