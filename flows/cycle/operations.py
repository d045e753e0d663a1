"""Each operation's names across the orchestrators: step function, Prefect task, graph task, CLI.

An operation is one function of :mod:`flows.cycle.steps`; the weekly cycle's stages
(:mod:`flows.cycle.stages`) are operations of the same names. The Prefect flows wrap it in
a task, the Snowflake task graph runs it inside one of its tasks, and a ``ccflows``
command calls it; each of those names it in its own way (a Prefect task name is what
the UI shows, a graph task is named as the quickstart named it). This table is where
the names meet, so "which Prefect task, graph task and command run ``retrain_challenger``?"
has one answer; ``tests/flows/cycle/test_operations.py`` checks every name in it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Operation:
    """The names one operation goes by."""

    step: str
    """The function in :mod:`flows.cycle.steps`."""
    prefect_task: str | None
    """The Prefect task (in ``flows.orchestration.pipeline``) that runs it, if any."""
    graph_task: str | None
    """The Snowflake graph task (``deployments.graph_contract.STEPS``) that runs it, if any."""
    cli_command: str | None
    """The ``ccflows`` command that runs it, if any."""


OPERATIONS: Final[dict[str, Operation]] = {
    "generate": Operation("generate_data", None, None, "generate"),
    "check-files": Operation("check_files", None, None, "ingest"),
    "ingest": Operation("ingest", None, None, "ingest"),
    "setup": Operation("setup", None, None, "snowflake"),
    "check-policy": Operation("check_policy", "check-policy", "WEEKLY_RETRAINING", "run"),
    "check-policy-object": Operation("check_policy_object", None, None, None),
    "plan": Operation("plan_cycle", "plan", "WEEKLY_RETRAINING", "run"),
    "newest-period": Operation("data_span", "newest-week", None, None),
    "check-bootstrap": Operation("check_bootstrap", "plan", None, "train-champion"),
    "bootstrap": Operation("train_champion", "bootstrap-champion", None, "train-champion"),
    "retrain": Operation("retrain_challenger", "retrain", "WEEKLY_RETRAINING", "run"),
    "evaluate": Operation("evaluate", "evaluate", "AUTO_DEPLOY_BEST_MODEL", "run"),
    "decide": Operation("decide", "decide", "AUTO_DEPLOY_BEST_MODEL", "run"),
    "record-end": Operation("record_end", "record-end", "RECORD_OUTCOME", "run"),
    "record-failure": Operation("record_failure", None, None, None),
    "record-start": Operation("record_start", None, None, None),
    "unended-starts": Operation("unended_starts", None, None, None),
    "started-here": Operation("started_here", None, None, None),
    "run-entries": Operation("run_entries", None, "RECORD_OUTCOME", None),
    "committed-decision": Operation("committed_decision", None, "AUTO_DEPLOY_BEST_MODEL", None),
    "repair": Operation("repair", None, None, "snowflake"),
    "champion": Operation("champion", None, None, "run"),
    "score": Operation("score", "score-live", None, "score"),
    "score-file": Operation("score_file", "score-file", None, "score"),
    "score-table": Operation("score_to_table", "score-to-table", None, "score"),
    "status": Operation("status", "list-versions", None, "status"),
    "history": Operation("history", None, None, "history"),
    "live-at": Operation("live_at", None, None, "history"),
    "trend": Operation("trend", None, None, "report"),
    "rollback": Operation("rollback", "roll-back", None, "rollback"),
    "replay": Operation("replay", None, None, "replay"),
}
"""Every operation, by the name the docs use; see :class:`Operation` for the columns."""
