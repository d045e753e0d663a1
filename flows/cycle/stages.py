"""The weekly cycle, defined once: its stages, what they hand on, and how a run's end is recorded.

``check-policy → plan → retrain → evaluate → decide``. The Prefect flow runs every
stage as a task of one run; the Snowflake task graph runs them in two tasks, each a
call of the stored procedure in its own process. Both run :meth:`Cycle.run`, so the
order, the hand-offs and the failure rule are written here and nowhere else:

- **Hand-offs serialise.** What one stage passes on across processes is a
  :class:`Handoff`: the plan and a :class:`ChallengerRef`, as JSON. The evaluation
  does not travel: evaluate and decide always run in one process.
- **A dry run logs nothing on every path.** Its challenger stays unlogged; a later
  process that needs it trains it again, deterministically, from the plan.
- **One rule records the end of a run:** record it unless this attempt of the run
  already has an end in the ledger, the look and the insert in one transaction
  (:func:`flows.cycle.steps.record_end`), whoever notices the end: the cycle itself,
  the flow's end hooks, the next cycle, or the graph's finalizer.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from flows.cycle import steps
from flows.data.plan import CyclePlan
from flows.errors import ConfigError, one_line

if TYPE_CHECKING:
    import ccpolicy
    from flows.backends import Backend
    from flows.config import Settings
    from flows.cycle.evaluation import Evaluation
    from flows.cycle.promotion import PromotionReport
    from flows.cycle.training import TrainedModel
    from flows.records import LedgerEntry, ModelVersion

logger = logging.getLogger(__name__)

CHECK_POLICY: Final = "check-policy"
PLAN: Final = "plan"
RETRAIN: Final = "retrain"
EVALUATE: Final = "evaluate"
DECIDE: Final = "decide"
RECORD_END: Final = "record-end"
STAGES: Final = (CHECK_POLICY, PLAN, RETRAIN, EVALUATE, DECIDE)
"""The weekly cycle's stages in order; every orchestrator runs a contiguous part of them."""
DEFAULT_POLICY: Final = "significance_margin"


@dataclass(frozen=True)
class CycleParameters:
    """What a weekly run is asked to do, apart from where: the policy and whether to act."""

    policy: str = DEFAULT_POLICY
    """Name of an installed ``ccpolicy.policies`` entry point."""
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    """Keyword parameters of the policy."""
    dry_run: bool = False
    """Train and judge, record the decision, but log no version and move nothing."""

    def __post_init__(self) -> None:
        if not isinstance(self.policy, str) or not self.policy:
            raise ConfigError(f"The policy must be a non-empty name; got {self.policy!r}.")
        if not isinstance(self.policy_params, Mapping):
            raise ConfigError(
                "policy_params must be a mapping of parameter names to values; "
                f"got {self.policy_params!r}."
            )
        if not isinstance(self.dry_run, bool):
            raise ConfigError(f"dry_run must be true or false; got {self.dry_run!r}.")
        object.__setattr__(self, "policy_params", dict(self.policy_params))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as prefect.yaml and the graph's CONFIG carry it."""
        return {
            "policy": self.policy,
            "policy_params": dict(self.policy_params),
            "dry_run": self.dry_run,
        }


@dataclass(frozen=True)
class ChallengerRef:
    """The model a cycle judges against the champion: a logged version, or a dry run's unlogged one."""

    version: str
    """Its version name (for an unlogged one, the name it would be logged under)."""
    logged: bool = True
    """False for a dry run's challenger, which exists only in the process that trained it."""
    reused: bool = False
    """True when an identical version (same spec, same rows) already existed."""
    record: ModelVersion | None = field(default=None, compare=False, repr=False)
    """Its registry record, in the process that made it (saves a read); never serialised."""
    model: TrainedModel | None = field(default=None, compare=False, repr=False)
    """The unlogged model itself, in the process that trained it; never serialised."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: the name and whether it is logged, never the model."""
        return {"version": self.version, "logged": self.logged, "reused": self.reused}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChallengerRef:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["version"]), bool(data["logged"]), bool(data.get("reused", False)))


@dataclass(frozen=True)
class Handoff:
    """What the stages so far hand to the next ones, in this process or another."""

    plan: CyclePlan | None = None
    challenger: ChallengerRef | None = None

    def to_json(self) -> str:
        """JSON text, small whatever the data's size (a task's return value)."""
        return json.dumps(
            {
                "plan": self.plan.to_dict() if self.plan else None,
                "challenger": self.challenger.to_dict() if self.challenger else None,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None, *, expected_by: str = "this stage") -> Handoff:
        """Inverse of :meth:`to_json`.

        Raises:
            ConfigError: if ``text`` is not a hand-off (a graph emitted by another release).
        """
        try:
            data = json.loads(text or "")
            return cls(
                plan=CyclePlan.from_dict(data["plan"]) if data["plan"] else None,
                challenger=ChallengerRef.from_dict(data["challenger"])
                if data["challenger"]
                else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{expected_by} expects the plan and challenger the earlier stages hand on; "
                f"got {text!r}."
            ) from exc


@dataclass(frozen=True)
class CycleOutcome:
    """How :meth:`Cycle.run` ended: what it hands on, its decision, or its error."""

    handoff: Handoff
    report: PromotionReport | None = None
    """The decision, when the run reached and passed the decide stage."""
    error: Exception | None = None
    """What the run failed with; its end is then in the ledger (``failure``, or earlier)."""
    failure: LedgerEntry | None = None
    """The entry this run recorded for ``error``; None if it had one already, or none could be written."""

    def raise_error(self) -> None:
        """Raise the run's error, if any, as the failed stage raised it."""
        if self.error is not None:
            raise self.error


StageCall = Callable[..., Any]
"""How an orchestrator runs one stage: ``call(stage_name, stage_method, *args)``."""


def call_directly(stage: str, method: Callable[..., Any], *args: Any) -> Any:
    """Run a stage in this process, as the task graph's procedure and plain callers do."""
    return method(*args)


class Cycle:
    """One run of the weekly cycle against one backend.

    Args:
        backend: The open backend every stage works against.
        settings: Resolved settings (windows, specs).
        parameters: The policy and whether this is a dry run.
        run_id: The orchestrator's run id, recorded with every ledger entry; a fresh
            ``cycle-…`` id when there is none, so the end rule still holds.
        actor: Who acts, for the ledger; ``user@host`` by default.
        policy: A policy object to use instead of loading ``parameters.policy`` by
            name (one built in code rather than installed); it is checked the same way.
    """

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        parameters: CycleParameters,
        *,
        run_id: str | None = None,
        actor: str | None = None,
        policy: ccpolicy.Policy | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.parameters = parameters
        self.run_id = run_id or f"cycle-{uuid.uuid4().hex[:12]}"
        self.actor = actor
        self._policy = policy

    # -- the stages ---------------------------------------------------------------------

    def check_policy(self) -> ccpolicy.Policy:
        """Load and check the policy (and in live mode the live one), before any training."""
        if self.settings.live.on:
            steps.load_live_policy(self.settings.live)
        if self._policy is not None:
            return steps.check_policy_object(self._policy)
        return steps.check_policy(self.parameters.policy, self.parameters.policy_params)

    def plan(self) -> CyclePlan:
        """The data span and the windows, read once for the whole run."""
        return steps.plan_cycle(self.backend, self.settings)

    def retrain(self, plan: CyclePlan) -> ChallengerRef:
        """Train the challenger on the plan's windows (logged as CHALLENGER unless a dry run).

        Where the backend runs the heavy stages in its warehouse, the training happens
        there and only the challenger's reference comes back.
        """
        if self.backend.warehouse is not None:
            challenger = self.backend.warehouse.retrain(self, plan)
            logger.info("Challenger %s trained in the warehouse", challenger.version)
            return challenger
        result = steps.retrain_challenger(
            self.backend, self.settings, plan, dry_run=self.parameters.dry_run
        )
        logger.info(
            "%s challenger %s on %s (test AUC %.4f)",
            "Reused" if result.reused else "Trained",
            result.version.name,
            plan.windows.train,
            result.version.metrics.get("test_auc", float("nan")),
        )
        return ChallengerRef(
            result.version.name,
            logged=result.unlogged is None,
            reused=result.reused,
            record=result.version,
            model=result.unlogged,
        )

    def evaluate(self, plan: CyclePlan, challenger: ChallengerRef) -> Evaluation:
        """Score champion and challenger on the plan's hold-out rows (in the warehouse, if it has one)."""
        if self.backend.warehouse is not None:
            evaluation = self.backend.warehouse.evaluate(self, plan, challenger)
        else:
            evaluation = self._evaluate_here(plan, challenger)
        logger.info(
            "Hold-out %s (%d rows): champion %s AUC %.4f, challenger %s AUC %.4f",
            evaluation.holdout,
            evaluation.n_rows,
            evaluation.champion.name,
            evaluation.champion_metrics["roc_auc"],
            evaluation.challenger.name,
            evaluation.challenger_metrics["roc_auc"],
        )
        return evaluation

    def _evaluate_here(self, plan: CyclePlan, challenger: ChallengerRef) -> Evaluation:
        if not challenger.logged and challenger.model is None:
            challenger = self._unlogged_again(plan, challenger)
        return steps.evaluate(
            self.backend,
            plan,
            challenger=challenger.record or challenger.version,
            unlogged=challenger.model,
        )

    def decide(
        self, evaluation: Evaluation, policy: ccpolicy.Policy, plan: CyclePlan
    ) -> PromotionReport:
        """Let the policy decide; promote as a compare-and-set or keep; record it."""
        return steps.decide(
            self.backend,
            evaluation,
            policy,
            plan=plan,
            dry_run=self.parameters.dry_run,
            actor=self.actor,
            run_id=self.run_id,
            live=self.settings.live,
        )

    def record_end(self, error: str, plan: CyclePlan | None = None) -> LedgerEntry | None:
        """Record that this run failed, unless this attempt of it has an end already."""
        return steps.record_end(
            self.backend, run_id=self.run_id, error=error, plan=plan, actor=self.actor
        )

    # -- the composition ----------------------------------------------------------------

    def run(
        self,
        first: str = PLAN,
        last: str = DECIDE,
        *,
        handoff: Handoff | None = None,
        call: StageCall = call_directly,
    ) -> CycleOutcome:
        """Run the stages from ``first`` to ``last``, after what ``handoff`` carries.

        The policy is checked first whatever the part, so every process that decides
        has loaded it and none trains with a policy that cannot load. A stage that fails
        ends the run: its end is recorded (with the plan when known) unless the run has
        an entry already, for instance the failed decision the decide stage records.

        Args:
            first: The first stage after check-policy: ``plan``, or a later one when
                earlier stages ran in another process and left ``handoff``.
            last: The last stage: ``retrain`` to hand on, or ``decide``. Evaluate and
                decide run together: the evaluation does not travel.
            handoff: What earlier stages (in another process) handed on.
            call: How each stage runs: directly, or as an orchestrator's task.

        Returns:
            The hand-off for later stages, the decision if ``decide`` ran, or the error.
        """
        part = _part(first, last)
        handed = handoff or Handoff()
        report = None
        try:
            policy = call(CHECK_POLICY, self.check_policy)
            if PLAN in part:
                handed = replace(handed, plan=call(PLAN, self.plan))
            plan = _needs(handed.plan, "plan", part)
            if RETRAIN in part:
                handed = replace(handed, challenger=call(RETRAIN, self.retrain, plan))
            if EVALUATE in part:
                challenger = _needs(handed.challenger, "challenger", part)
                evaluation = call(EVALUATE, self.evaluate, plan, challenger)
                report = call(DECIDE, self.decide, evaluation, policy, plan)
        except Exception as exc:
            return CycleOutcome(handed, error=exc, failure=self._record_failure(exc, handed, call))
        return CycleOutcome(handed, report=report)

    def _record_failure(
        self, error: Exception, handed: Handoff, call: StageCall
    ) -> LedgerEntry | None:
        """Record ``error`` as this run's end; a ledger that cannot be written is logged, not raised."""
        try:
            return call(RECORD_END, self.record_end, one_line(error), handed.plan)
        except Exception as failure:  # the run's own error is the one to report
            logger.warning("Could not record the failure in the ledger: %s", one_line(failure))
            return None

    def _unlogged_again(self, plan: CyclePlan, challenger: ChallengerRef) -> ChallengerRef:
        """A dry run's challenger, trained again in this process from the same plan.

        Training is deterministic (the spec's seed, the plan's immutable periods), so
        the model gets the name the retrain stage gave it; anything else is refused.
        """
        again = self.retrain(plan)
        if again.version != challenger.version:
            raise ConfigError(
                f"The dry run's challenger trained again as {again.version}, not "
                f"{challenger.version}: the training rows or the spec changed during the run."
            )
        return again


def weekly_cycle(
    backend: Backend,
    settings: Settings,
    policy: ccpolicy.Policy,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> PromotionReport:
    """The whole cycle in this process with a policy object: for scripts, benchmarks and tests.

    Raises:
        Exception: what the failed stage raised, after its end was recorded.
    """
    parameters = CycleParameters(policy=policy.name, policy_params=policy.params, dry_run=dry_run)
    cycle = Cycle(backend, settings, parameters, run_id=run_id, actor=actor, policy=policy)
    outcome = cycle.run()
    outcome.raise_error()
    assert outcome.report is not None  # the decide stage ran
    return outcome.report


def _part(first: str, last: str) -> tuple[str, ...]:
    """The stages from ``first`` to ``last``; evaluate never without decide.

    Raises:
        ConfigError: for a part that is not a contiguous run of :data:`STAGES`.
    """
    runnable = STAGES[1:]
    if (
        first not in runnable
        or last not in runnable
        or runnable.index(first) > runnable.index(last)
    ):
        raise ConfigError(
            f"A cycle runs the stages from one of {', '.join(runnable)} to a later one; "
            f"got {first} to {last}."
        )
    part = runnable[runnable.index(first) : runnable.index(last) + 1]
    if (EVALUATE in part and DECIDE not in part) or first == DECIDE:
        raise ConfigError("evaluate and decide run in one process: the evaluation does not travel.")
    return part


def _needs(value: Any, what: str, part: tuple[str, ...]) -> Any:
    if value is None:
        raise ConfigError(f"Stages {list(part)} need the {what} that earlier stages hand on.")
    return value
