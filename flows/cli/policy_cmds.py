"""Commands about promotion policies: ``policies`` and ``replay``."""

from __future__ import annotations

import argparse

from flows.cli._console import add_backend_options, get_console, print_json, settings_from
from flows.cli.pipeline_cmds import add_policy_options, parse_params


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the policy commands."""
    policies = subparsers.add_parser(
        "policies", help="installed promotion policies, their parameters and load status"
    )
    policies.add_argument("--json", action="store_true", help="print JSON")
    policies.set_defaults(handler=policies_command)

    replay = subparsers.add_parser(
        "replay", help="what a policy would have decided on the evidence of past decisions"
    )
    add_backend_options(replay)
    add_policy_options(replay)
    replay.add_argument(
        "--entry", type=int, action="append", help="only this ledger entry (repeatable)"
    )
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(handler=replay_command)


def policies_command(args: argparse.Namespace) -> int:
    """List every installed policy entry point, including those that fail to load."""
    from rich.table import Table

    import ccpolicy

    infos = ccpolicy.available_policies()
    if args.json:
        print_json([info.to_dict() for info in infos])
        return 0
    table = Table(title="Promotion policies (entry-point group ccpolicy.policies)")
    for column in ("name", "from", "status", "parameters", "description"):
        table.add_column(column, overflow="fold")
    for info in infos:
        params = "\n".join(
            f"{name}={p.default!r}: {p.description}" for name, p in info.parameters.items()
        )
        status = "[green]ok[/]" if info.status == "ok" else f"[red]error[/]: {info.error}"
        table.add_row(
            info.name, f"{info.distribution} {info.version}", status, params, info.description
        )
    get_console().print(table)
    return 0


def replay_command(args: argparse.Namespace) -> int:
    """Replay a policy over the stored evidence of past decisions; changes nothing."""
    from rich.table import Table

    import ccpolicy
    from flows import steps
    from flows.backends import open_backend

    policy = ccpolicy.load_policy(args.policy, **parse_params(args.param))
    with open_backend(settings_from(args)) as backend:
        results = steps.replay(backend, policy, entry_ids=args.entry)
    if args.json:
        print_json([{"entry": e.to_dict(), "replayed": d.to_dict()} for e, d in results])
        return 0
    table = Table(title=f"Replay of {args.policy} over the ledger", title_justify="left")
    for column in ("#", "original", "replayed"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason of the replayed verdict", overflow="fold")
    for entry, decision in results:
        table.add_row(str(entry.id), entry.verdict, decision.verdict.value, decision.reason)
    get_console().print(table)
    if not results:
        get_console().print("No ledger entry has stored evidence yet.")
    return 0
