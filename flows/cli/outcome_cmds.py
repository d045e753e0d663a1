"""``ccflows ingest-outcomes``: outcomes that arrive weeks after the rows were scored."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from flows.cli._console import (
    add_backend_options,
    get_console,
    open_existing,
    print_json,
    settings_from,
)
from flows.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ingest-outcomes``."""
    outcomes = subparsers.add_parser(
        "ingest-outcomes",
        help="add outcomes of scored rows to the live test's score log (id, label, "
        "optionally observed_at), checked against [data] first",
    )
    add_backend_options(outcomes)
    outcomes.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help=".csv or .parquet files with [data] id_column, its label and optionally "
        "observed_at (ISO 8601)",
    )
    outcomes.add_argument("--json", action="store_true", help="print the counts as JSON")
    outcomes.set_defaults(handler=ingest_outcomes_command)


def ingest_outcomes_command(args: argparse.Namespace) -> int:
    """Check every outcome against the contract and the stored labels, then add them all, or none."""
    from flows.cycle import steps

    settings = settings_from(args)
    if not settings.live.on:
        raise ConfigError(
            "Outcomes feed a live test, and [live] mode is 'off'; set mode to 'shadow' or "
            "'split' in config.toml. Nothing was stored."
        )
    with open_existing(settings) as backend:
        outcomes = steps.read_outcomes(
            [Path(f) for f in args.files],
            settings.contract,
            stored_labels=steps.stored_labels(backend),
        )
        added = steps.ingest_outcomes(backend, outcomes)
    if args.json:
        print_json(asdict(added))
        return 0
    get_console().print(
        f"{added.added:,} outcomes added; {added.not_yet_mature:,} for rows not yet mature"
    )
    return 0
