"""``ccflows review``: one look at the live candidate's matured outcomes."""

from __future__ import annotations

import argparse

from flows.cli._console import add_backend_options, get_console, print_json, settings_from


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the review command."""
    review = subparsers.add_parser(
        "review", help="judge the live candidate on matured outcomes (one look, recorded)"
    )
    add_backend_options(review)
    review.add_argument(
        "--dry-run", action="store_true", help="decide and show the look, record nothing"
    )
    review.add_argument("--json", action="store_true", help="print JSON")
    review.set_defaults(handler=review_command)


def review_command(args: argparse.Namespace) -> int:
    """Take one look at the open candidate and show it, with the test's path so far.

    Exits 2 with one line when no candidate is under live test.
    """
    from flows.backends import open_backend
    from flows.cli._console import open_existing
    from flows.cli._render import print_review
    from flows.cycle import steps

    settings = settings_from(args)
    with open_existing(settings):  # a mistyped home or model is refused, not created
        pass
    with open_backend(settings, mode="read" if args.dry_run else "write") as backend:
        result = steps.review(backend, settings, dry_run=args.dry_run)
    if args.json:
        print_json(result.to_dict())
    else:
        print_review(get_console(), result)
    return 0
