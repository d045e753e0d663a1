"""Rich renderings shared by the commands: metric tables, decisions, versions, the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from flows.registry.base import LedgerEntry, ModelVersion, RegistryStatus

_OUTCOME_STYLE = {
    "promoted": "bold green",
    "bootstrapped": "green",
    "rolled-back": "yellow",
    "kept": "cyan",
    "inconclusive": "magenta",
    "dry-run": "blue",
    "stale-champion": "yellow",
    "failed": "red",
}


def _num(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.4f}"
    return "" if value is None else str(value)


def metric_table(metrics: dict[str, dict[str, float]]) -> RenderableType:
    """Champion vs challenger metrics, with the difference."""
    from rich.table import Table

    from ccpolicy import greater_is_better
    from flows.evaluation import METRICS

    table = Table(title="Hold-out metrics", title_justify="left")
    table.add_column("metric")
    table.add_column("champion", justify="right")
    table.add_column("challenger", justify="right")
    table.add_column("delta", justify="right")
    champion, challenger = metrics.get("champion", {}), metrics.get("challenger", {})
    for name in METRICS:
        if name not in champion:
            continue
        delta = challenger[name] - champion[name]
        good = (delta > 0) == greater_is_better(name) and delta != 0
        style = "green" if good else "red" if delta != 0 else ""
        table.add_row(
            name, _num(champion[name]), _num(challenger[name]), f"[{style}]{delta:+.4f}[/]"
        )
    return table


def decision_panel(entry: LedgerEntry) -> RenderableType:
    """The recorded decision: outcome, reason and the versions involved."""
    from rich.panel import Panel

    style = _OUTCOME_STYLE.get(entry.outcome.value, "")
    body = (
        f"{entry.reason}\n\n"
        f"policy: {entry.policy} {dict(entry.policy_params)}\n"
        f"champion: {entry.champion_version}   challenger: {entry.challenger_version}\n"
        f"live: {entry.live_before} → {entry.live_after}   ledger entry #{entry.id}"
    )
    return Panel(body, title=f"[{style}]{entry.outcome.value.upper()}[/]", title_align="left")


def versions_table(versions: list[ModelVersion], *, live: str | None) -> RenderableType:
    """The model's versions, the live one marked."""
    from rich.table import Table

    table = Table(title="Versions", title_justify="left")
    for column in ("version", "live", "trained on", "rows", "test AUC", "created"):
        table.add_column(column)
    for v in versions:
        weeks = f"weeks {v.train_weeks[0]}–{v.train_weeks[1]}" if v.train_weeks else ""
        table.add_row(
            v.name,
            "●" if v.name == live else "",
            weeks,
            str(v.row_count),
            _num(v.metrics.get("test_auc")),
            v.created_at[:19],
        )
    return table


def status_table(status: RegistryStatus) -> RenderableType:
    """Pointers of the registry and whether they agree."""
    from rich.table import Table

    table = Table(show_header=False, title=f"Model {status.model_name}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("LIVE_VERSION", str(status.live_version))
    table.add_row("CHAMPION alias", str(status.champion_alias))
    table.add_row("default version", str(status.default_version))
    table.add_row("CHALLENGER alias", str(status.challenger_alias))
    table.add_row("CHALLENGER_VERSION", str(status.challenger_tag))
    table.add_row("versions", str(status.n_versions))
    table.add_row(
        "consistent", "[green]yes[/]" if status.consistent else "[red]NO: pointers disagree[/]"
    )
    if status.last_entry:
        last = status.last_entry
        table.add_row(
            "last decision", f"#{last.id} {last.outcome.value} at {last.recorded_at[:19]}"
        )
    return table


def ledger_table(entries: list[LedgerEntry]) -> RenderableType:
    """The ledger, oldest first."""
    from rich.table import Table

    table = Table(title="Ledger", title_justify="left")
    for column in ("#", "when (UTC)", "outcome", "live before → after", "policy", "reason"):
        table.add_column(column, overflow="fold")
    for e in entries:
        style = _OUTCOME_STYLE.get(e.outcome.value, "")
        table.add_row(
            str(e.id),
            e.recorded_at[:19],
            f"[{style}]{e.outcome.value}[/]",
            f"{e.live_before} → {e.live_after}",
            e.policy or "",
            e.reason,
        )
    return table
