"""``ccflows server``: the local Prefect server the flow commands share (see ``_server``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from flows.cli._console import get_console, print_json

if TYPE_CHECKING:
    from pathlib import Path

    from flows.cli._server import BackgroundServer


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``server status``, ``server start`` and ``server stop``."""
    server = subparsers.add_parser(
        "server", help="the local Prefect server that flow commands start once and reuse"
    )
    actions = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    for name, handler, text in (
        ("status", status_command, "whether it runs, its address, PID and log"),
        ("start", start_command, "start it now (flow commands start it on first use)"),
        ("stop", stop_command, "stop it by its PID"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=handler)


def status_command(args: argparse.Namespace) -> int:
    """Say whether the background server runs (exit 0) or not (exit 1)."""
    from flows.cli._flow_runs import prepare_prefect

    prepare_prefect()
    from flows.cli._server import configured_api_url, current_prefect_home, recorded_server
    from flows.orchestration.local_server import is_healthy

    home = current_prefect_home()
    server = recorded_server(home)
    healthy = server is not None and is_healthy(server.url)
    configured = configured_api_url()
    if args.json:
        print_json(_describe(server, home) | {"healthy": healthy, "api_url_set": configured})
    elif server is None:
        get_console().out(f"No background Prefect server runs for PREFECT_HOME {home}.")
    else:
        state = "healthy" if healthy else "not answering yet"
        get_console().out(
            f"Prefect server at {server.url} ({state}), PID {server.pid}, log {server.log}",
            highlight=False,
        )
    if configured:
        get_console().out(f"PREFECT_API_URL is set ({configured}): flow commands use that one.")
    return 0 if healthy else 1


def start_command(args: argparse.Namespace) -> int:
    """Start the background server unless one runs; wait until it answers."""
    from flows.cli._flow_runs import prepare_prefect

    prepare_prefect()
    from flows.cli._server import current_prefect_home, ensure_server

    console = get_console()
    with console.status("Starting a local Prefect server in the background (about 20 s)…"):
        server = ensure_server(current_prefect_home())
    if args.json:
        print_json(_describe(server, server.prefect_home))
    else:
        console.out(f"Prefect server at {server.url}, PID {server.pid}", highlight=False)
    return 0


def stop_command(args: argparse.Namespace) -> int:
    """Stop the background server by its PID; nothing to stop is not an error."""
    from flows.cli._flow_runs import prepare_prefect

    prepare_prefect()
    from flows.cli._server import current_prefect_home, stop_server

    home = current_prefect_home()
    stopped = stop_server(home)
    if args.json:
        print_json(_describe(stopped, home) | {"stopped": stopped is not None})
    elif stopped is None:
        get_console().out(f"No background Prefect server runs for PREFECT_HOME {home}.")
    else:
        get_console().out(f"Stopped the Prefect server at {stopped.url} (PID {stopped.pid}).")
    return 0


def _describe(server: BackgroundServer | None, home: Path) -> dict[str, Any]:
    """The JSON form of ``server`` (None: not running) under PREFECT_HOME ``home``."""
    if server is None:
        return {"running": False, "prefect_home": str(home)}
    return {
        "running": True,
        "api_url": server.url,
        "pid": server.pid,
        "log": str(server.log),
        "prefect_home": str(home),
    }
