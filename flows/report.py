"""Plain-text renderings of a decision: the markdown report and the metric table rows.

Pure functions of the step results, so the Prefect artifacts, the CLI and the
tests share one rendering and none of them needs Prefect to check it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.promotion import PromotionReport
    from flows.registry.base import ModelVersion
    from flows.steps import ScoringResult


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.4f}"
    return str(value)


def decision_markdown(report: PromotionReport) -> str:
    """The decision report: verdict, reason, policy, the numbers, versions, windows, ledger entry."""
    entry, decision, evaluation = report.entry, report.decision, report.evaluation
    details = dict(decision.details)
    lines = [
        f"# Decision: {entry.outcome.value.upper()}",
        "",
        f"**Reason.** {entry.reason}",
        "",
        "| | |",
        "|---|---|",
        f"| Verdict of the policy | `{decision.verdict.value}` |",
        f"| Outcome | `{entry.outcome.value}` |",
        f"| Policy | `{decision.policy}` |",
        f"| Parameters | `{dict(decision.params)}` |",
    ]
    if "p_value" in details:
        lines.append(f"| p-value | {_fmt(details['p_value'])} |")
    if "ci_low" in details and "ci_high" in details:
        lines.append(
            f"| CI of the AUC difference | [{_fmt(details['ci_low'])}, {_fmt(details['ci_high'])}] |"
        )
    lines += [
        f"| Champion | `{evaluation.champion.name}` (trained on weeks "
        f"{_weeks(evaluation.champion)}) |",
        f"| Challenger | `{evaluation.challenger.name}` (trained on weeks "
        f"{_weeks(evaluation.challenger)}) |",
        f"| Live before → after | `{entry.live_before}` → `{entry.live_after}` |",
        f"| Hold-out | {evaluation.holdout_weeks}, {evaluation.n_rows} rows |",
        f"| Hold-out fingerprint | `{evaluation.holdout_fingerprint[:16]}…` |",
        f"| Ledger entry | #{entry.id} at {entry.recorded_at} by {entry.actor} |",
        "",
        "## Metrics on the hold-out",
        "",
        "| metric | champion | challenger | delta |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {row['metric']} | {_fmt(row['champion'])} | {_fmt(row['challenger'])} | "
        f"{_fmt(row['delta'])} |"
        for row in evaluation.metric_rows()
    ]
    return "\n".join(lines) + "\n"


def versions_markdown(versions: list[ModelVersion], *, live: str | None) -> str:
    """A summary of the model's versions, marking the live one."""
    lines = [
        "| version | live | trained on | rows | test AUC | created |",
        "|---|---|---|---|---|---|",
    ]
    for v in versions:
        lines.append(
            f"| `{v.name}` | {'✔' if v.name == live else ''} | weeks {_weeks(v)} | {v.row_count} | "
            f"{_fmt(v.metrics.get('test_auc', float('nan')))} | {v.created_at[:19]} |"
        )
    return "\n".join(lines) + "\n"


def scoring_markdown(result: ScoringResult) -> str:
    """What was scored, by which version."""
    probabilities = result.scores["approval_probability"]
    return (
        f"# Scored {result.n_rows} applications with `{result.version}`\n\n"
        f"Mean approval probability {probabilities.mean():.4f}; "
        f"{int((probabilities >= 0.5).sum())} above 0.5.\n"
    )


def _weeks(version: ModelVersion) -> str:
    if version.train_weeks is None:
        return "?"
    start, end = version.train_weeks
    return f"{start}–{end}"
