"""Drawing the trend: matplotlib figures, the self-contained HTML page, the Prefect artifacts.

The page needs no network to open: the figures are inline SVG (text drawn as
paths, no fonts to fetch), there is no script and the style sheet is inline.
Matplotlib is imported on use only and draws on its own ``Figure`` objects (no
pyplot state), so ``ccflows --help`` stays fast and concurrent runs do not share
a canvas. The artifacts every weekly run publishes need no matplotlib at all:
importing it and drawing cost a run about a second. Prefect is imported by
:func:`publish_trend` only.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flows.cycle.trend import Trend, TrendPoint, trend_rows
from flows.records import Outcome

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from flows.config import Settings
    from flows.live.candidacy import LivePath

_MARKS: dict[Outcome, tuple[str, str]] = {
    Outcome.PROMOTED: ("^", "#2e7d32"),
    Outcome.KEPT: ("o", "#546e7a"),
    Outcome.INCONCLUSIVE: ("D", "#ef6c00"),
    Outcome.DRY_RUN: ("s", "#1565c0"),
    Outcome.STALE_CHAMPION: ("X", "#8e24aa"),
    Outcome.FAILED: ("X", "#c62828"),
    Outcome.CANDIDATE: ("*", "#00838f"),
}
"""Marker and colour of each decision outcome on the AUC chart."""
_LETTERS: dict[Outcome, str] = {
    Outcome.BOOTSTRAPPED: "B",
    Outcome.PROMOTED: "P",
    Outcome.KEPT: "K",
    Outcome.INCONCLUSIVE: "I",
    Outcome.DRY_RUN: "D",
    Outcome.STALE_CHAMPION: "S",
    Outcome.ROLLED_BACK: "R",
    Outcome.FAILED: "F",
    Outcome.CANDIDATE: "C",
    Outcome.CONTINUED: "L",
    Outcome.REJECTED: "J",
    Outcome.STARTED: "s",
}
"""One letter per outcome, for the markdown's outcome line."""
_BARS = "▁▂▃▄▅▆▇█"
_CHAMPION_COLOUR = "#263238"
_CHALLENGER_COLOUR = "#90a4ae"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
.muted { color: #666; }
"""


def trend_html(trend: Trend, *, live: LivePath | None = None) -> str:
    """The whole report as one HTML document: the figures inline, the two tables.

    With ``live``, the newest live test's path too: z at each look against the boundary.
    """
    title = f"{trend.model_name} over time"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">From the promotion ledger ({len(trend.points)} entries), '
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Live now: "
        f"<b>{html.escape(trend.live_now or 'no version')}</b>.</p>",
    ]
    if not trend.points:
        parts.append("<p>No decision is recorded yet: run a cycle (`ccflows run`) first.</p>")
    else:
        parts += [
            "<h2>Hold-out ROC AUC per cycle, and the live version</h2>",
            f"<figure>{_svg(history_figure(trend))}</figure>",
        ]
    if trend.latest is not None:
        latest = trend.latest
        parts += [
            f"<h2>Latest cycle: ROC curves (entry {html.escape(latest.point.label)})</h2>",
            f"<figure>{_svg(roc_figure(trend))}</figure>",
        ]
    if live is not None:
        parts += _live_test_section(live)
    parts += [_live_table(trend), _decision_table(trend), "</body></html>"]
    return "\n".join(parts) + "\n"


def trend_markdown(trend: Trend) -> str:
    """The Prefect UI's view, drawn without matplotlib: AUC sparklines and who was live when.

    Every weekly run publishes it, so it costs no plotting library and no image: the
    full charts are ``ccflows report``'s.
    """
    lines = [f"# {trend.model_name} over time", ""]
    evaluated = [p for p in trend.points if p.evaluated]
    if evaluated:
        aucs = [a for p in evaluated for a in (p.champion_auc, p.challenger_auc)]
        low, high = min(aucs), max(aucs)
        lines += [
            f"Hold-out ROC AUC per ledger entry, oldest first (▁ {low:.4f} … █ {high:.4f}; "
            "· nothing evaluated). Outcomes: "
            + ", ".join(f"{mark} {outcome.value}" for outcome, mark in _LETTERS.items())
            + ".",
            "",
            "| | per entry | newest |",
            "|---|---|---|",
            f"| champion | `{_sparkline(trend, 'champion_auc', low, high)}` | "
            f"{evaluated[-1].champion_auc:.4f} |",
            f"| challenger | `{_sparkline(trend, 'challenger_auc', low, high)}` | "
            f"{evaluated[-1].challenger_auc:.4f} |",
            f"| outcome | `{''.join(_LETTERS[p.outcome] for p in trend.points)}` | "
            f"{trend.points[-1].outcome.value} |",
            "",
        ]
    tags = version_tags(trend)
    lines += ["| | live version | from | until |", "|---|---|---|---|"]
    for period in trend.live_periods:
        until = period.end.label if period.end else "now"
        lines.append(
            f"| {tags[period.version]} | `{period.version}` | {period.start.label} | {until} |"
        )
    lines += ["", "The charts and both ROC curves: `ccflows report`."]
    return "\n".join(lines) + "\n"


def trend_table(trend: Trend) -> list[dict[str, object]]:
    """The trend table artifact: :func:`trend_rows` narrowed to fit the UI without scrolling.

    The live version is its tag (``v2``, as in the markdown's live table) and the time
    is to the minute.
    """
    tags = version_tags(trend)
    rows = []
    for row in trend_rows(trend):
        live = row.pop("live after")
        row["recorded (UTC)"] = str(row["recorded (UTC)"])[:16]
        rows.append({**row, "live after": tags.get(live, "—") if live else "—"})
    return rows


def publish_trend(settings: Settings, trend: Trend) -> None:
    """Publish the trend (``steps.trend``) at the end of a weekly run: a table and a chart artifact."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = re.sub(r"[^a-z0-9-]+", "-", f"{settings.model_name.lower()}-trend")
    create_table_artifact(
        trend_table(trend),
        key=f"{key}-table",
        description=f"Every ledger entry of {trend.model_name}, oldest first",
    )
    create_markdown_artifact(
        trend_markdown(trend),
        key=key,
        description=f"Hold-out AUC per cycle; live now: {trend.live_now or 'no version'}",
    )


def _sparkline(trend: Trend, field: str, low: float, high: float) -> str:
    """One block character per ledger entry, from ▁ at ``low`` to █ at ``high``."""
    marks = []
    for point in trend.points:
        value = getattr(point, field) if point.evaluated else None
        if value is None:
            marks.append("·")
            continue
        share = 0.0 if high == low else (value - low) / (high - low)
        marks.append(_BARS[round(share * (len(_BARS) - 1))])
    return "".join(marks)


def history_figure(trend: Trend) -> Figure:
    """AUCs per ledger entry with each decision marked (top), the live version (bottom)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5.6), layout="constrained")
    auc_axes, live_axes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    _plot_aucs(auc_axes, trend.points)
    _plot_live(live_axes, trend)
    live_axes.set_xticks(
        range(len(trend.points)), [p.label.replace(" ", "\n", 1) for p in trend.points]
    )
    live_axes.tick_params(axis="x", labelsize=8)
    live_axes.set_xlabel(f"ledger entry and newest {trend.period_column}")
    return figure


def _live_test_section(live: LivePath) -> list[str]:
    test = live.candidate
    state = f"ended {live.ended.outcome.value}" if live.ended else "open"
    lines = [
        f"<h2>Live test of {html.escape(test.version)} against "
        f"{html.escape(test.champion_version)} ({test.mode}, since period {test.since_period}, "
        f"{state})</h2>"
    ]
    if not live.looks:
        return [*lines, "<p>No look taken yet: outcomes have not matured.</p>"]
    return [*lines, f"<figure>{_svg(live_test_figure(live))}</figure>"]


def live_test_figure(live: LivePath) -> Figure:
    """z at each look of a live test against the boundary it had to cross to promote."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.4), layout="constrained")
    axes = figure.subplots()
    numbers = [look.number for look in live.looks]
    axes.plot(numbers, [look.z for look in live.looks], "o-", color=_CHAMPION_COLOUR, label="z")
    axes.plot(
        numbers,
        [look.boundary for look in live.looks],
        "--",
        color=_MARKS[Outcome.PROMOTED][1],
        label="boundary (promote above)",
    )
    for look in live.looks:
        axes.annotate(f"{look.information:.0%}", (look.number, look.z), fontsize=7, xytext=(4, 4),
                      textcoords="offset points")  # fmt: skip
    axes.set_xticks(numbers)
    axes.set_xlabel("look (annotated: share of the planned rows)")
    axes.set_ylabel("z")
    axes.legend(loc="upper left", fontsize=7)
    return figure


def roc_figure(trend: Trend) -> Figure:
    """The newest cycle's ROC curves of champion and challenger on their shared hold-out."""
    from matplotlib.figure import Figure

    latest = trend.latest
    assert latest is not None
    figure = Figure(figsize=(5.6, 5.2), layout="constrained")
    axes = figure.subplots()
    for curve, colour, style in (
        (latest.champion, _CHAMPION_COLOUR, "-"),
        (latest.challenger, _MARKS[Outcome.INCONCLUSIVE][1], "--"),
    ):
        axes.plot(
            curve.fpr, curve.tpr, style, color=colour, label=f"{curve.version}\nAUC {curve.auc:.4f}"
        )
    axes.plot([0, 1], [0, 1], ":", color="#bbb", label="chance")
    periods = f"{latest.holdout}, " if latest.holdout else ""
    axes.set_title(
        f"{latest.point.outcome.value}: hold-out {periods}{latest.n_rows} rows", fontsize=10
    )
    axes.set_xlabel("false-positive rate")
    axes.set_ylabel("true-positive rate")
    axes.set_aspect("equal")
    axes.legend(loc="lower right", fontsize=7)
    return figure


def _plot_aucs(axes: Axes, points: list[TrendPoint]) -> None:
    evaluated = [(i, p) for i, p in enumerate(points) if p.evaluated]
    if evaluated:
        xs = [i for i, _ in evaluated]
        axes.plot(xs, [p.champion_auc for _, p in evaluated], "o-", color=_CHAMPION_COLOUR,
                  markersize=4, label="champion (live when evaluated)")  # fmt: skip
        axes.plot(xs, [p.challenger_auc for _, p in evaluated], "--", color=_CHALLENGER_COLOUR,
                  label="challenger")  # fmt: skip
    for outcome, (marker, colour) in _MARKS.items():
        chosen = [(i, p) for i, p in evaluated if p.outcome is outcome]
        if chosen:
            axes.scatter([i for i, _ in chosen], [p.challenger_auc for _, p in chosen], s=70,
                         marker=marker, color=colour, zorder=3, label=outcome.value)  # fmt: skip
    for i, point in enumerate(points):
        if not point.evaluated:
            axes.axvline(i, color="#bbb", linestyle=":", linewidth=1)
            axes.annotate(point.outcome.value, (i, 1), xycoords=("data", "axes fraction"),
                          rotation=90, va="top", ha="right", fontsize=7, color="#777")  # fmt: skip
    axes.set_ylabel("hold-out ROC AUC")
    axes.grid(axis="y", color="#eee")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)


def _plot_live(axes: Axes, trend: Trend) -> None:
    index = {p.entry_id: i for i, p in enumerate(trend.points)}
    tags = version_tags(trend)
    labelled: set[str] = set()
    for period in trend.live_periods:
        start = index[period.start.entry_id]
        end = index[period.end.entry_id] if period.end else len(trend.points)
        tag = tags[period.version]
        label = None if tag in labelled else f"{tag} = {period.version}"
        labelled.add(tag)
        colour = f"C{(int(tag[1:]) - 1) % 10}"
        axes.broken_barh([(start - 0.5, end - start)], (0, 1), color=colour, alpha=0.6, label=label)
        axes.text(start - 0.4, 0.5, tag, va="center", fontsize=8)
    axes.set_yticks([])
    axes.set_ylabel("live")
    axes.set_xlim(-0.6, len(trend.points) - 0.4)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)


def version_tags(trend: Trend) -> dict[str, str]:
    """A short tag per live version (``v1``, ``v2``, …) in order of first going live."""
    tags: dict[str, str] = {}
    for period in trend.live_periods:
        tags.setdefault(period.version, f"v{len(tags) + 1}")
    return tags


def _live_table(trend: Trend) -> str:
    tags = version_tags(trend)
    rows = [
        (tags[p.version], p.version, p.start.label, p.start.recorded_at,
         p.end.label if p.end else "now", p.end.recorded_at if p.end else "")
        for p in trend.live_periods
    ]  # fmt: skip
    header = ("", "live version", "from entry", "at (UTC)", "until entry", "at (UTC)")
    return "<h2>Which version was live when</h2>" + _table(header, rows)


def _decision_table(trend: Trend) -> str:
    rows = [
        (r["entry"], r["recorded (UTC)"], r[trend.period_column], r["outcome"], r["live after"],
         r["champion AUC"], r["challenger AUC"], r["p-value"], r["detectable gain"])
        for r in trend_rows(trend)
    ]  # fmt: skip
    header = ("#", "recorded (UTC)", trend.period_column, "outcome", "live after", "champion AUC",
              "challenger AUC", "p-value", "detectable gain")  # fmt: skip
    return "<h2>Every ledger entry</h2>" + _table(header, rows)


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return "<td>—</td>"
    if isinstance(value, int | float):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no date, text as paths)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
