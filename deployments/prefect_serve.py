"""``ccflows serve``: the deployments of ``prefect.yaml`` served from one process.

For a single machine: no work pool and no worker. ``prefect.serve`` registers each
deployment with the same name, module entrypoint, version, schedules, parameters,
tags, description and concurrency limit as ``prefect deploy`` would, and runs their
flow runs as child processes of this one. The deployments' ``job_variables.env``
(the heartbeat frequency among them) is applied to this process, which every run
inherits. It installs the same automations as ``ccflows deploy``, and the runs hold
the same registry slot as anywhere else.

Serving and deploying are two ways to run the same schedules, never both: a name
that a work pool's deployment holds (``ccflows deploy`` made it) is refused, in one
line, rather than served under another name. Taking it over would point the
worker's deployment at this process; serving a copy under another name would run
every weekly cycle twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployments.prefect_deploy import install_project_automations, read_project
from flows.errors import ConfigError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


@dataclass(frozen=True)
class ServePlan:
    """What :func:`serve_project` serves."""

    deployments: tuple[RunnerDeployment, ...]
    """One per ``prefect.yaml`` deployment, built from its flow."""
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


def _concurrency(declared: Any) -> Any:
    """``concurrency_limit:`` of ``prefect.yaml`` as ``to_deployment`` takes it."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig

    if isinstance(declared, dict):
        return ConcurrencyLimitConfig(**declared)
    return declared


def plan_serving(project_dir: Path) -> ServePlan:
    """The deployments to serve and their environment, from ``prefect.yaml``.

    Raises:
        ConfigError: if an entrypoint cannot be loaded, naming it.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.flows import load_flow_from_entrypoint

    from deployments.code_version import deployment_version

    version = deployment_version(project_dir)
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
                concurrency_limit=_concurrency(item.get("concurrency_limit")),
                version=version,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return ServePlan(tuple(deployments), env)


def held_by_work_pools(deployments: tuple[RunnerDeployment, ...]) -> dict[str, str]:
    """``flow/deployment`` → work pool, for the names a work pool's deployment holds."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    held = {}
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                existing = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if existing.work_pool_name:
                held[name] = existing.work_pool_name
    return held


def serve_project(project_dir: Path, *, notify_block: str | None = None) -> None:
    """Serve every deployment of ``prefect.yaml`` until interrupted.

    The schedules stay active when the process stops (``pause_on_shutdown=False``),
    so a restart picks them up again.

    Raises:
        ConfigError: if a work pool's deployment holds one of the names (nothing is
            changed on the server then), or the notification block does not exist.
    """
    from prefect import serve

    from flows.config import load_settings
    from flows.orchestration.registry_slot import ensure_registry_limit

    plan = plan_serving(project_dir)
    held = held_by_work_pools(plan.deployments)
    if held:
        pools = ", ".join(sorted(set(held.values())))
        raise ConfigError(
            f"Deployments {', '.join(held)} belong to work pool {pools} (`ccflows deploy`); "
            "serving them would take them from its worker: run them there, or delete "
            "them first (`prefect deployment delete NAME`) to serve from here instead."
        )
    install_project_automations(project_dir, notify_block=notify_block, work_pool=None)
    ensure_registry_limit(load_settings().model_name)
    os.environ.update(plan.env)
    serve(*plan.deployments, pause_on_shutdown=False)
