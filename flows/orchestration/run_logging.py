"""How a run logs: Prefect's logging config, shipped with the package as ``logging.yml``.

Prefect reads its logging config from ``PREFECT_LOGGING_SETTINGS_PATH`` when it is
imported. Every place a run of this package happens points it at :data:`LOGGING_CONFIG`
(unless the user names a file of their own): the CLI before it imports Prefect,
``ccflows serve`` for its runs, and the deployments through their job variables. The
file is Prefect's default plus what a run of this package needs:

- the step modules' loggers (``flows``, ``ccpolicy``) at Prefect's level, sending to
  the run's logs through Prefect's API handler;
- :class:`FinalRunNames` on the engine's logger ``prefect.flow_runs``.

Prefect imports this module while it configures logging, so it imports nothing of Prefect.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

LOGGING_CONFIG = Path(__file__).with_name("logging.yml")
"""The logging config shipped with the package."""
SETTINGS_PATH_VARIABLE = "PREFECT_LOGGING_SETTINGS_PATH"
"""Prefect's setting naming its logging config file."""

final_run_names: dict[str, str] = {}
"""Flow run id → the name the run was given after it started (``name_run`` records it)."""


def logging_settings_path() -> str:
    """The logging config a run gets: the user's ``PREFECT_LOGGING_SETTINGS_PATH``, else ours."""
    return os.environ.get(SETTINGS_PATH_VARIABLE) or str(LOGGING_CONFIG)


def logging_config_step() -> dict[str, str]:
    """``prefect.yaml`` build step: ``{{ logging-config.path }}`` is :func:`logging_settings_path`.

    Resolved where the deployment is made, so it names the installed package's file there.
    """
    return {"path": logging_settings_path()}


class FinalRunNames(logging.Filter):
    """Gives the engine's own log lines the run's final name.

    Prefect's engine builds its run logger once, with the name the run started with;
    the lines it logs after a rename (``Finished in state ...``) would still carry it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        name = final_run_names.get(str(getattr(record, "flow_run_id", "")))
        if name is not None:
            record.flow_run_name = name
        return True
