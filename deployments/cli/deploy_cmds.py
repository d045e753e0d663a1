"""``ccflows deploy`` and ``ccflows serve``: ``prefect.yaml`` on a Prefect server.

``deploy`` creates the work pool, the registry's concurrency limit and the
automations (the alerts too, with ``--notify-block``), then deploys for a process
worker; ``serve`` runs the same deployments from this one process, refusing names
that a work pool's deployments hold.
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
            "job template) when missing, and the model's registry concurrency limit; "
            "install the automations under deployments/automations/ by name (and the "
            "alerts, with --notify-block); then run `prefect --no-prompt deploy --all` in "
            "the project folder. Needs a running Prefect server: set PREFECT_API_URL."
        ),
    )
    _project_dir_argument(deploy)
    _notify_block_argument(deploy)
    deploy.add_argument("--json", action="store_true", help="print what was deployed as JSON")
    deploy.set_defaults(handler=deploy_command)

    serve = subparsers.add_parser(
        "serve",
        help="run the deployments of prefect.yaml from this process (no work pool, no worker)",
        description=(
            "Serve every deployment of prefect.yaml with prefect.serve, on one machine: the "
            "same names, schedules, parameters and limits, and the same automations. "
            "Refuses names that a work pool's deployments hold (ccflows deploy made them). "
            "Runs until interrupted. Needs a running Prefect server: set PREFECT_API_URL."
        ),
    )
    _project_dir_argument(serve)
    _notify_block_argument(serve)
    serve.set_defaults(handler=serve_command)


def _project_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-dir",
        type=Path,
        help="folder holding prefect.yaml (default: the current folder, else this checkout)",
    )


def _notify_block_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notify-block",
        metavar="TYPE/NAME",
        help="a notification block on the server (e.g. slack-webhook/ops): install the "
        "alerts (no weekly cycle ended in its period, work pool not ready, a cycle failed "
        "or promoted), notifying through it",
    )


def deploy_command(args: argparse.Namespace) -> int:
    """Deploy, then show the deployments and the commands that run them."""
    from deployments.prefect_deploy import deploy_project

    console = get_console()
    with console.status("Deploying from prefect.yaml…"):
        result = deploy_project(args.project_dir, notify_block=args.notify_block)
    if args.json:
        print_json(
            {
                "project_dir": str(result.project_dir),
                "api_url": result.api_url,
                "created_pools": list(result.created_pools),
                "registry_limit": result.registry_limit,
                "automations": result.automations,
                "version": result.version,
                "deployments": [
                    {
                        "name": d.full_name,
                        "work_pool": d.work_pool,
                        "schedules": list(d.schedules),
                        "concurrency_limit": d.concurrency_limit,
                    }
                    for d in result.deployments
                ],
            }
        )
        return 0
    for pool in result.created_pools:
        console.print(f"Created process work pool [bold]{pool}[/]")
    console.print(f"Concurrency limit [bold]{result.registry_limit}[/]: one registry writer")
    for name, done in result.automations.items():
        console.print(f"Automation [bold]{name}[/] {done}")
    print_table(
        console,
        f"Deployed version {result.version} from {result.project_dir} to {result.api_url}",
        [
            Column("deployment"),
            Column("work pool"),
            Column("runs at once"),
            Column("schedule", fold=True),
        ],
        [
            [
                spec.full_name,
                spec.work_pool,
                human(spec.concurrency_limit),
                human(list(spec.schedules)),
            ]
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
    serve_project(project_dir, notify_block=args.notify_block)
    return 0
