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

from flows.cli._console import run_command

COMMAND_GROUPS = (
    "flows.cli.pipeline_cmds",
    "flows.cli.registry_cmds",
    "flows.cli.policy_cmds",
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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_groups():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccflows`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return run_command(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
