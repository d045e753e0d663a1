"""Deploying the flows to a Prefect server from ``prefect.yaml``, non-interactively.

``prefect deploy`` refuses a deployment whose work pool does not exist and prompts
when it runs in a terminal, so :func:`deploy_project` first creates every work pool
that ``prefect.yaml`` names (process pools with Prefect's default job template, as
``prefect work-pool create --type process`` makes them) and the model's registry
limit, installs the automations (and the alerts, given a notification block), and
then runs ``prefect --no-prompt deploy --all`` in the project folder. Everything else
that keeps runs apart is declared in ``prefect.yaml`` or taken by the flows, so a
plain ``prefect deploy --all`` keeps it too.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.errors import ConfigError

PREFECT_FILE = "prefect.yaml"
POOL_TYPE = "process"
DEPLOY_TIMEOUT_SECONDS = 300
_SOURCE_CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment as ``prefect.yaml`` declares it."""

    flow_name: str
    """Name of the flow it runs (the ``@flow(name=...)``)."""
    name: str
    """Deployment name."""
    work_pool: str
    """Work pool its runs go to."""
    schedules: tuple[str, ...]
    """Each schedule as ``cron (timezone)``; empty when unscheduled."""
    concurrency_limit: int | None = None
    """Runs of this deployment at once (others wait as AwaitingConcurrencySlot); None: any."""

    @property
    def full_name(self) -> str:
        """``flow/deployment``, as ``prefect deployment run`` expects it."""
        return f"{self.flow_name}/{self.name}"


@dataclass(frozen=True)
class DeployResult:
    """What :func:`deploy_project` did."""

    project_dir: Path
    """Folder deployed from; the runs' working directory."""
    api_url: str
    """Prefect API deployed to."""
    created_pools: tuple[str, ...]
    """Work pools that did not exist and were created."""
    registry_limit: str
    """The model's global concurrency limit, which the registry-writing flows hold."""
    automations: dict[str, str]
    """Automation name → ``created`` or ``updated``."""
    deployments: tuple[DeploymentSpec, ...]
    """The deployments now on the server."""
    version: str
    """The deployments' version: the package version and the checkout's commit."""


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding ``prefect.yaml``: ``start`` (default the cwd) or this source checkout.

    Raises:
        ConfigError: if neither holds a ``prefect.yaml``.
    """
    candidates = [Path(start or Path.cwd()).resolve()]
    if start is None:
        candidates.append(_SOURCE_CHECKOUT)
    for candidate in candidates:
        if (candidate / PREFECT_FILE).is_file():
            return candidate
    raise ConfigError(
        f"No {PREFECT_FILE} in {' or '.join(map(str, candidates))}; run from the project "
        "folder or pass --project-dir."
    )


def read_project(project_dir: Path) -> dict[str, Any]:
    """``prefect.yaml`` as a mapping (YAML anchors and merge keys resolved)."""
    import yaml

    path = project_dir / PREFECT_FILE
    try:
        return yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc


def read_deployments(project_dir: Path) -> tuple[DeploymentSpec, ...]:
    """The deployments ``prefect.yaml`` declares, with their flow names and work pools."""
    path = project_dir / PREFECT_FILE
    config = read_project(project_dir)
    specs = []
    for item in config.get("deployments") or []:
        pool = (item.get("work_pool") or {}).get("name")
        if not pool:
            raise ConfigError(
                f"Deployment {item.get('name')!r} in {path} names no work_pool; "
                "set work_pool.name to a process pool."
            )
        specs.append(
            DeploymentSpec(
                flow_name=_flow_name(project_dir, item["entrypoint"]),
                name=item["name"],
                work_pool=pool,
                schedules=tuple(_describe_schedule(s) for s in item.get("schedules") or []),
                concurrency_limit=_concurrency_limit(item.get("concurrency_limit")),
            )
        )
    if not specs:
        raise ConfigError(f"{path} declares no deployments.")
    return tuple(specs)


def _entrypoint_source(project_dir: Path, entrypoint: str) -> tuple[Path, str]:
    """The source file and function of ``path/file.py:function`` or ``package.module.function``."""
    if ":" in entrypoint:
        path, _, function = entrypoint.rpartition(":")
        return project_dir / path, function
    module, _, function = entrypoint.rpartition(".")
    try:
        spec = importlib.util.find_spec(module) if module else None
    except ImportError:
        spec = None
    if spec is None or not spec.origin:
        raise ConfigError(
            f"Entrypoint {entrypoint!r}: module {module!r} is not importable; install the "
            "package (`pip install -e .`) in the Python that deploys and runs the flows."
        )
    return Path(spec.origin), function


def _flow_name(project_dir: Path, entrypoint: str) -> str:
    """The flow name behind an entrypoint, read from the source, not imported.

    It is the decorator's ``name=`` or, as Prefect does, the function name with dashes.
    """
    source, function = _entrypoint_source(project_dir, entrypoint)
    try:
        tree = ast.parse(source.read_text(), filename=str(source))
    except (OSError, SyntaxError) as exc:
        raise ConfigError(f"Entrypoint {entrypoint!r}: cannot read {source}: {exc}") from exc
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for decorator in node.decorator_list:
                for keyword in getattr(decorator, "keywords", []):
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
            return function.replace("_", "-")
    raise ConfigError(f"Entrypoint {entrypoint!r}: {source} defines no function {function!r}.")


def _concurrency_limit(declared: Any) -> int | None:
    """The limit of ``concurrency_limit:``, written as a number or as ``{limit: …}``."""
    if isinstance(declared, dict):
        declared = declared.get("limit")
    return declared if isinstance(declared, int) else None


def _describe_schedule(schedule: dict[str, Any]) -> str:
    rule = schedule.get("cron") or schedule.get("interval") or schedule.get("rrule")
    return f"{rule} ({schedule.get('timezone', 'UTC')})"


def require_api_url() -> str:
    """The configured Prefect API URL; deploying to a throwaway ephemeral server is refused.

    Raises:
        ConfigError: if no ``PREFECT_API_URL`` is configured or the server does not answer.
    """
    import httpx
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ConfigError(
            "No Prefect server configured: start one (`prefect server start`) and set "
            "PREFECT_API_URL, e.g. `prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api`."
        )
    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"The Prefect server at {url} does not answer ({exc}); start it or fix PREFECT_API_URL."
        ) from exc
    return url


def ensure_work_pool(name: str) -> bool:
    """Create the process pool ``name`` if missing; returns whether it was created.

    The pool gets Prefect's default process job template, as ``prefect work-pool
    create --type process`` gives it; a pool found with an empty template (as earlier
    versions of this command made them) is given that template too.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            pool = None
        if pool is not None:
            if not pool.base_job_template:
                client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
            return False
        try:
            client.create_work_pool(
                WorkPoolCreate(name=name, type=POOL_TYPE, base_job_template=template)
            )
        except ObjectAlreadyExists:  # created by someone else meanwhile
            return False
    return True


def install_project_automations(
    project_dir: Path, *, notify_block: str | None, work_pool: str | None
) -> dict[str, str]:
    """The zombie automation, and the alerts through ``notify_block`` (``TYPE/NAME``) if given.

    Args:
        work_pool: The pool the weekly deployment runs in, whose readiness an alert
            watches; None when serving.
    """
    from deployments.prefect_automations import (
        alerts,
        install_automations,
        load_automations,
        notification_block_id,
    )
    from deployments.prefect_yaml import read_deployment

    wanted = load_automations()
    if notify_block is not None:
        weekly = read_deployment(project_dir / PREFECT_FILE).schedule
        wanted += alerts(notification_block_id(notify_block), work_pool=work_pool, weekly=weekly)
    return install_automations(wanted)


def deploy_project(
    project_dir: Path | None = None, *, notify_block: str | None = None
) -> DeployResult:
    """Create missing pools and the registry limit, install the automations, deploy ``prefect.yaml``.

    Args:
        project_dir: Folder holding ``prefect.yaml``; defaults to :func:`find_project_dir`.
        notify_block: A notification block ``TYPE/NAME`` on the server; the alerts
            notify through it, and are installed only with it.

    Raises:
        ConfigError: if no server is configured, the notification block does not exist,
            or ``prefect deploy`` fails (its output is in the message).
    """
    from deployments.code_version import deployment_version
    from flows.config import load_settings
    from flows.orchestration.registry_slot import ensure_registry_limit, limit_name

    project_dir = find_project_dir(project_dir)
    api_url = require_api_url()
    specs = read_deployments(project_dir)
    created = tuple(
        pool for pool in dict.fromkeys(spec.work_pool for spec in specs) if ensure_work_pool(pool)
    )
    model_name = load_settings().model_name
    ensure_registry_limit(model_name)
    weekly_pool = next((s.work_pool for s in specs if s.schedules), specs[0].work_pool)
    automations = install_project_automations(
        project_dir, notify_block=notify_block, work_pool=weekly_pool
    )
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]
    command += ["--prefect-file", str(project_dir / PREFECT_FILE)]
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_CLI_PROMPT": "false"}
    result = subprocess.run(
        command,
        cwd=project_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEPLOY_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ConfigError(
            f"`prefect deploy --all` failed in {project_dir} (exit code {result.returncode}):\n"
            f"{output[-4000:]}"
        )
    return DeployResult(
        project_dir=project_dir,
        api_url=api_url,
        created_pools=created,
        registry_limit=limit_name(model_name),
        automations=automations,
        deployments=specs,
        version=deployment_version(project_dir),
    )
