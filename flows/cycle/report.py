"""Plain-text renderings of a decision: the markdown report and the metric table rows.

Pure functions of the step results, so the Prefect artifacts, the CLI and the
tests share one rendering and none of them needs Prefect to check it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flows.cycle.strength import EvidenceStrength, format_p_value

if TYPE_CHECKING:
    from flows.cycle.promotion import PromotionReport
    from flows.cycle.steps import ScoringResult
    from flows.records import ModelVersion


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.4f}"
    return str(value)


def _signed(value: float) -> str:
    return "n/a" if value != value else f"{value:+.4f}"


def decision_markdown(report: PromotionReport) -> str:
    """The decision report: verdict, reason, policy, the evidence's strength, versions, ledger entry."""
    entry, decision, evaluation = report.entry, report.decision, report.evaluation
    strength = EvidenceStrength.from_dict(entry.strength)
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
        f"| Parameters | {parameters_text(decision.params)} |",
    ]
    if strength is not None:
        lines += [
            f"| AUC gain, challenger − champion | {_signed(strength.auc_gain)} |",
            f"| Paired DeLong test of no gain (two-sided) | {format_p_value(strength.p_value)} |",
            f"| 95 % interval of the gain | [{_signed(strength.ci_low)}, "
            f"{_signed(strength.ci_high)}] |",
            f"| Gain this hold-out detects (80 % power) | {_fmt(strength.min_detectable_gain)} |",
        ]
    lines += [
        f"| Champion | `{evaluation.champion.name}` (trained on "
        f"{_trained_on(evaluation.champion)}) |",
        f"| Challenger | `{evaluation.challenger.name}` (trained on "
        f"{_trained_on(evaluation.challenger)}) |",
        f"| Live before → after | `{entry.live_before}` → `{entry.live_after}` |",
        f"| Hold-out | {evaluation.holdout}, {evaluation.n_rows} rows |",
        f"| Hold-out fingerprint | `{evaluation.holdout_fingerprint[:16]}…` |",
        f"| Ledger entry | #{entry.id} at {_time(entry.recorded_at)} by {entry.actor} |",
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
    notes = _detectable_gain_note(
        strength, decision.verdict.value, evaluation.n_rows, evaluation.holdout.calendar.plural
    )
    return "\n".join(lines + notes) + "\n"


def _detectable_gain_note(
    strength: EvidenceStrength | None, verdict: str, n_rows: int, periods: str
) -> list[str]:
    """What the hold-out could see, so "inconclusive" reads as "no gain" or "too small to tell"."""
    if strength is None or not strength.defined:
        return []
    gain = strength.min_detectable_gain
    text = (
        f"A true AUC gain of {gain:+.4f} or more would be detected in 80 % of hold-outs like "
        f"this one ({n_rows} rows); the observed gain is {strength.auc_gain:+.4f}, and its "
        f"95 % interval [{strength.ci_low:+.4f}, {strength.ci_high:+.4f}] "
        + (
            "includes zero: it cannot be told from noise."
            if strength.within_noise
            else "excludes zero."
        )
    )
    if verdict == "inconclusive":
        text += (
            f" So this inconclusive verdict says: no gain of {gain:+.4f} or more is likely, and a "
            "smaller one, if there, cannot be told from noise on this hold-out (more hold-out "
            f"{periods} would show it)."
        )
    return ["", "## What the hold-out could see", "", text]


def parameters_text(params: Mapping[str, Any]) -> str:
    """``margin=0.01, alpha=0.05, max_metric_drop=(none)``: parameters as a person writes them."""
    if not params:
        return "(defaults)"
    return ", ".join(f"{key}={_param(value)}" for key, value in params.items())


def _param(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"({parameters_text(value)})" if value else "(none)"
    return f"{value:g}" if isinstance(value, float) else str(value)


def versions_markdown(versions: list[ModelVersion], *, live: str | None) -> str:
    """A summary of the model's versions, marking the live one."""
    lines = [
        "| version | live | trained on | rows | test AUC | created |",
        "|---|---|---|---|---|---|",
    ]
    for v in versions:
        lines.append(
            f"| `{v.name}` | {'✔' if v.name == live else ''} | {_trained_on(v)} | {v.row_count} | "
            f"{_fmt(v.metrics.get('test_auc', float('nan')))} | {v.created_at[:19]} |"
        )
    return "\n".join(lines) + "\n"


def scoring_markdown(result: ScoringResult) -> str:
    """What was scored, by which version."""
    contract = result.contract
    probabilities = result.scores[contract.score_column]
    return (
        f"# Scored {result.n_rows} {contract.row_noun} with `{result.version}`\n\n"
        f"Mean {contract.score_description} {probabilities.mean():.4f} "
        f"(column `{contract.score_column}`); {int((probabilities >= 0.5).sum())} above 0.5.\n"
    )


def live_logging_markdown(
    version: str, rows: int, logged: Mapping[str, int] | int, *, into: str
) -> str:
    """What scoring under a live test did: the rows scored, and how many went to the score log.

    ``logged`` is the rows per arm (file scoring) or their total (warehouse scoring,
    where the arms are counted in SQL and only the total comes back).
    """
    if isinstance(logged, int):
        total, arms = logged, ""
    else:
        total = sum(logged.values())
        arms = " (" + ", ".join(f"{n:,} {arm}" for arm, n in logged.items()) + ")"
    return (
        f"# Scored {rows:,} rows with `{version}` into {into}\n\n"
        f"Live test: {total:,} row(s) logged in the score log{arms}.\n"
    )


def _time(iso: str) -> str:
    """``2026-11-27 13:55:26 UTC`` from the ledger's UTC ISO time: no microseconds for readers."""
    return f"{iso[:19].replace('T', ' ')} UTC"


def _trained_on(version: ModelVersion) -> str:
    """Its training periods in its contract's unit, "weeks 0–9", or "?" if unknown."""
    return str(version.train_periods or "?")
