"""The Prefect flows: ``train-champion``, ``champion-challenger`` (weekly), ``score``, ``rollback``.

Each flow opens its backend once (on Snowflake, one session) and closes it at the
end; each task is one call into ``flows.cycle.steps`` on that backend. The weekly flow
plans its cycle once, in ``check-data``, and hands the plan to every later task, so
the hold-out cannot move while the run is under way. Flows only wire tasks, name
runs, log what happens and publish artifacts.

Operational rules, the same for every flow:

- Training and promotion are never retried (a retry could train twice or switch
  twice). Reads, evaluation and scoring are retried with backoff, but only on
  failures a retry can cure (a dropped connection, a busy registry, Snowflake's
  transient errors; ``flows.orchestration.retries``): bad data, a bad parameter, a missing file
  or a timeout fails at once, with the message that names it.
- Every task has a timeout, and the weekly flow one too. A timeout is final: the
  run ends Failed (``TimedOut``) and frees the registry queue's single slot.
- No task result is cached or persisted (``NO_CACHE``): a retrain must train.
- Every end of a weekly run is in the ledger with the run id (``flows.orchestration.run_ends``):
  a failure before the decision is recorded by the flow, a timeout, cancellation or
  crash by its hooks, and a run killed with its worker by the next cycle. The
  decision step records its own outcome, including a switch the registry refused.
- The run's final state, artifacts and events tell the story (``flows.orchestration.run_story``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.settings import get_current_settings
from prefect.states import Failed
from pydantic import BaseModel, Field

from flows.backends import Backend, open_backend
from flows.config import Settings, load_settings
from flows.cycle import steps
from flows.cycle.evaluation import Evaluation
from flows.cycle.promotion import PromotionReport
from flows.cycle.report import scoring_markdown, versions_markdown
from flows.cycle.trend_render import publish_trend
from flows.data.periods import PeriodRange, WindowSpec
from flows.data.plan import CyclePlan, Role
from flows.errors import AlreadyLiveError, ConfigError
from flows.names import DEFAULT_MODEL_NAME
from flows.orchestration.retries import IO_TASK_OPTIONS
from flows.orchestration.run_ends import reconcile_ended_runs, record_run_end
from flows.orchestration.run_story import (
    artifact_key,
    decision_state,
    emit_decision_event,
    name_run,
    one_line,
    publish_decision_report,
    publish_failure_report,
    publish_metric_table,
)
from flows.records import LedgerEntry, ModelVersion

IO_TIMEOUT_SECONDS = 600
"""Timeout of a read or a ledger write."""
STEP_TIMEOUT_SECONDS = 3600
"""Timeout of a training, evaluation or scoring step."""
CYCLE_TIMEOUT_SECONDS = 3 * STEP_TIMEOUT_SECONDS
"""Timeout of a whole weekly cycle; it frees the registry queue's slot."""
WEEKLY_FLOW = "champion-challenger"
"""The weekly flow's name; the next cycle reconciles the unrecorded ends of its runs."""


class WindowParams(BaseModel):
    """Window sizes in weeks (the quickstart's by default)."""

    train_weeks: int = Field(10, ge=1, description="Weeks the challenger is trained on.")
    test_weeks: int = Field(3, ge=1, description="Weeks its own test AUC is measured on.")
    holdout_weeks: int = Field(4, ge=1, description="Newest weeks both models are judged on.")


def _settings(
    backend: str | None, model_name: str | None, home: str | None, windows: WindowParams | None
) -> Settings:
    return load_settings(
        home=home,
        backend=backend,
        model_name=model_name,
        windows=WindowSpec(**windows.model_dump()) if windows else None,
    )


def _run_id() -> str | None:
    return flow_run.get_id()


# -- tasks ------------------------------------------------------------------------------


@task(name="reconcile-ended-runs", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def reconcile_ended(backend: Backend, settings: Settings) -> int:
    """Record earlier runs that ended unrecorded (killed with their worker); how many.

    The one task that calls past ``flows.cycle.steps``: it reads Prefect's own run history.
    """
    entries = reconcile_ended_runs(
        backend, settings, flow_name=WEEKLY_FLOW, current_run_id=_run_id()
    )
    for entry in entries:
        get_run_logger().warning("Recorded run %s late: %s", entry.run_id, entry.reason)
    return len(entries)


@task(name="check-policy", cache_policy=NO_CACHE, retries=0, timeout_seconds=60)
def check_policy(name: str, params: dict[str, Any]) -> Any:
    """Load and validate the policy before any training."""
    chosen = steps.check_policy(name, params)
    get_run_logger().info("Policy %s with parameters %s", name, params or "(defaults)")
    return chosen


@task(name="check-data", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def check_data(backend: Backend, settings: Settings, role: Role = "challenger") -> CyclePlan:
    """The run's plan: the data span and the windows (fails early on too little data)."""
    return steps.plan_cycle(backend, settings, role=role)


@task(name="retrain", cache_policy=NO_CACHE, retries=0, timeout_seconds=STEP_TIMEOUT_SECONDS)
def retrain(
    backend: Backend, settings: Settings, plan: CyclePlan, dry_run: bool = False
) -> steps.RetrainResult:
    """Train the challenger on the plan's windows and log it as CHALLENGER (not in a dry run)."""
    result = steps.retrain_challenger(backend, settings, plan, dry_run=dry_run)
    verb = "Reused" if result.reused else "Trained"
    get_run_logger().info(
        "%s challenger %s on %s (test AUC %.4f)",
        verb,
        result.version.name,
        result.windows.train,
        result.version.metrics.get("test_auc", float("nan")),
    )
    return result


@task(name="evaluate", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def evaluate(backend: Backend, plan: CyclePlan, challenger: steps.RetrainResult) -> Evaluation:
    """Score champion and challenger on the plan's hold-out rows."""
    evaluation = steps.evaluate(backend, plan, challenger=challenger)
    get_run_logger().info(
        "Hold-out %s (%d rows): champion %s AUC %.4f, challenger %s AUC %.4f",
        evaluation.holdout_weeks,
        evaluation.n_rows,
        evaluation.champion.name,
        evaluation.champion_metrics["roc_auc"],
        evaluation.challenger.name,
        evaluation.challenger_metrics["roc_auc"],
    )
    return evaluation


@task(name="promote", cache_policy=NO_CACHE, retries=0, timeout_seconds=IO_TIMEOUT_SECONDS)
def promote(
    backend: Backend, evaluation: Evaluation, policy: Any, plan: CyclePlan, dry_run: bool
) -> PromotionReport:
    """Let the policy decide; promote as a compare-and-set or keep; record it in the ledger."""
    # steps.decide logs the decision once, here and in a stored procedure alike.
    return steps.decide(backend, evaluation, policy, plan=plan, dry_run=dry_run, run_id=_run_id())


@task(name="record-failure", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def record_failure(backend: Backend, error: str, plan: CyclePlan | None) -> LedgerEntry:
    """Record in the ledger that the cycle failed before deciding."""
    return steps.record_failure(backend, error=error, plan=plan, run_id=_run_id())


@task(
    name="bootstrap-champion",
    cache_policy=NO_CACHE,
    retries=0,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
)
def bootstrap_champion(
    backend: Backend, settings: Settings, plan: CyclePlan, replace: bool
) -> ModelVersion:
    """Train the champion on the bootstrap plan and make it live."""
    version = steps.train_champion(backend, settings, plan, replace=replace, run_id=_run_id())
    get_run_logger().info(
        "Champion %s is live (trained on weeks %s, test AUC %.4f)",
        version.name,
        version.train_weeks,
        version.metrics.get("test_auc", float("nan")),
    )
    return version


@task(name="newest-week", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def newest_period(backend: Backend) -> int:
    """The newest week stored, scored by default (fails early on an empty table)."""
    return steps.data_span(backend)[1]


@task(name="score-live", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_live(backend: Backend, weeks: PeriodRange) -> steps.ScoringResult:
    """Score with the version LIVE_VERSION names."""
    return steps.score(backend, weeks=weeks)


@task(name="score-file", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_file_live(backend: Backend, input_file: str, out_file: str) -> steps.FileScoringResult:
    """Stream a file through the version LIVE_VERSION names, batch by batch."""
    return steps.score_file(backend, Path(input_file), Path(out_file))


@task(name="list-versions", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def list_versions(backend: Backend) -> steps.Status:
    """Every version and the live one, for the versions artifact."""
    return steps.status(backend)


# -- artifacts --------------------------------------------------------------------------


def publish_versions(backend: Backend, settings: Settings) -> None:
    """A summary of the model's versions."""
    status = list_versions(backend)
    live = status.pointers.live_version
    create_markdown_artifact(
        versions_markdown(status.versions, live=live),
        key=artifact_key(settings, "versions"),
        description=f"Versions of {settings.model_name}; live: {live}",
    )


# -- run names --------------------------------------------------------------------------


def _provisional_name(kind: str) -> str:
    """The name a run starts with, from its parameters: ``<model>-<kind>``."""
    model = flow_run.parameters.get("model_name") or DEFAULT_MODEL_NAME
    return f"{str(model).lower()}-{kind}"


def _attach_step_loggers() -> None:
    """Let the step modules' INFO lines reach the run's logs.

    ``PREFECT_LOGGING_EXTRA_LOGGERS`` (``flows,ccpolicy`` in the deployments) gives those
    loggers Prefect's API handler but leaves their level unset, so the root logger's
    WARNING level would still drop their INFO lines.
    """
    current = get_current_settings().logging
    for name in current.extra_loggers or []:
        step_logger = logging.getLogger(name)
        if step_logger.level == logging.NOTSET:
            step_logger.setLevel(current.level)


# -- flows ------------------------------------------------------------------------------


@flow(
    name=WEEKLY_FLOW,
    flow_run_name=lambda: _provisional_name("weekly"),
    timeout_seconds=CYCLE_TIMEOUT_SECONDS,
    on_failure=[record_run_end],
    on_cancellation=[record_run_end],
    on_crashed=[record_run_end],
)
def champion_challenger(
    policy: str = "significance_margin",
    policy_params: dict[str, Any] | None = None,
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    windows: WindowParams | None = None,
    dry_run: bool = False,
) -> Any:
    """One weekly cycle: retrain → evaluate both on the same hold-out → decide → promote or keep.

    Args:
        policy: Name of an installed ``ccpolicy.policies`` entry point.
        policy_params: Keyword parameters for the policy.
        backend: ``local`` (embedded) or ``snowflake``; defaults to the configuration's.
        model_name: Registered model; defaults to the configuration's.
        home: Home directory of the embedded backend; defaults to ``CC_HOME``.
        windows: Window sizes in weeks.
        dry_run: Evaluate and decide without acting (the decision is still recorded).

    Returns:
        A Completed state named after the outcome (``Promoted``, ``Kept``, …) whose
        result is the ledger entry of the decision, as a dict; or, when the cycle
        fails before deciding, a Failed state whose message is the one-line error,
        after a ``failed`` ledger entry and a failure report were recorded.

    Raises:
        TimeoutError: when a task or the cycle timed out (the run ends ``TimedOut``).
    """
    _attach_step_loggers()
    logger = get_run_logger()
    settings = _settings(backend, model_name, home, windows)
    logger.info("Weekly cycle of %s (%s backend)", settings.model_name, settings.backend)
    with open_backend(settings) as opened:
        reconciled = reconcile_ended(opened, settings, return_state=True)
        if reconciled.is_failed():
            logger.warning("Could not reconcile earlier runs: %s", reconciled.message)
        plan = None
        try:
            checked = check_policy(policy, policy_params or {}, return_state=True)
            chosen = checked.result()
            plan = check_data(opened, settings, wait_for=[checked])
            name = name_run(settings, data_week=plan.data_week, suffix="dry-run" if dry_run else "")
            logger.info(
                "Data holds weeks %d–%d; this run is %s", plan.first_week, plan.data_week, name
            )
            retrained = retrain(opened, settings, plan, dry_run)
            evaluation = evaluate(opened, plan, retrained)
            publish_metric_table(settings, evaluation)
        except Exception as exc:
            error = one_line(exc)
            logger.error(
                "Weekly cycle failed before a decision; the champion is untouched. %s",
                error,
                exc_info=True,  # the traceback stays in the run's logs on the server
            )
            recorded = record_failure(opened, error, plan, return_state=True)
            if recorded.is_failed():
                logger.warning("Could not record the failure in the ledger: %s", recorded.message)
            publish_failure_report(
                settings, error, None if recorded.is_failed() else recorded.result()
            )
            if isinstance(exc, TimeoutError):
                raise  # Prefect ends the run TimedOut
            return Failed(message=error, data=exc)
        # The decision step records its own outcome, a refused switch included.
        report = promote(opened, evaluation, chosen, plan, dry_run)
        emit_decision_event(settings, report)
        publish_decision_report(settings, report)
        publish_versions(opened, settings)
        publish_trend(settings, opened.registry)
    logger.info("Published the metric table, the decision report, the versions and the trend")
    return decision_state(report)


@flow(name="train-champion", flow_run_name=lambda: _provisional_name("bootstrap"))
def train_champion(
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    windows: WindowParams | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Train the first champion and make it CHAMPION, LIVE_VERSION and the default version."""
    _attach_step_loggers()
    settings = _settings(backend, model_name, home, windows)
    with open_backend(settings) as opened:
        plan = check_data(opened, settings, role="champion")
        name_run(settings, data_week=plan.data_week, suffix="bootstrap")
        version = bootstrap_champion(opened, settings, plan, replace)
        publish_versions(opened, settings)
    return version.to_dict()


@flow(name="score", flow_run_name=lambda: _provisional_name("score"))
def score(
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    first_week: int | None = None,
    last_week: int | None = None,
    input_file: str | None = None,
    out_file: str | None = None,
) -> dict[str, Any]:
    """Batch inference with the version that LIVE_VERSION names (default: the newest week).

    ``input_file`` (CSV or Parquet, or a folder) is scored instead of stored weeks,
    streamed in row batches, into ``out_file``.
    """
    _attach_step_loggers()
    settings = _settings(backend, model_name, home, None)
    if input_file is not None:
        if not out_file:
            raise ConfigError("input_file needs out_file: where to write the scores.")
        with open_backend(settings) as opened:
            scored = score_file_live(opened, input_file, out_file)
        get_run_logger().info(
            "Scored %d rows of %s with %s into %s",
            scored.n_rows,
            input_file,
            scored.version,
            out_file,
        )
        return {"version": scored.version, "rows": scored.n_rows, "out_file": out_file}
    with open_backend(settings) as opened:
        newest = newest_period(opened)
        name_run(settings, data_week=newest, suffix="score")
        weeks = PeriodRange(newest, newest)
        if first_week is not None:
            weeks = PeriodRange(first_week, last_week if last_week is not None else first_week)
        result = score_live(opened, weeks)
    get_run_logger().info("Scored %d rows with live version %s", result.n_rows, result.version)
    create_markdown_artifact(
        scoring_markdown(result),
        key=artifact_key(settings, "scoring"),
        description=f"Scored by {result.version}",
    )
    return {"version": result.version, "rows": result.n_rows}


# -- rollback -----------------------------------------------------------------------------


@task(name="roll-back", cache_policy=NO_CACHE, retries=0, timeout_seconds=IO_TIMEOUT_SECONDS)
def roll_back(
    backend: Backend, to_version: str | None, if_live: str | None, reason: str
) -> dict[str, Any]:
    """Make the previous champion (or ``to_version``) live again, as a compare-and-set."""
    # steps.rollback logs the decision once, here and in a stored procedure alike.
    try:
        entry = steps.rollback(
            backend, to_version=to_version, if_live=if_live, reason=reason, run_id=_run_id()
        )
    except AlreadyLiveError as already:
        get_run_logger().info("%s", already)
        return {"already_live": already.version, "recorded": False}
    return entry.to_dict()


@flow(name="rollback")
def rollback(
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    to_version: str | None = None,
    if_live: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Make the previous champion (or ``to_version``) live again, recorded with this run.

    Args:
        backend: ``local`` (embedded) or ``snowflake``; defaults to the configuration's.
        model_name: Registered model; defaults to the configuration's.
        home: Home directory of the embedded backend; defaults to ``CC_HOME``.
        to_version: The version to make live; defaults to the champion the live one replaced.
        if_live: Roll back only if this version is still live; defaults to the one live now.
        reason: Why, recorded in the ledger.

    Returns:
        The ledger entry: ``rolled-back``, or ``stale-champion`` if ``if_live`` is not the
        live version; ``{"already_live": ..., "recorded": False}`` if the target is live.
    """
    _attach_step_loggers()
    settings = _settings(backend, model_name, home, None)
    with open_backend(settings) as opened:
        entry = roll_back(opened, to_version, if_live, reason)
        publish_versions(opened, settings)
    return entry
