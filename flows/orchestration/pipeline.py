"""The Prefect flows that write to the registry: ``champion-challenger`` (weekly),
``train-champion`` and ``rollback`` (``score`` is in :mod:`flows.orchestration.score_flow`).

The weekly flow runs the cycle of :mod:`flows.cycle.stages` (check-policy → plan →
retrain → evaluate → decide), each stage as a task of the same name; the task graph
in Snowflake runs the very same stages. The other flows call :mod:`flows.cycle.steps`
one task per step. Each flow opens its backend once (on Snowflake, one session) and
closes it at the end. Flows only wire tasks, name runs, log what happens and publish
artifacts.

Operational rules, the same for every flow (and :mod:`flows.orchestration.flow_options`):

- Training and promotion are never retried (a retry could train twice or switch
  twice). Reads, evaluation and scoring are retried with backoff, but only on
  failures a retry can cure (a dropped connection, a busy registry, Snowflake's
  transient errors; ``flows.orchestration.retries``): bad data, a bad parameter, a
  missing file or a timeout fails at once, with the message that names it.
- No task result is cached or persisted (``NO_CACHE``): a retrain must train.
- One run at a time writes to a model's registry, whatever started it: each flow
  here holds the model's slot (:mod:`flows.orchestration.registry_slot`).
- Each run is in the ledger from its ``started`` row to its end, one end per
  attempt: the cycle records its own failures, the end hooks
  (``flows.orchestration.run_ends``) a timeout, cancellation or crash, and the next
  cycle a run killed with its worker, each under the one rule "unless this attempt
  has an entry already".
- A run that fails before it can reach a ledger (a bad setting, a backend that will
  not open) still ends Failed with its reason and a failure report.
- The run's final state, artifacts and events tell the story (``flows.orchestration.run_story``).
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.flow_engine import FlowRunTimeoutError
from prefect.runtime import flow_run
from prefect.states import Failed, State

from flows.backends import Backend, BackendName, open_backend
from flows.config import Settings
from flows.cycle import stages, steps
from flows.cycle.evaluation import Evaluation
from flows.cycle.promotion import PromotionReport
from flows.cycle.report import versions_markdown
from flows.cycle.stages import ChallengerRef, Cycle, CycleParameters, StageCall
from flows.cycle.trend_render import publish_trend
from flows.data.periods import WindowSpec
from flows.data.plan import CyclePlan
from flows.errors import AlreadyLiveError, one_line
from flows.orchestration.flow_options import (
    CYCLE_TIMEOUT_SECONDS,
    IO_TIMEOUT_SECONDS,
    SMALL_JSON_RESULT,
    STEP_TIMEOUT_SECONDS,
    current_run_id,
    provisional_name,
    run_settings,
)
from flows.orchestration.registry_slot import registry_slot
from flows.orchestration.retries import IO_TASK_OPTIONS
from flows.orchestration.run_ends import reconcile_ended_runs, record_run_end, recorded_run
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

WEEKLY_FLOW = "champion-challenger"
"""The weekly flow's name."""


# -- the weekly cycle's stages as tasks ---------------------------------------------------


@task(name="reconcile-ended-runs", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def reconcile_ended(backend: Backend) -> int:
    """Record earlier runs of this ledger that ended unrecorded (killed with their worker); how many.

    The one task that calls past ``flows.cycle``: it reads Prefect's own run history.
    """
    entries = reconcile_ended_runs(backend, current_run_id=current_run_id())
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
    """Record in the ledger that the cycle failed, unless this attempt has an end already."""
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
        try:
            result = tasks[stage](cycle, *args, wait_for=list(previous))
        except TimeoutError as exc:
            raise _timeout_that_fired(exc, stage=stage) from exc
        previous[:] = [result]
        return result

    return call


def _timeout_that_fired(error: TimeoutError, *, stage: str) -> TimeoutError:
    """``error``, or the flow's own timeout if that is the one that fired during ``stage``.

    When the flow's timeout fires inside a task, the task reports its own timeout;
    the error is renamed after the timeout that fired, for the ledger and the final state.
    The run's own start counts, so the set-up before the first stage is included.
    """
    context = FlowRunContext.get()
    limit = context.flow.timeout_seconds if context and context.flow else None
    run = context.flow_run if context else None
    if limit is None or run is None or run.start_time is None:
        return error
    if (datetime.now(UTC) - run.start_time).total_seconds() < limit - 1:
        return error
    return FlowRunTimeoutError(
        f"The weekly cycle exceeded its timeout of {limit:g} s, during the {stage} task."
    )


@task(name="plan", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def plan_bootstrap(backend: Backend, settings: Settings, replace: bool) -> CyclePlan:
    """The bootstrap's plan: the champion's windows, one test window before a challenger's.

    A live champion that is not to be replaced is refused here, before the run's
    ``started`` row: a refused bootstrap leaves the ledger as it was.
    """
    steps.check_bootstrap(backend, settings, replace=replace)
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
        backend, settings, plan, replace=replace, allow_weak=allow_weak, run_id=current_run_id()
    )
    get_run_logger().info(
        "Champion %s is live (trained on %s, test AUC %.4f)",
        version.name,
        version.train_periods,
        version.metrics.get("test_auc", float("nan")),
    )
    return version


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


# -- flows ------------------------------------------------------------------------------


@flow(
    name=WEEKLY_FLOW,
    flow_run_name=lambda: provisional_name("weekly"),
    timeout_seconds=CYCLE_TIMEOUT_SECONDS,
    on_failure=[record_run_end],
    on_cancellation=[record_run_end],
    on_crashed=[record_run_end],
    **SMALL_JSON_RESULT,
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

    The stages are :class:`flows.cycle.stages.Cycle`'s, each run as a task of this run,
    while the run holds its model's registry slot (:mod:`flows.orchestration.registry_slot`)
    and after its ``started`` row (:func:`flows.orchestration.run_ends.recorded_run`).

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
        result, persisted as JSON, is the decision's ledger entry as a dict (what
        ``run_deployment(...).state.result()`` and the UI read back); or, when the cycle
        fails, a Failed state whose message is the one-line error, after its ledger
        entry (where a ledger could be reached) and a failure report were recorded.

    Raises:
        TimeoutError: when a task or the cycle timed out (the run ends ``TimedOut``).
    """
    logger = get_run_logger()
    settings = None
    with ExitStack() as held:
        try:
            parameters = CycleParameters(policy, policy_params or {}, dry_run)
            settings = run_settings(backend, model_name, home, config, windows)
            logger.info("Cycle of %s (%s backend)", settings.model_name, settings.backend)
            held.enter_context(registry_slot(settings.model_name))
            opened = held.enter_context(open_backend(settings))
            held.enter_context(recorded_run(opened, flow_name=WEEKLY_FLOW))
        except Exception as exc:  # before the cycle began: the run's report says why
            return _failed(settings, exc, entry=None)
        return _weekly_cycle(opened, settings, parameters)


def _weekly_cycle(backend: Backend, settings: Settings, parameters: CycleParameters) -> State:
    """The cycle's stages as tasks, then its story: event, decision report, versions, trend."""
    logger = get_run_logger()
    reconciled = reconcile_ended(backend, return_state=True)
    if reconciled.is_failed():
        logger.warning("Could not reconcile earlier runs: %s", reconciled.message)
    cycle = Cycle(backend, settings, parameters, run_id=current_run_id())
    outcome = cycle.run(call=_stage_task(cycle))
    if outcome.error is not None:
        return _failed(settings, outcome.error, entry=outcome.failure)
    report = outcome.report
    emit_decision_event(settings, report)
    publish_decision_report(settings, report)
    publish_versions(backend, settings)
    publish_trend(settings, steps.trend(backend, curves=False))
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


@flow(
    name="train-champion",
    flow_run_name=lambda: provisional_name("bootstrap"),
    on_failure=[record_run_end],
    on_cancellation=[record_run_end],
    on_crashed=[record_run_end],
    **SMALL_JSON_RESULT,
)
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

    One whose test AUC is no better than chance is refused unless ``allow_weak``. Like
    the weekly flow, it holds the model's registry slot, and is in the ledger from its
    ``started`` row to its end (its ``bootstrapped`` entry, or its failure).
    """
    settings = run_settings(backend, model_name, home, config, windows)
    with registry_slot(settings.model_name), open_backend(settings) as opened:
        plan = plan_bootstrap(opened, settings, replace)
        name_run(settings, data_period=plan.data_period, suffix="bootstrap")
        with recorded_run(opened, flow_name="train-champion"):
            version = bootstrap_champion(opened, settings, plan, replace, allow_weak)
        publish_versions(opened, settings)
    return version.to_dict()


# -- rollback -----------------------------------------------------------------------------


@task(name="roll-back", cache_policy=NO_CACHE, retries=0, timeout_seconds=IO_TIMEOUT_SECONDS)
def roll_back(
    backend: Backend, to_version: str | None, if_live: str | None, reason: str
) -> dict[str, Any]:
    """Make the previous champion (or ``to_version``) live again, as a compare-and-set."""
    # steps.rollback logs the decision once, here and in a stored procedure alike.
    try:
        entry = steps.rollback(
            backend, to_version=to_version, if_live=if_live, reason=reason, run_id=current_run_id()
        )
    except AlreadyLiveError as already:
        get_run_logger().info("%s", already)
        return {"already_live": already.version, "recorded": False}
    return entry.to_dict()


@flow(
    name="rollback",
    on_failure=[record_run_end],
    on_cancellation=[record_run_end],
    on_crashed=[record_run_end],
    **SMALL_JSON_RESULT,
)
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

    It holds the model's registry slot, and is in the ledger from its ``started`` row
    to its end: its entry, or its failure (a refused rollback included).

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
    settings = run_settings(backend, model_name, home, config)
    with registry_slot(settings.model_name), open_backend(settings) as opened:
        with recorded_run(opened, flow_name="rollback"):
            entry = roll_back(opened, to_version, if_live, reason)
        publish_versions(opened, settings)
    return entry
