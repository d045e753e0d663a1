"""The Prefect flows: ``champion-challenger`` (weekly), ``train-champion``, ``score``, ``rollback``.

The weekly flow runs the cycle of :mod:`flows.cycle.stages` (check-policy → plan →
retrain → evaluate → decide), each stage as a task of the same name; the task graph
in Snowflake runs the very same stages. The other flows call :mod:`flows.cycle.steps`
one task per step. Each flow opens its backend once (on Snowflake, one session) and
closes it at the end. Flows only wire tasks, name runs, log what happens and publish
artifacts.

Operational rules, the same for every flow:

- Training and promotion are never retried (a retry could train twice or switch
  twice). Reads, evaluation and scoring are retried with backoff, but only on
  failures a retry can cure (a dropped connection, a busy registry, Snowflake's
  transient errors; ``flows.orchestration.retries``): bad data, a bad parameter, a
  missing file or a timeout fails at once, with the message that names it.
- Every task has a timeout, and the weekly flow one too. A timeout is final: the
  run ends Failed (``TimedOut``) and frees the registry queue's single slot.
- No task result is cached or persisted (``NO_CACHE``): a retrain must train.
- Every end of a weekly run is in the ledger with the run id, once: the cycle
  records its own failures, the end hooks (``flows.orchestration.run_ends``) a timeout,
  cancellation or crash, and the next cycle a run killed with its worker, each
  under the one rule "unless this run has an entry already".
- A run that fails before it can reach a ledger (a bad setting, a backend that will
  not open) still ends Failed with its reason and a failure report.
- The run's final state, artifacts and events tell the story (``flows.orchestration.run_story``).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.settings import get_current_settings
from prefect.states import Failed, State

from flows.backends import Backend, BackendName, open_backend
from flows.config import Settings, load_settings
from flows.cycle import stages, steps
from flows.cycle.evaluation import Evaluation
from flows.cycle.promotion import PromotionReport
from flows.cycle.report import scoring_markdown, versions_markdown
from flows.cycle.stages import ChallengerRef, Cycle, CycleParameters, StageCall
from flows.cycle.trend_render import publish_trend
from flows.data.periods import PeriodRange, WindowSpec
from flows.data.plan import CyclePlan
from flows.errors import AlreadyLiveError, ConfigError, one_line
from flows.names import DEFAULT_MODEL_NAME
from flows.orchestration.retries import IO_TASK_OPTIONS
from flows.orchestration.run_ends import reconcile_ended_runs, record_run_end
from flows.orchestration.run_story import (
    artifact_key,
    decision_state,
    emit_decision_event,
    name_run,
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


def _settings(
    backend: str | None,
    model_name: str | None,
    home: str | None,
    config: str | None,
    windows: WindowSpec | None = None,
) -> Settings:
    """The run's settings, resolved as the CLI and the end hooks resolve them."""
    return load_settings(
        home=home, backend=backend, model_name=model_name, config=config, windows=windows
    )


def _run_id() -> str | None:
    return flow_run.get_id()


# -- the weekly cycle's stages as tasks ---------------------------------------------------


@task(name="reconcile-ended-runs", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def reconcile_ended(backend: Backend, settings: Settings) -> int:
    """Record earlier runs that ended unrecorded (killed with their worker); how many.

    The one task that calls past ``flows.cycle``: it reads Prefect's own run history.
    """
    entries = reconcile_ended_runs(
        backend, settings, flow_name=WEEKLY_FLOW, current_run_id=_run_id()
    )
    for entry in entries:
        get_run_logger().warning("Recorded run %s late: %s", entry.run_id, entry.reason)
    return len(entries)


@task(name=stages.CHECK_POLICY, cache_policy=NO_CACHE, retries=0, timeout_seconds=60)
def check_policy(cycle: Cycle) -> Any:
    """Load and validate the policy before any training."""
    chosen = cycle.check_policy()
    parameters = cycle.parameters
    get_run_logger().info(
        "Policy %s with parameters %s", parameters.policy, parameters.policy_params or "(defaults)"
    )
    return chosen


@task(name=stages.PLAN, timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def plan_cycle(cycle: Cycle) -> CyclePlan:
    """The run's plan: the data span and the windows (fails early on too little data)."""
    plan = cycle.plan()
    suffix = "dry-run" if cycle.parameters.dry_run else ""
    name = name_run(cycle.settings, data_period=plan.data_period, suffix=suffix)
    span = plan.calendar.range(plan.first_period, plan.data_period)
    get_run_logger().info("Data holds %s; this run is %s", span, name)
    return plan


@task(name=stages.RETRAIN, cache_policy=NO_CACHE, retries=0, timeout_seconds=STEP_TIMEOUT_SECONDS)
def retrain(cycle: Cycle, plan: CyclePlan) -> ChallengerRef:
    """Train the challenger on the plan's windows and log it as CHALLENGER (not in a dry run)."""
    return cycle.retrain(plan)


@task(name=stages.EVALUATE, timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def evaluate(cycle: Cycle, plan: CyclePlan, challenger: ChallengerRef) -> Evaluation:
    """Score champion and challenger on the plan's hold-out rows; publish the metric table."""
    evaluation = cycle.evaluate(plan, challenger)
    publish_metric_table(cycle.settings, evaluation)
    return evaluation


@task(name=stages.DECIDE, cache_policy=NO_CACHE, retries=0, timeout_seconds=IO_TIMEOUT_SECONDS)
def decide(cycle: Cycle, evaluation: Evaluation, policy: Any, plan: CyclePlan) -> PromotionReport:
    """Let the policy decide; promote as a compare-and-set or keep; record it in the ledger."""
    # steps.decide logs the decision once, here and in a stored procedure alike.
    return cycle.decide(evaluation, policy, plan)


@task(name=stages.RECORD_END, timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def record_end(cycle: Cycle, error: str, plan: CyclePlan | None) -> LedgerEntry | None:
    """Record in the ledger that the cycle failed, unless this run has an entry already."""
    return cycle.record_end(error, plan)


def _stage_tasks() -> dict[str, Task]:
    """Each stage of :mod:`flows.cycle.stages` and the task that runs it (same names).

    Looked up when a run starts, so the run uses the tasks as they are configured then.
    """
    return {
        stages.CHECK_POLICY: check_policy,
        stages.PLAN: plan_cycle,
        stages.RETRAIN: retrain,
        stages.EVALUATE: evaluate,
        stages.DECIDE: decide,
        stages.RECORD_END: record_end,
    }


def _stage_task(cycle: Cycle) -> StageCall:
    """Run each stage of ``cycle`` as its task of this flow run, each after the one before.

    Waiting on the previous stage's result draws the chain of stages as the run's graph
    in the UI, also where a stage does not take the previous one's result as input.
    """
    tasks = _stage_tasks()
    previous: list[Any] = []

    def call(stage: str, method: Any, *args: Any) -> Any:
        result = tasks[stage](cycle, *args, wait_for=list(previous))
        previous[:] = [result]
        return result

    return call


@task(name="plan", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def plan_bootstrap(backend: Backend, settings: Settings) -> CyclePlan:
    """The bootstrap's plan: the champion's windows, one test window before a challenger's."""
    return steps.plan_cycle(backend, settings, role="champion")


@task(
    name="bootstrap-champion",
    cache_policy=NO_CACHE,
    retries=0,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
)
def bootstrap_champion(
    backend: Backend, settings: Settings, plan: CyclePlan, replace: bool, allow_weak: bool = False
) -> ModelVersion:
    """Train the champion on the bootstrap plan and make it live."""
    version = steps.train_champion(
        backend, settings, plan, replace=replace, allow_weak=allow_weak, run_id=_run_id()
    )
    get_run_logger().info(
        "Champion %s is live (trained on %s, test AUC %.4f)",
        version.name,
        version.train_periods,
        version.metrics.get("test_auc", float("nan")),
    )
    return version


@task(name="newest-week", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def newest_period(backend: Backend) -> int:
    """The newest period stored, scored by default (fails early on an empty table)."""
    return steps.data_span(backend)[1]


@task(name="score-live", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_live(backend: Backend, periods: PeriodRange) -> steps.ScoringResult:
    """Score with the version LIVE_VERSION names."""
    return steps.score(backend, periods=periods)


@task(name="score-file", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_file_live(backend: Backend, input_file: str, out_file: str) -> steps.FileScoringResult:
    """Stream a file through the version LIVE_VERSION names, batch by batch."""
    return steps.score_file(backend, Path(input_file), Path(out_file))


@task(name="score-to-table", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_into_table(
    backend: Backend, to_table: str, source: str | None, run_id: str | None
) -> dict[str, Any]:
    """Score a table or query with the live version into a table, inside the warehouse."""
    return steps.score_to_table(backend, target=to_table, source=source, run_id=run_id)


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
        key=artifact_key(settings.model_name, "versions"),
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
    policy: str = stages.DEFAULT_POLICY,
    policy_params: dict[str, Any] | None = None,
    backend: BackendName | None = None,
    model_name: str | None = None,
    home: str | None = None,
    config: str | None = None,
    windows: WindowSpec | None = None,
    dry_run: bool = False,
) -> Any:
    """One weekly cycle: retrain → evaluate both on the same hold-out → decide → promote or keep.

    The stages are :class:`flows.cycle.stages.Cycle`'s, each run as a task of this run.

    Args:
        policy: Name of an installed ``ccpolicy.policies`` entry point.
        policy_params: Keyword parameters for the policy.
        backend: ``local`` (embedded) or ``snowflake``; defaults to the configuration's.
        model_name: Registered model; defaults to the configuration's.
        home: Home directory of the embedded backend; defaults to ``CC_HOME``.
        config: The TOML settings file; defaults to ``<home>/config.toml``.
        windows: Window sizes in periods; default to the configuration's.
        dry_run: Evaluate and decide without acting (the decision is still recorded).

    Returns:
        A Completed state named after the outcome (``Promoted``, ``Kept``, …) whose
        result is the ledger entry of the decision, as a dict; or, when the cycle
        fails, a Failed state whose message is the one-line error, after its ledger
        entry (where a ledger could be reached) and a failure report were recorded.

    Raises:
        TimeoutError: when a task or the cycle timed out (the run ends ``TimedOut``).
    """
    _attach_step_loggers()
    logger = get_run_logger()
    settings = None
    with ExitStack() as resources:
        try:
            parameters = CycleParameters(policy, policy_params or {}, dry_run)
            settings = _settings(backend, model_name, home, config, windows)
            logger.info("Cycle of %s (%s backend)", settings.model_name, settings.backend)
            opened = resources.enter_context(open_backend(settings))
        except Exception as exc:  # before any ledger can be reached: the run's report says why
            return _failed(settings, exc, entry=None)
        reconciled = reconcile_ended(opened, settings, return_state=True)
        if reconciled.is_failed():
            logger.warning("Could not reconcile earlier runs: %s", reconciled.message)
        cycle = Cycle(opened, settings, parameters, run_id=_run_id())
        outcome = cycle.run(call=_stage_task(cycle))
        if outcome.error is not None:
            return _failed(settings, outcome.error, entry=outcome.failure)
        report = outcome.report
        emit_decision_event(settings, report)
        publish_decision_report(settings, report)
        publish_versions(opened, settings)
        publish_trend(settings, steps.trend(opened, curves=False))
    logger.info("Published the metric table, the decision report, the versions and the trend")
    return decision_state(report)


def _failed(settings: Settings | None, error: Exception, *, entry: LedgerEntry | None) -> State:
    """End a weekly run that failed: log the error with its traceback, publish the failure report.

    A timeout is raised again, so that Prefect ends the run ``TimedOut``.
    """
    message = one_line(error)
    get_run_logger().error(
        "Weekly cycle failed: %s",
        entry.reason if entry is not None else message,
        exc_info=error,  # the traceback stays in the run's logs on the server
    )
    publish_failure_report(
        settings.model_name if settings else flow_run.parameters.get("model_name"), message, entry
    )
    if isinstance(error, TimeoutError):
        raise error
    return Failed(message=message, data=error)


@flow(name="train-champion", flow_run_name=lambda: _provisional_name("bootstrap"))
def train_champion(
    backend: BackendName | None = None,
    model_name: str | None = None,
    home: str | None = None,
    config: str | None = None,
    windows: WindowSpec | None = None,
    replace: bool = False,
    allow_weak: bool = False,
) -> dict[str, Any]:
    """Train the first champion and make it CHAMPION, LIVE_VERSION and the default version.

    One whose test AUC is no better than chance is refused unless ``allow_weak``.
    """
    _attach_step_loggers()
    settings = _settings(backend, model_name, home, config, windows)
    with open_backend(settings) as opened:
        plan = plan_bootstrap(opened, settings)
        name_run(settings, data_period=plan.data_period, suffix="bootstrap")
        version = bootstrap_champion(opened, settings, plan, replace, allow_weak)
        publish_versions(opened, settings)
    return version.to_dict()


@flow(name="score", flow_run_name=lambda: _provisional_name("score"))
def score(
    backend: BackendName | None = None,
    model_name: str | None = None,
    home: str | None = None,
    config: str | None = None,
    first_week: int | None = None,
    last_week: int | None = None,
    input_file: str | None = None,
    out_file: str | None = None,
    to_table: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Batch inference with the version that LIVE_VERSION names (default: the newest period).

    ``first_week`` and ``last_week`` select stored periods in the contract's unit.
    ``input_file`` (CSV or Parquet, or a folder) is scored instead of stored periods,
    streamed in row batches, into ``out_file``. ``to_table`` scores ``source`` (a table
    or query; the applications by default) in the warehouse into that table instead.
    """
    _attach_step_loggers()
    settings = _settings(backend, model_name, home, config)
    if input_file is not None and not out_file:
        raise ConfigError("input_file needs out_file: where to write the scores.")
    with open_backend(settings) as opened:
        if to_table is not None:
            return score_into_table(opened, to_table, source, _run_id())
        if input_file is not None:
            scored = score_file_live(opened, input_file, out_file)
            said = "Scored %d rows of %s with %s into %s"
            get_run_logger().info(said, scored.n_rows, input_file, scored.version, out_file)
            return {"version": scored.version, "rows": scored.n_rows, "out_file": out_file}
        newest = newest_period(opened)
        name_run(settings, data_period=newest, suffix="score")
        periods = PeriodRange(newest, newest)
        if first_week is not None:
            periods = PeriodRange(first_week, last_week if last_week is not None else first_week)
        result = score_live(opened, periods)
    get_run_logger().info("Scored %d rows with live version %s", result.n_rows, result.version)
    create_markdown_artifact(
        scoring_markdown(result),
        key=artifact_key(settings.model_name, "scoring"),
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
    backend: BackendName | None = None,
    model_name: str | None = None,
    home: str | None = None,
    config: str | None = None,
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
    settings = _settings(backend, model_name, home, config)
    with open_backend(settings) as opened:
        entry = roll_back(opened, to_version, if_live, reason)
        publish_versions(opened, settings)
    return entry
