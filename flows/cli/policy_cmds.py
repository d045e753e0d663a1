"""Commands about promotion policies: ``policies`` and ``replay``."""

from __future__ import annotations

import argparse

from flows.cli._console import (
    add_backend_options,
    get_console,
    open_existing,
    print_json,
    settings_from,
)
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
        "--entry",
        type=int,
        nargs="+",
        action="extend",
        metavar="ID",
        help="only these ledger entries (--entry 2 3, or repeated)",
    )
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(handler=replay_command)


def policies_command(args: argparse.Namespace) -> int:
    """List every installed policy entry point, including those that fail to load."""
    import ccpolicy
    from flows.cli._render import NOTHING, Column, human, print_table

    infos = ccpolicy.available_policies()
    if args.json:
        print_json([info.to_dict() for info in infos])
        return 0
    rows = []
    for info in infos:
        params = "\n".join(
            f"{name}={human(p.default)}: {p.description}" for name, p in info.parameters.items()
        )
        status = ("ok", "green") if info.status == "ok" else (f"error: {info.error}", "red")
        rows.append(
            [
                info.name,
                f"{info.distribution or NOTHING} {info.version or ''}".strip(),
                status,
                params or NOTHING,
                info.description or NOTHING,
            ]
        )
    columns = [
        Column("name"),
        Column("from", drop=2),
        Column("status", fold=True),
        Column("parameters", fold=True),
        Column("description", fold=True, drop=1),
    ]
    title = "Promotion policies (entry-point group ccpolicy.policies)"
    print_table(get_console(), title, columns, rows)
    return 0


def replay_command(args: argparse.Namespace) -> int:
    """Replay a policy over the stored evidence of past decisions; changes nothing."""
    import ccpolicy
    from flows.cli._render import Column, print_table
    from flows.cycle import steps

    policy = ccpolicy.load_policy(args.policy, **parse_params(args.param))
    with open_existing(settings_from(args)) as backend:
        results = steps.replay(backend, policy, entry_ids=args.entry)
    if args.json:
        print_json([{"entry": e.to_dict(), "replayed": d.to_dict()} for e, d in results])
        return 0
    if not results:
        get_console().out("No ledger entry has stored evidence yet.", highlight=False)
        return 0
    rows = [
        [str(entry.id), entry.verdict or "", decision.verdict.value, decision.reason]
        for entry, decision in results
    ]
    columns = [
        Column("#", justify="right"),
        Column("original"),
        Column("replayed"),
        Column("reason of the replayed verdict", fold=True),
    ]
    print_table(get_console(), f"Replay of {args.policy} over the ledger", columns, rows)
    return 0
