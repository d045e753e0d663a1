"""Deploying the flows to a Prefect server from ``prefect.yaml``, non-interactively.

``prefect deploy`` refuses a deployment whose work pool does not exist and prompts
when it runs in a terminal, so :func:`deploy_project` first creates every work pool
that ``prefect.yaml`` names (as process pools, when missing) and then runs
``prefect --no-prompt deploy --all`` in the project folder, where it records that
folder's absolute path as the runs' working directory.
"""

from __future__ import annotations

import ast
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


def read_deployments(project_dir: Path) -> tuple[DeploymentSpec, ...]:
    """The deployments ``prefect.yaml`` declares, with their flow names and work pools."""
    import yaml

    path = project_dir / PREFECT_FILE
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc
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
            )
        )
    if not specs:
        raise ConfigError(f"{path} declares no deployments.")
    return tuple(specs)


def _flow_name(project_dir: Path, entrypoint: str) -> str:
    """The flow name behind ``path/file.py:function``, read from the source, not imported.

    It is the decorator's ``name=`` or, as Prefect does, the function name with dashes.
    """
    path, _, function = entrypoint.rpartition(":")
    source = project_dir / path
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


def ensure_work_pool(name: str, *, pool_type: str = POOL_TYPE) -> bool:
    """Create the work pool ``name`` if it does not exist; returns whether it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            pass
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type=pool_type))
        except ObjectAlreadyExists:  # created by someone else meanwhile
            return False
    return True


def deploy_project(project_dir: Path | None = None) -> DeployResult:
    """Create missing work pools, then deploy every deployment in ``prefect.yaml``.

    Args:
        project_dir: Folder holding ``prefect.yaml``; defaults to :func:`find_project_dir`.

    Raises:
        ConfigError: if no server is configured, or ``prefect deploy`` fails (its output
            is in the message).
    """
    project_dir = find_project_dir(project_dir)
    api_url = require_api_url()
    specs = read_deployments(project_dir)
    created = tuple(
        pool for pool in dict.fromkeys(spec.work_pool for spec in specs) if ensure_work_pool(pool)
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
        project_dir=project_dir, api_url=api_url, created_pools=created, deployments=specs
    )
