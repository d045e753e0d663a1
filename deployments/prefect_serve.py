"""``ccflows serve``: the deployments of ``prefect.yaml`` served from one process.

For a single machine: no work pool and no worker. ``prefect.serve`` registers each
deployment with the same name, schedules, parameters, tags and description as
``prefect deploy`` would, and runs their flow runs as child processes of this one.
The serving process has no work queues, so the ``registry`` queue's limit becomes
the process's limit: with a limit of 1, runs (scoring included) queue behind each
other. The deployments' ``job_variables.env`` is applied to this process, which every
run inherits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployments.prefect_deploy import read_project, read_work_queue_limits
from flows.errors import ConfigError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


@dataclass(frozen=True)
class ServePlan:
    """What :func:`serve_project` serves."""

    deployments: tuple[RunnerDeployment, ...]
    """One per ``prefect.yaml`` deployment, built from its flow."""
    limit: int | None
    """Runs at once in this process: the smallest work-queue limit, if any."""
    env: dict[str, str]
    """Environment the runs get on top of this process's."""


def _schedules(item: dict[str, Any]) -> list[Any]:
    from prefect.schedules import Cron, Interval, RRule

    schedules = []
    for schedule in item.get("schedules") or []:
        options = {"timezone": schedule.get("timezone"), "active": schedule.get("active", True)}
        if "cron" in schedule:
            schedules.append(Cron(schedule["cron"], **options))
        elif "interval" in schedule:
            schedules.append(Interval(schedule["interval"], **options))
        elif "rrule" in schedule:
            schedules.append(RRule(schedule["rrule"], **options))
    return schedules


def plan_serving(project_dir: Path) -> ServePlan:
    """The deployments to serve, their shared limit and environment, from ``prefect.yaml``.

    Raises:
        ConfigError: if an entrypoint cannot be loaded, naming it.
    """
    from prefect.flows import load_flow_from_entrypoint

    deployments = []
    env: dict[str, str] = {}
    for item in read_project(project_dir).get("deployments") or []:
        try:
            flow = load_flow_from_entrypoint(item["entrypoint"])
        except Exception as exc:
            raise ConfigError(
                f"Deployment {item.get('name')!r}: cannot load {item.get('entrypoint')!r}: {exc}"
            ) from exc
        pool = item.get("work_pool") or {}
        env.update((pool.get("job_variables") or {}).get("env") or {})
        deployments.append(
            flow.to_deployment(
                name=item["name"],
                description=item.get("description"),
                tags=item.get("tags"),
                parameters=item.get("parameters") or {},
                schedules=_schedules(item),
            )
        )
    limits = read_work_queue_limits(project_dir).values()
    return ServePlan(tuple(deployments), min(limits) if limits else None, env)


def serve_project(project_dir: Path) -> None:
    """Serve every deployment of ``prefect.yaml`` until interrupted.

    The schedules stay active when the process stops (``pause_on_shutdown=False``),
    so a restart picks them up again.
    """
    from prefect import serve

    plan = plan_serving(project_dir)
    os.environ.update(plan.env)
    serve(*plan.deployments, limit=plan.limit, pause_on_shutdown=False)
