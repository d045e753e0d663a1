"""``ccflows deploy`` and ``ccflows serve``: ``prefect.yaml`` on a Prefect server.

``deploy`` creates the work pool, its queues and the automations, then deploys for
a process worker; ``serve`` runs the same deployments from this one process.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flows.cli._console import get_console, print_json
from flows.cli._render import Column, human, print_table

if TYPE_CHECKING:
    from deployments.prefect_deploy import DeploymentSpec


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``deploy`` command."""
    deploy = subparsers.add_parser(
        "deploy",
        help="deploy the flows from prefect.yaml to the Prefect server (PREFECT_API_URL)",
        description=(
            "Create the work pools prefect.yaml names (process pools with Prefect's default "
            "job template) when missing, and their queues with the limits it declares; "
            "install the automations under deployments/automations/ by name; then run "
            "`prefect --no-prompt deploy --all` in the project folder. Needs a running "
            "Prefect server: set PREFECT_API_URL."
        ),
    )
    _project_dir_argument(deploy)
    deploy.add_argument("--json", action="store_true", help="print what was deployed as JSON")
    deploy.set_defaults(handler=deploy_command)

    serve = subparsers.add_parser(
        "serve",
        help="run the deployments of prefect.yaml from this process (no work pool, no worker)",
        description=(
            "Serve every deployment of prefect.yaml with prefect.serve, on one machine: the "
            "same schedules and parameters, one run at a time (the registry queue's limit). "
            "Runs until interrupted. Needs a running Prefect server: set PREFECT_API_URL."
        ),
    )
    _project_dir_argument(serve)
    serve.set_defaults(handler=serve_command)


def _project_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-dir",
        type=Path,
        help="folder holding prefect.yaml (default: the current folder, else this checkout)",
    )


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
                "work_queues": result.work_queues,
                "automations": result.automations,
                "deployments": [
                    {"name": d.full_name, "work_pool": d.work_pool, "schedules": list(d.schedules)}
                    for d in result.deployments
                ],
            }
        )
        return 0
    for pool in result.created_pools:
        console.print(f"Created process work pool [bold]{pool}[/]")
    for queue, limit in result.work_queues.items():
        console.print(f"Work queue [bold]{queue}[/]: limit {limit or 'none'}")
    for name, done in result.automations.items():
        console.print(f"Automation [bold]{name}[/] {done}")
    print_table(
        console,
        f"Deployed from {result.project_dir} to {result.api_url}",
        [Column("deployment"), Column("work pool"), Column("schedule", fold=True)],
        [
            [spec.full_name, spec.work_pool, human(list(spec.schedules))]
            for spec in result.deployments
        ],
    )
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


def serve_command(args: argparse.Namespace) -> int:
    """Serve the deployments until interrupted."""
    from deployments.prefect_deploy import find_project_dir, require_api_url
    from deployments.prefect_serve import serve_project

    project_dir = find_project_dir(args.project_dir)
    require_api_url()
    serve_project(project_dir)
    return 0
