"""Renderings shared by the commands: tables, key/value blocks, decisions, versions, the ledger.

Two forms of everything. On a terminal: Rich tables whose identifier columns (version
names, policy names) never wrap or truncate; description columns fold, and optional
columns are dropped when the table would not fit the width. Anywhere else (a pipe, a
file): plain text, one record per line, cells separated by tabs, no box drawing, so
``grep`` and ``cut -f`` work. Values are written for people: ``—`` for nothing,
``margin=0.0, alpha=0.05`` for parameters, never a Python repr.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.cycle.strength import EvidenceStrength
from flows.live.settings import SPLIT

if TYPE_CHECKING:
    from rich.console import Console

    from flows.cycle.live import LiveStatus
    from flows.live.review import ReviewResult
    from flows.records import LedgerEntry, ModelVersion, RegistryStatus

NOTHING = "—"
"""How an absent value is written."""

OUTCOME_STYLE = {
    "promoted": "bold green",
    "bootstrapped": "green",
    "rolled-back": "yellow",
    "kept": "cyan",
    "inconclusive": "magenta",
    "dry-run": "blue",
    "stale-champion": "yellow",
    "failed": "red",
    "candidate": "blue",
    "continued": "magenta",
    "rejected": "cyan",
}
"""Colour of each ledger outcome on a terminal."""

_FOLD_MIN_WIDTH = 16
"""Narrowest a folding column is allowed to get before optional columns are dropped."""
_COLUMN_OVERHEAD = 3
"""Characters a Rich table adds per column (padding and a rule)."""

Cell = str | tuple[str, str]
"""A cell's text, or its text and a Rich style used on terminals only."""


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    header: str
    """The header text."""
    fold: bool = False
    """Long text that may fold onto several lines; other columns never wrap."""
    drop: int = 0
    """0: always shown; otherwise dropped when the table does not fit, highest first."""
    justify: str = "left"
    """``left`` or ``right``."""


def human(value: Any) -> str:
    """``value`` as a person would write it: ``—`` for None, ``k=v, k=v`` for mappings."""
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else repr(value)
    if isinstance(value, Mapping):
        return params_text(value) if value else NOTHING
    if isinstance(value, list | tuple):
        return ", ".join(human(v) for v in value) if value else NOTHING
    return str(value)


def params_text(params: Mapping[str, Any]) -> str:
    """``{"margin": 0.0, "alpha": 0.05}`` → ``margin=0.0, alpha=0.05``; nested mappings in parentheses."""
    parts = []
    for key, value in params.items():
        text = human(value)
        if isinstance(value, Mapping) and value:
            text = f"({text})"
        parts.append(f"{key}={text}")
    return ", ".join(parts) if parts else NOTHING


def signed(value: float, digits: int = 4) -> str:
    """A difference with its sign; NaN (a metric undefined on one class) as ``n/a``."""
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def number(value: Any, digits: int = 4) -> str:
    """A metric with ``digits`` decimals; NaN as ``n/a`` and None as ``—``."""
    if value is None:
        return NOTHING
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def timestamp(text: str | None) -> str:
    """An ISO timestamp to the second, ``T`` as a space."""
    return text[:19].replace("T", " ") if text else NOTHING


def print_table(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]
) -> None:
    """A table: Rich on a terminal, tab-separated records elsewhere (no title)."""
    if not console.is_terminal:
        _print_plain(console, [[c.header for c in columns], *rows])
        return
    from rich.table import Table

    keep = _columns_that_fit(columns, rows, console.width)
    table = Table(title=title, title_justify="left")
    for index in keep:
        column = columns[index]
        table.add_column(
            column.header,
            justify=column.justify,  # type: ignore[arg-type]
            no_wrap=not column.fold,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(_rich_cell(row[i]) for i in keep))
    console.print(table)


def print_fields(console: Console, title: str, fields: Sequence[tuple[str, Cell]]) -> None:
    """``name  value`` lines: a titled panel on a terminal, ``name<TAB>value`` elsewhere."""
    if not console.is_terminal:
        _print_plain(console, [[name, value] for name, value in fields])
        return
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in fields:
        grid.add_row(name, _rich_cell(value))
    console.print(Panel(grid, title=title, title_align="left", expand=False))


def _text(cell: Cell) -> str:
    return cell[0] if isinstance(cell, tuple) else cell


def _rich_cell(cell: Cell) -> Any:
    from rich.text import Text

    text, style = cell if isinstance(cell, tuple) else (cell, "")
    return Text(text, style=style)


def _print_plain(console: Console, rows: Sequence[Sequence[Cell]]) -> None:
    """One record per line, tab-separated, newlines and tabs inside cells flattened."""
    for row in rows:
        cells = (" ".join(_text(c).replace("\n", "; ").split()) for c in row)
        console.file.write("\t".join(cells) + "\n")  # Rich would expand the tabs


def _columns_that_fit(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int
) -> list[int]:
    """Indices of the columns to show: droppable ones dropped, highest first, until it fits."""
    from rich.cells import cell_len

    def needed(index: int) -> int:
        if columns[index].fold:
            return max(_FOLD_MIN_WIDTH, cell_len(columns[index].header))
        cells = [cell_len(line) for row in rows for line in _text(row[index]).splitlines()]
        return max([cell_len(columns[index].header), *cells])

    keep = list(range(len(columns)))
    droppable = sorted((i for i in keep if columns[i].drop), key=lambda i: columns[i].drop)
    while sum(needed(i) + _COLUMN_OVERHEAD for i in keep) + 1 > width and droppable:
        keep.remove(droppable.pop())
    return keep


# -- the project's tables ---------------------------------------------------------------


def print_metrics(console: Console, metrics: Mapping[str, Mapping[str, float]]) -> None:
    """Champion vs challenger metrics on the hold-out, with the difference."""
    from ccpolicy import greater_is_better
    from flows.cycle.evaluation import METRICS

    champion, challenger = metrics.get("champion", {}), metrics.get("challenger", {})
    rows = []
    for name in METRICS:
        if name not in champion or name not in challenger:
            continue
        delta = challenger[name] - champion[name]
        better = greater_is_better(name)
        style = "" if delta == 0 or delta != delta else "green" if (delta > 0) == better else "red"
        rows.append(
            [name, number(champion[name]), number(challenger[name]), (signed(delta), style)]
        )
    columns = [
        Column("metric"),
        Column("champion", justify="right"),
        Column("challenger", justify="right"),
        Column("delta", justify="right"),
    ]
    print_table(console, "Hold-out metrics", columns, rows)


def print_decision(console: Console, entry: LedgerEntry) -> None:
    """A recorded decision: outcome, reason, policy and the versions involved."""
    outcome = entry.outcome.value
    fields: list[tuple[str, Cell]] = [
        ("outcome", (outcome, OUTCOME_STYLE.get(outcome, ""))),
        ("reason", entry.reason),
    ]
    if entry.policy:
        fields.append(("policy", f"{entry.policy} ({params_text(entry.policy_params)})"))
    strength = EvidenceStrength.from_dict(entry.strength)
    if strength is not None:
        fields.append(("evidence", strength.summary()))
    fields += [
        ("champion", human(entry.champion_version)),
        ("challenger", human(entry.challenger_version)),
        ("live before", human(entry.live_before)),
        ("live after", human(entry.live_after)),
        ("ledger entry", NOTHING if entry.id is None else f"#{entry.id}"),
    ]
    style = OUTCOME_STYLE.get(outcome)
    print_fields(console, f"[{style}]{outcome.upper()}[/]" if style else outcome.upper(), fields)


def print_review(console: Console, result: ReviewResult) -> None:
    """A live review: what the look decided, on how many matured rows, and the path so far."""
    from rich.markdown import Markdown

    from flows.live.looks_chart import looks_chart

    outcome = result.outcome.value if result.outcome else "no look"
    if result.dry_run and result.outcome:
        outcome = f"{outcome} (dry run: nothing recorded)"
    test = result.candidate
    fields: list[tuple[str, Cell]] = [
        ("outcome", (outcome, OUTCOME_STYLE.get(outcome, ""))),
        ("reason", result.reason),
        ("candidate", f"{test.version} ({test.mode}, since period {test.since_period})"),
        ("champion", test.champion_version),
        ("matured rows", f"{result.rows:,} (periods up to {result.through_period})"),
        ("ledger entry", NOTHING if result.entry is None else f"#{result.entry.id}"),
    ]
    print_fields(console, f"LIVE REVIEW of {test.version}", fields)
    console.line()
    console.print(Markdown(looks_chart(result.looks)))


def print_status(console: Console, status: RegistryStatus) -> None:
    """The registry's pointers and whether they agree."""
    fields: list[tuple[str, Cell]] = [
        ("model", status.model_name),
        ("LIVE_VERSION", human(status.live_version)),
        ("CHAMPION alias", human(status.champion_alias)),
        ("default version", human(status.default_version)),
        ("CHALLENGER alias", human(status.challenger_alias)),
        ("CHALLENGER_VERSION", human(status.challenger_tag)),
        ("versions", str(status.n_versions)),
        ("consistent", ("yes", "green") if status.consistent else ("NO: pointers disagree", "red")),
    ]
    if status.last_entry:
        last = status.last_entry
        fields.append(
            ("last decision", f"#{last.id} {last.outcome.value} at {timestamp(last.recorded_at)}")
        )
    print_fields(console, f"Model {status.model_name}", fields)


def print_live_test(console: Console, live: LiveStatus) -> None:
    """The open live test: the candidate, how traffic reaches it, and its evidence so far."""
    test, summary = live.candidate, live.summary
    traffic = (
        f"split, {test.share:.0%} of ids" if test.mode == SPLIT else "shadow (scores every row)"
    )
    scored = ", ".join(f"{n:,} {arm}" for arm, n in summary.scored.items()) or "none yet"
    fields: list[tuple[str, Cell]] = [
        ("candidate", f"{test.version} against {test.champion_version}"),
        ("mode", traffic),
        ("rows scored", scored),
        ("outcomes", f"{summary.with_outcome:,}"),
        ("matured rows", f"{summary.matured:,} (periods up to {live.through_period})"),
        ("looks so far", str(live.looks)),
    ]
    print_fields(console, "Live test", fields)


def print_versions(console: Console, versions: Sequence[ModelVersion], *, live: str | None) -> None:
    """The model's versions, the live one marked."""
    rows = [
        [
            v.name,
            "●" if v.name == live else "",
            str(v.train_periods) if v.train_periods else NOTHING,
            str(v.row_count),
            number(v.metrics.get("test_auc")),
            timestamp(v.created_at),
        ]
        for v in versions
    ]
    columns = [
        Column("version"),
        Column("live"),
        Column("trained on"),
        Column("rows", justify="right", drop=1),
        Column("test AUC", justify="right"),
        Column("created (UTC)", drop=2),
    ]
    print_table(console, "Versions", columns, rows)


def print_ledger(console: Console, entries: Sequence[LedgerEntry]) -> None:
    """The ledger, oldest first."""
    rows = [
        [
            str(e.id),
            timestamp(e.recorded_at),
            (e.outcome.value, OUTCOME_STYLE.get(e.outcome.value, "")),
            human(e.live_after),
            human(e.policy),
            e.reason,
        ]
        for e in entries
    ]
    columns = [
        Column("#", justify="right"),
        Column("when (UTC)", drop=2),
        Column("outcome"),
        Column("live after"),
        Column("policy", drop=1),
        Column("reason", fold=True),
    ]
    print_table(console, "Ledger", columns, rows)
