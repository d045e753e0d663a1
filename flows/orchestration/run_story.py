"""What a run tells the Prefect UI: its name, its final state, its artifacts and its events.

The weekly run ends in a Completed state named after its outcome (``Promoted``,
``Kept``, ``Inconclusive``, ``Dry run``, ``Stale champion``, in live mode
``Candidate``) with the decision's reason as the message, so the runs list tells the
story without opening anything.
Every decision is also a Prefect event, ``champion-challenger.decision.<outcome>``,
about the model, for automations to act on.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.states import Completed

from flows.names import DEFAULT_MODEL_NAME
from flows.orchestration.run_logging import final_run_names
from flows.records import Outcome

if TYPE_CHECKING:
    from prefect.states import State

    from flows.config import Settings
    from flows.cycle.evaluation import Evaluation
    from flows.cycle.promotion import PromotionReport
    from flows.records import LedgerEntry

OUTCOME_STATE_NAMES: dict[Outcome, str] = {
    Outcome.PROMOTED: "Promoted",
    Outcome.KEPT: "Kept",
    Outcome.INCONCLUSIVE: "Inconclusive",
    Outcome.DRY_RUN: "Dry run",
    Outcome.STALE_CHAMPION: "Stale champion",
    Outcome.CANDIDATE: "Candidate",
}
"""Name of the Completed state a weekly run ends in, by the decision's outcome.

The zombie automation (``deployments/automations/crash-zombie-runs.yaml``) expects
each of these names: a name missing there would get a finished run marked Crashed.
"""
DECISION_EVENT_PREFIX = "champion-challenger.decision."
"""Each decision emits ``<prefix><outcome>``, e.g. ``champion-challenger.decision.promoted``."""
TABLE_DECIMALS = 4
"""The metric table artifact's rounding; the ledger keeps the raw values."""


def artifact_key(model_name: str, what: str) -> str:
    """Stable artifact key of ``model_name``: lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{model_name.lower()}-{what}")


# -- names ------------------------------------------------------------------------------


def name_run(settings: Settings, *, data_period: int, suffix: str = "") -> str:
    """Rename the current run ``<model>-<unit>-<newest period>[-suffix]`` once that is known.

    The unit is the contract's: ``credit_approval-week-19``, ``churn-month-113``.
    """
    unit = settings.contract.period
    name = f"{settings.model_name.lower()}-{unit}-{data_period}" + (f"-{suffix}" if suffix else "")
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        context.client.set_flow_run_name(flow_run_id=context.flow_run.id, name=name)
        context.flow_run.name = name
        final_run_names[str(context.flow_run.id)] = name  # the engine's lines take it
    return name


# -- the final state and the event --------------------------------------------------------


def decision_state(report: PromotionReport) -> State:
    """The Completed state named after the outcome, the reason as its message, the entry as data."""
    entry = report.entry
    return Completed(
        name=OUTCOME_STATE_NAMES.get(entry.outcome, "Completed"),
        message=entry.reason,
        data=entry.to_dict(),
    )


def model_resource(settings: Settings) -> dict[str, str]:
    """The Prefect resource every event of this package is about: the model."""
    return {
        "prefect.resource.id": f"champion-challenger.model.{settings.model_name}",
        "prefect.resource.name": settings.model_name,
    }


def emit_decision_event(settings: Settings, report: PromotionReport) -> None:
    """``champion-challenger.decision.<outcome>`` about the model, with the numbers behind it."""
    entry = report.entry
    p_value = report.decision.details.get("p_value")
    emit_event(
        event=f"{DECISION_EVENT_PREFIX}{entry.outcome.value}",
        resource=model_resource(settings),
        payload={
            "outcome": entry.outcome.value,
            "verdict": report.decision.verdict.value,
            "champion_version": entry.champion_version,
            "challenger_version": entry.challenger_version,
            "live_after": entry.live_after,
            "p_value": None if p_value is None or math.isnan(p_value) else float(p_value),
            "reason": entry.reason,
            "ledger_entry": entry.id,
            "run_id": entry.run_id,
        },
    )


# -- artifacts ----------------------------------------------------------------------------


def _rounded(value: Any) -> Any:
    return round(value, TABLE_DECIMALS) if isinstance(value, float) else value


def publish_metric_table(settings: Settings, evaluation: Evaluation) -> None:
    """Champion vs challenger metrics on the hold-out, rounded for reading."""
    rows = [{k: _rounded(v) for k, v in row.items()} for row in evaluation.metric_rows()]
    create_table_artifact(
        rows,
        key=artifact_key(settings.model_name, "metrics"),
        description=(
            f"Champion {evaluation.champion.name} vs challenger {evaluation.challenger.name} "
            f"on {evaluation.holdout}"
        ),
    )


def publish_decision_report(settings: Settings, report: PromotionReport) -> None:
    """The markdown decision report, described by its outcome (and the verdict if it differs)."""
    from flows.cycle.report import decision_markdown

    outcome, verdict = report.entry.outcome.value, report.decision.verdict.value
    create_markdown_artifact(
        f"{decision_markdown(report)}\n\n{provenance_markdown(report.entry)}",
        key=artifact_key(settings.model_name, "decision"),
        description=outcome if outcome == verdict else f"{outcome} (verdict: {verdict})",
    )


def provenance_markdown(entry: LedgerEntry) -> str:
    """Which code decided: the package and deployment versions, the flow run and its attempt."""
    rows = [
        ("package version", entry.package_version),
        ("deployment version", entry.deployment_version),
        ("flow run", entry.run_id),
        ("attempt (run count)", entry.run_count),
    ]
    lines = ["## Provenance", "", "| | |", "|---|---|"]
    lines += [f"| {name} | `{value if value is not None else '—'}` |" for name, value in rows]
    return "\n".join(lines)


def publish_failure_report(model_name: str | None, error: str, entry: LedgerEntry | None) -> None:
    """A short report of a failed cycle: the error, and the ledger entry that records it.

    ``model_name`` is None when the run failed before its settings resolved.
    """
    model = model_name or DEFAULT_MODEL_NAME
    lines = [f"# {model}: the cycle failed", "", f"**Error:** {error}", ""]
    if entry is not None:
        lines += [
            f"Ledger entry #{entry.id} records it (live: `{entry.champion_version}`): {entry.reason}"
        ]
    else:
        lines += ["No ledger entry records it here: see the run's logs."]
    create_markdown_artifact(
        "\n".join(lines),
        key=artifact_key(model, "decision"),
        description=f"failed: {error}",
    )
