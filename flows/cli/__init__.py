"""``ccflows``: the command line of champion-challenger.

One module per command group registers its subcommands; each command parses its
arguments, calls one function and renders the result. Heavy libraries (prefect,
scikit-learn, snowflake) are imported inside command bodies only, so ``--help``,
``status``, ``history`` and ``policies`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from flows.cli._console import run_command

COMMAND_GROUPS = (
    "flows.cli.pipeline_cmds",
    "flows.cli.registry_cmds",
    "flows.cli.policy_cmds",
    "flows.cli.deploy_cmds",
    "flows.cli.snowflake_cmds",
)
"""Modules that each expose ``register(subparsers)``; a missing one is skipped."""


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
    for module_name in COMMAND_GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
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
