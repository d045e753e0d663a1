"""``report``: the model over time as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.cli._console import add_backend_options, get_console, open_existing, settings_from


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the report command."""
    report = subparsers.add_parser(
        "report",
        help="an HTML page of hold-out AUCs per cycle, the live versions, the latest ROC curves "
        "and the newest live test's path",
    )
    add_backend_options(report)
    report.add_argument(
        "--out",
        type=Path,
        default=Path("report.html"),
        help="the HTML file to write (default: report.html); it opens without network access",
    )
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Read the ledger and write the trend report; changes nothing in the registry."""
    from flows.cycle import steps
    from flows.cycle.trend_render import trend_html
    from flows.errors import ConfigError
    from flows.live.candidacy import live_path

    with open_existing(settings_from(args)) as backend:  # a wrong home or model: one line
        trend = steps.trend(backend)
        live = live_path(steps.history(backend))
    try:
        args.out.write_text(trend_html(trend, live=live), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write the report to {args.out}: {exc.strerror}.") from exc
    get_console().print(
        f"Wrote {args.out}: {len(trend.points)} ledger entries of {trend.model_name}; "
        f"live now: {trend.live_now or 'no version'}."
        + (f" Live test of {live.candidate.version}: {len(live.looks)} look(s)." if live else ""),
        highlight=False,
        soft_wrap=True,
    )
    return 0
