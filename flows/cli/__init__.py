"""``ccflows``: the command line of champion-challenger.

One module per command group registers its subcommands; each command parses its
arguments, calls one function and renders the result. Heavy libraries (prefect,
scikit-learn, snowflake) are imported inside command bodies only, so ``--help``,
``status``, ``history`` and ``policies`` start fast.

The groups of this package are listed below; other packages add theirs through the
entry-point group ``ccflows.commands`` (``deployments`` adds ``deploy`` and
``snowflake``), so this package never imports the packages that build on it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from flows.cli._console import DEBUG_ENV, run_command
from flows.cli._flow_runs import forget_empty_prefect_home

COMMAND_GROUPS = (
    "flows.cli.pipeline_cmds",
    "flows.cli.outcome_cmds",
    "flows.cli.registry_cmds",
    "flows.cli.policy_cmds",
    "flows.cli.report_cmds",
    "flows.cli.review_cmds",
    "flows.cli.server_cmds",
)
"""Modules of this package that each expose ``register(subparsers)``."""
COMMAND_GROUP_ENTRY_POINTS = "ccflows.commands"
"""Entry-point group of command modules from other packages, each with ``register``."""


def command_groups() -> Iterator[ModuleType]:
    """This package's command modules, then those other installed packages register."""
    for module_name in COMMAND_GROUPS:
        yield importlib.import_module(module_name)
    for entry_point in sorted(entry_points(group=COMMAND_GROUP_ENTRY_POINTS), key=lambda e: e.name):
        yield entry_point.load()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="ccflows",
        description=(
            "Retrain a challenger, judge it against the champion on the same fresh data, "
            "and promote it only when it is really better."
        ),
    )
    add_debug_option(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_groups():
        module.register(subparsers)
    for subparser in _subparsers_of(parser):
        add_debug_option(subparser, default=argparse.SUPPRESS)
    return parser


def add_debug_option(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """``--debug``, accepted before or after the command name."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help=f"show tracebacks and Prefect's own log lines (or set {DEBUG_ENV}=1)",
    )


def _subparsers_of(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command's parser, nested groups (``snowflake emit``) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in dict.fromkeys(action.choices.values()):
                yield subparser
                yield from _subparsers_of(subparser)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccflows`` console script."""
    forget_empty_prefect_home()  # before any command imports Prefect (deploy, serve, flows)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return run_command(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
