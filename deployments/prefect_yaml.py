"""Reading one deployment's schedule and parameters from ``prefect.yaml``, without Prefect.

``prefect.yaml`` is the single source of the weekly schedule and its parameters;
the Snowflake task graph is derived from what this module reads. Only what a
Snowflake root task can express is accepted: one active cron schedule, whose
expression and time zone are validated here because they end up in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_DEPLOYMENT = "weekly"
"""The deployment the Snowflake graph mirrors."""
DEFAULT_TIMEZONE = "UTC"
"""Prefect's time zone for a cron schedule that names none."""

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#-]+$")
_TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")


@dataclass(frozen=True)
class CronSchedule:
    """A five-field cron expression and the IANA time zone it is read in.

    Attribute names match ``snowflake.core.task.Cron`` so either renders the same SQL.
    """

    expr: str
    """Minute, hour, day of month, month, day of week (e.g. ``1 1 * * 1``)."""
    timezone: str = DEFAULT_TIMEZONE
    """IANA time zone (e.g. ``Asia/Singapore``)."""

    def __post_init__(self) -> None:
        fields = str(self.expr).split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ConfigError(
                f"Cron expression {self.expr!r} must have five fields (minute hour day month "
                "weekday) of digits, names and * , / - ? # characters, e.g. '1 1 * * 1'."
            )
        object.__setattr__(self, "expr", " ".join(fields))
        if not _TIMEZONE.match(str(self.timezone)):
            raise ConfigError(
                f"Time zone {self.timezone!r} is not an IANA name like 'Asia/Singapore'."
            )
        try:
            ZoneInfo(self.timezone)
        except ZoneInfoNotFoundError as exc:
            raise ConfigError(
                f"Time zone {self.timezone!r} is unknown; use an IANA name like 'Asia/Singapore'."
            ) from exc


@dataclass(frozen=True)
class DeploymentDefinition:
    """What the Snowflake graph takes from one Prefect deployment."""

    name: str
    """Deployment name (``weekly``)."""
    entrypoint: str
    """The flow it runs (``flows.orchestration.pipeline.champion_challenger``)."""
    schedule: CronSchedule
    """Its one active cron schedule."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """The flow parameters it passes."""


def read_deployment(path: str | Path, name: str = DEFAULT_DEPLOYMENT) -> DeploymentDefinition:
    """Read deployment ``name`` from the ``prefect.yaml`` at ``path``.

    Args:
        path: The project's ``prefect.yaml``.
        name: Which deployment. Defaults to ``weekly``.

    Returns:
        Its entrypoint, schedule and parameters.

    Raises:
        ConfigError: if the file is missing or unreadable, the deployment does not
            exist, or it has no single active cron schedule.

    Example:
        ``read_deployment("prefect.yaml").schedule`` is
        ``CronSchedule(expr='1 1 * * 1', timezone='Asia/Singapore')`` for this project's file.
    """
    import yaml

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {str(path)!r}: {exc.strerror}; pass --prefect-yaml with the project's "
            "prefect.yaml."
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{str(path)!r} is not valid YAML: {exc}.") from exc
    deployments = (document or {}).get("deployments") or []
    matches = [d for d in deployments if isinstance(d, dict) and d.get("name") == name]
    if not matches:
        names = [d.get("name") for d in deployments if isinstance(d, dict)]
        raise ConfigError(f"{str(path)!r} has no deployment named {name!r}; it has {names}.")
    deployment = matches[0]
    parameters = deployment.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ConfigError(f"Deployment {name!r}: parameters must be a mapping; got {parameters!r}.")
    return DeploymentDefinition(
        name=name,
        entrypoint=str(deployment.get("entrypoint", "")),
        schedule=_active_cron(name, deployment.get("schedules") or []),
        parameters=parameters,
    )


def _active_cron(deployment: str, schedules: list[Any]) -> CronSchedule:
    """The one active schedule, which must be a cron schedule (a root task has one SCHEDULE)."""
    active = [s for s in schedules if isinstance(s, dict) and s.get("active", True)]
    if len(active) != 1:
        raise ConfigError(
            f"Deployment {deployment!r} has {len(active)} active schedules; a Snowflake task "
            "graph has exactly one, so give it exactly one active cron schedule."
        )
    schedule = active[0]
    if "cron" not in schedule:
        kinds = sorted(k for k in schedule if k not in ("active", "timezone"))
        raise ConfigError(
            f"Deployment {deployment!r} schedules by {kinds}; only a cron schedule can be "
            "carried over to the Snowflake task graph."
        )
    return CronSchedule(str(schedule["cron"]), str(schedule.get("timezone") or DEFAULT_TIMEZONE))
