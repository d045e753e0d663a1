"""Deploying the flows to a Prefect server from ``prefect.yaml``, non-interactively.

``prefect deploy`` refuses a deployment whose work pool does not exist and prompts
when it runs in a terminal, so :func:`deploy_project` first creates every work pool
that ``prefect.yaml`` names (process pools with Prefect's default job template, as
``prefect work-pool create --type process`` makes them) and the work queues with the
limits it declares, installs the automations, and then runs
``prefect --no-prompt deploy --all`` in the project folder.
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
    work_queue: str
    """Queue of that pool; the ``registry`` queue's limit makes its runs queue behind each other."""
    schedules: tuple[str, ...]
    """Each schedule as ``cron (timezone)``; empty when unscheduled."""

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
    work_queues: dict[str, int | None]
    """``pool/queue`` → its concurrency limit, as now set on the server."""
    automations: dict[str, str]
    """Automation name → ``created`` or ``updated``."""
    deployments: tuple[DeploymentSpec, ...]
    """The deployments now on the server."""


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


def read_work_queue_limits(project_dir: Path) -> dict[str, int]:
    """Queue name → concurrency limit, from ``definitions.work_queue_limits``.

    Prefect's ``prefect.yaml`` has no place for a queue's limit, so the project keeps it
    under ``definitions`` (which Prefect ignores) and ``ccflows deploy`` applies it.
    """
    limits = (read_project(project_dir).get("definitions") or {}).get("work_queue_limits") or {}
    if not isinstance(limits, dict) or not all(
        isinstance(v, int) and v >= 1 for v in limits.values()
    ):
        raise ConfigError(
            f"definitions.work_queue_limits in {project_dir / PREFECT_FILE} must map queue "
            f"names to positive integers; got {limits!r}."
        )
    return {str(name): limit for name, limit in limits.items()}


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
                work_queue=item["work_pool"].get("work_queue_name") or "default",
                schedules=tuple(_describe_schedule(s) for s in item.get("schedules") or []),
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


def ensure_work_queue(pool: str, name: str, *, limit: int | None) -> None:
    """Create queue ``name`` in ``pool`` if missing, and set its concurrency limit."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            queue = client.read_work_queue_by_name(name, work_pool_name=pool)
        except ObjectNotFound:
            try:
                client.create_work_queue(name, work_pool_name=pool, concurrency_limit=limit)
                return
            except ObjectAlreadyExists:
                queue = client.read_work_queue_by_name(name, work_pool_name=pool)
        if queue.concurrency_limit != limit:
            client.update_work_queue(queue.id, concurrency_limit=limit)


def deploy_project(project_dir: Path | None = None) -> DeployResult:
    """Create missing pools and queues, install the automations, deploy ``prefect.yaml``.

    Args:
        project_dir: Folder holding ``prefect.yaml``; defaults to :func:`find_project_dir`.

    Raises:
        ConfigError: if no server is configured, or ``prefect deploy`` fails (its output
            is in the message).
    """
    from deployments.prefect_automations import install_automations

    project_dir = find_project_dir(project_dir)
    api_url = require_api_url()
    specs = read_deployments(project_dir)
    limits = read_work_queue_limits(project_dir)
    created = tuple(
        pool for pool in dict.fromkeys(spec.work_pool for spec in specs) if ensure_work_pool(pool)
    )
    queues = {f"{s.work_pool}/{s.work_queue}": limits.get(s.work_queue) for s in specs}
    for path, limit in queues.items():
        pool, _, queue = path.partition("/")
        ensure_work_queue(pool, queue, limit=limit)
    automations = install_automations()
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
        work_queues=queues,
        automations=automations,
        deployments=specs,
    )
