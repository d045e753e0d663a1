"""``ccflows deploy``: create the work pool if missing and deploy ``prefect.yaml`` to a server."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flows.cli._console import get_console, print_json

if TYPE_CHECKING:
    from deployments.prefect_deploy import DeploymentSpec


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``deploy`` command."""
    deploy = subparsers.add_parser(
        "deploy",
        help="deploy the flows from prefect.yaml to the Prefect server (PREFECT_API_URL)",
        description=(
            "Create the work pools prefect.yaml names (process pools) when missing, then run "
            "`prefect --no-prompt deploy --all` in the project folder. Needs a running Prefect "
            "server: set PREFECT_API_URL."
        ),
    )
    deploy.add_argument(
        "--project-dir",
        type=Path,
        help="folder holding prefect.yaml (default: the current folder, else this checkout)",
    )
    deploy.add_argument("--json", action="store_true", help="print what was deployed as JSON")
    deploy.set_defaults(handler=deploy_command)


def deploy_command(args: argparse.Namespace) -> int:
    """Deploy, then show the deployments and the commands that run them."""
    from deployments.prefect_deploy import deploy_project

    console = get_console()
    with console.status("Deploying from prefect.yaml…"):
        result = deploy_project(args.project_dir)
    if args.json:
        print_json(
            {
                "project_dir": str(result.project_dir),
                "api_url": result.api_url,
                "created_pools": list(result.created_pools),
                "deployments": [
                    {"name": d.full_name, "work_pool": d.work_pool, "schedules": list(d.schedules)}
                    for d in result.deployments
                ],
            }
        )
        return 0
    from rich.table import Table

    for pool in result.created_pools:
        console.print(f"Created process work pool [bold]{pool}[/]")
    table = Table(title=f"Deployed from {result.project_dir} to {result.api_url}")
    for column in ("deployment", "work pool", "schedule"):
        table.add_column(column)
    for spec in result.deployments:
        table.add_row(spec.full_name, spec.work_pool, ", ".join(spec.schedules) or "—")
    console.print(table)
    console.print(next_steps(result.deployments), highlight=False)
    return 0


def next_steps(deployments: Sequence[DeploymentSpec]) -> str:
    """The commands that start a worker, install the first champion, then run a cycle."""
    pools = " ".join(dict.fromkeys(f"--pool {d.work_pool}" for d in deployments))
    lines = [
        "Next: start a worker where CC_HOME points at the data and the registry, then run:",
        f"  CC_HOME=… prefect worker start {pools}",
    ]
    first = [d for d in deployments if d.flow_name == "train-champion"]
    scheduled = [d for d in deployments if d.schedules] or deployments[:1]
    for spec, why in ((first, "once: the first champion"), (scheduled, "a cycle now")):
        lines += [f"  prefect deployment run '{d.full_name}' --watch   # {why}" for d in spec[:1]]
    return "\n".join(lines)
