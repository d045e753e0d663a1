"""Commands that read or move the registry's pointers: ``status``, ``history``, ``rollback``."""

from __future__ import annotations

import argparse

from flows.cli._console import (
    add_backend_options,
    get_console,
    open_existing,
    print_json,
    settings_from,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the registry commands."""
    status = subparsers.add_parser("status", help="live version, aliases, tags and versions")
    add_backend_options(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=status_command)

    history = subparsers.add_parser("history", help="the promotion ledger")
    add_backend_options(history)
    history.add_argument("--limit", type=int, help="only the newest N entries")
    history.add_argument("--at", metavar="TIME", help="which version was live at this ISO time")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(handler=history_command)

    rollback = subparsers.add_parser(
        "rollback", help="make the previous champion (or --to VERSION) live again"
    )
    add_backend_options(rollback)
    rollback.add_argument("--to", metavar="VERSION", help="version to make live")
    rollback.add_argument(
        "--if-live",
        metavar="VERSION",
        help="only if VERSION is still live (default: whatever is live now)",
    )
    rollback.add_argument("--reason", default="", help="why, recorded in the ledger")
    rollback.add_argument("--json", action="store_true", help="print the ledger entry as JSON")
    rollback.set_defaults(handler=rollback_command)


def status_command(args: argparse.Namespace) -> int:
    """Show the registry's pointers and versions; creates nothing."""
    from flows.cli._render import print_live_test, print_status, print_versions
    from flows.cycle import steps

    with open_existing(settings_from(args)) as backend:
        current = steps.status(backend)
        live = steps.live_status(backend)
    status, versions = current.pointers, current.versions
    if args.json:
        test = {"live_test": live.to_dict()} if live else {}
        print_json({**status.to_dict(), **test, "versions": [v.to_dict() for v in versions]})
        return 0
    console = get_console()
    print_status(console, status)
    if live is not None:
        console.line()
        print_live_test(console, live)
    if versions:
        console.line()
        print_versions(console, versions, live=status.live_version)
    return 0


def history_command(args: argparse.Namespace) -> int:
    """Show the ledger, or which version was live at a time; creates nothing."""
    from flows.cli._render import print_ledger
    from flows.cycle import steps

    with open_existing(settings_from(args)) as backend:
        if args.at:
            live = steps.live_at(backend, args.at)
            if args.json:
                print_json({"at": args.at, "live_version": live})
            else:
                get_console().out(f"Live at {args.at}: {live or 'no version'}", highlight=False)
            return 0
        entries = steps.history(backend, limit=args.limit)
    if args.json:
        print_json([e.to_dict() for e in entries])
    else:
        print_ledger(get_console(), entries)
    return 0


def rollback_command(args: argparse.Namespace) -> int:
    """Make the previous champion live again, recorded in the ledger.

    Exits 1 when the live version is not the one ``--if-live`` names (the refusal is
    recorded), 0 with a note when the target is already live (nothing is recorded),
    2 on a user error such as a corrupt target.
    """
    from flows.backends import open_backend
    from flows.cli._render import print_decision
    from flows.cycle import steps
    from flows.errors import AlreadyLiveError

    settings = settings_from(args)
    with open_existing(settings):  # a mistyped home or model is refused, not created
        pass
    try:
        with open_backend(settings) as backend:
            entry = steps.rollback(
                backend, to_version=args.to, if_live=args.if_live, reason=args.reason
            )
    except AlreadyLiveError as already:
        if args.json:
            print_json({"already_live": already.version, "recorded": False})
        else:
            get_console().out(str(already), highlight=False)
        return 0
    if args.json:
        print_json(entry.to_dict())
    else:
        print_decision(get_console(), entry)
    return 0 if entry.outcome.switched_live else 1
