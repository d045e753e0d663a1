"""The steps of the champion–challenger cycle, each against a :class:`~flows.backends.Backend`.

These are the units the Prefect tasks in ``flows.orchestration.pipeline`` wrap one-to-one, and
the units the Snowflake stored procedures call: plain functions, no orchestrator.
Rolling back (``rollback``), loading files (``check_files``, then ``ingest``) and scoring a file (``score_file``) are listed here too;
their bodies live in ``flows.cycle.rollback``, ``flows.cycle.loading`` and
``flows.cycle.scoring``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.cycle.contestants import train_and_log
from flows.cycle.loading import CheckedFiles as CheckedFiles
from flows.cycle.loading import IngestResult as IngestResult
from flows.cycle.loading import check_files as check_files
from flows.cycle.loading import ingest as ingest
from flows.cycle.promotion import (
    PromotionReport,
    apply_policy,
    build_evidence,
    decision_entry,
    default_actor,
    last_promotion_week,
    switch_live,
)
from flows.cycle.rollback import rollback as rollback
from flows.cycle.scoring import FileScoringResult as FileScoringResult
from flows.cycle.scoring import score_file as score_file
from flows.cycle.strength import evidence_strength
from flows.cycle.training import TrainedModel
from flows.data.periods import PeriodRange, Windows
from flows.data.plan import CyclePlan, Role
from flows.errors import (
    AlreadyChampionError,
    ConfigError,
    EmptyWindowError,
)
from flows.names import CHALLENGER
from flows.records import LedgerEntry, ModelVersion, Outcome, RegistryStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    import ccpolicy
    from flows.backends import Backend
    from flows.config import Settings
    from flows.cycle.evaluation import Evaluation
    from flows.data.quickstart import GeneratorSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainResult:
    """A challenger ready to be judged."""

    version: ModelVersion
    """The challenger's registry record."""
    reused: bool
    """True when an identical version (same spec, same rows) already existed."""
    plan: CyclePlan
    """The plan it was trained on: its windows, and the hold-out it will face."""
    unlogged: TrainedModel | None = None
    """The challenger itself when a dry run trained it without logging it."""

    @property
    def windows(self) -> Windows:
        """The windows it was trained and tested on, and the hold-out it will face."""
        return self.plan.windows


@dataclass(frozen=True)
class Status:
    """The registry's pointers and every version, for ``ccflows status`` and the UI."""

    pointers: RegistryStatus
    versions: list[ModelVersion]


@dataclass(frozen=True)
class ScoringResult:
    """Probabilities from the live version, each row labelled with that version."""

    version: str
    scores: pd.DataFrame

    @property
    def n_rows(self) -> int:
        """Number of rows scored."""
        return len(self.scores)


def generate_data(
    backend: Backend,
    spec: GeneratorSpec,
    *,
    n_periods: int = 20,
    append_weeks: int = 0,
    replace: bool = False,
    holdout_weeks: int = 4,
) -> pd.DataFrame:
    """Write the quickstart's data set (``n_periods`` weeks), or ``append_weeks`` more of it.

    Appending continues the same random stream after the newest stored week, so a
    weekly run sees genuinely new rows while the history stays as it was. Backends
    that keep the quickstart's EVALUATION_DATA table refresh it with the newest
    ``holdout_weeks`` weeks.

    Raises:
        ConfigError: if data is already stored and neither appending nor replacing.
    """
    from flows.data.quickstart import generate_applications, generate_weeks

    span = backend.source.period_span()
    if append_weeks:
        if span is None:
            raise ConfigError("Nothing to append to: the applications table is empty.")
        data = generate_weeks(span[1] + 1, span[1] + append_weeks, spec)
    else:
        if span is not None and not replace:
            raise ConfigError(
                f"The applications table already holds weeks {span[0]}–{span[1]}; "
                "use --append-weeks N to add weeks or --replace to start over."
            )
        data = generate_applications(n_periods, spec)
    backend.source.write(data, replace=replace and not append_weeks)
    backend.source.write_evaluation_data(holdout_weeks=holdout_weeks)
    return data


def check_policy(name: str, params: Mapping[str, Any]) -> ccpolicy.Policy:
    """Load policy ``name`` with ``params`` and check its guardrails against our metrics.

    Every cycle (the flow, the CLI, the task graph) calls this before any training, so a guardrail on a metric the
    evaluation does not compute (``max_metric_drop={"auc": …}``) fails at once.

    Raises:
        ccpolicy.PolicyError: the errors of ``ccpolicy.load_policy``, and
            ``PolicyParameterError`` naming an unknown guardrail metric.
    """
    import ccpolicy
    from flows.cycle.evaluation import METRICS

    policy = ccpolicy.load_policy(name, **params)
    policy.check_metrics(METRICS)
    return policy


def data_span(backend: Backend) -> tuple[int, int]:
    """Oldest and newest week stored; raises when there is no data at all."""
    span = backend.source.period_span()
    if span is None:
        raise EmptyWindowError(
            "The applications table is empty; run `ccflows generate` (or load data) first."
        )
    return span


def plan_cycle(backend: Backend, settings: Settings, *, role: Role = "challenger") -> CyclePlan:
    """The data span and the windows a run works on, read once for the whole run.

    Args:
        role: ``challenger`` for a weekly cycle, ``champion`` for the bootstrap.

    Raises:
        EmptyWindowError: if there is no data, or too little for the windows.
    """
    return CyclePlan.for_role(data_span(backend), settings.windows, role)


def train_champion(
    backend: Backend,
    settings: Settings,
    plan: CyclePlan | None = None,
    *,
    replace: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> ModelVersion:
    """Train the bootstrap champion and make it CHAMPION, LIVE_VERSION and default.

    Args:
        plan: The bootstrap plan (``plan_cycle(..., role="champion")``); planned here if None.
        replace: Allow replacing an existing live champion (recorded in the ledger).

    Raises:
        ConfigError: if a champion is already live and ``replace`` is false.
    """
    plan = plan or plan_cycle(backend, settings, role="champion")
    live = backend.registry.live_version()
    if live is not None and not replace:
        raise ConfigError(
            f"Model {settings.model_name} already has a live champion ({live}); "
            "weekly runs challenge it with `ccflows run`. Pass --replace to retrain it anyway."
        )
    version, _, _ = train_and_log(backend, settings.champion_spec, plan.windows, role="champion")
    if version.name == live:
        logger.info("Champion %s is unchanged", live)
        return version
    entry = LedgerEntry(
        outcome=Outcome.BOOTSTRAPPED,
        reason=f"Champion {version.name} trained on {plan.windows.train} installed as live version.",
        actor=actor or default_actor(),
        champion_version=live,
        challenger_version=version.name,
        data_week=plan.data_week,
        plan=plan.to_dict(),
        run_id=run_id,
    )
    backend.registry.promote_if_champion_is(live, version.name, entry)
    return version


def retrain_challenger(
    backend: Backend, settings: Settings, plan: CyclePlan, *, dry_run: bool = False
) -> RetrainResult:
    """Train a challenger on the plan's windows and point CHALLENGER at it (a dry run: only train)."""
    champion = (
        backend.registry.champion()
    )  # fail before training when there is nothing to challenge
    backend.source.contract.require_same_target(champion.data_contract, champion_name=champion.name)
    version, reused, unlogged = train_and_log(
        backend, settings.challenger_spec, plan.windows, role=CHALLENGER, log=not dry_run
    )
    if dry_run:
        return RetrainResult(version=version, reused=reused, plan=plan, unlogged=unlogged)
    try:
        backend.registry.set_challenger(version.name)
    except AlreadyChampionError:  # unchanged data, or another run just promoted this version
        logger.info("Challenger %s is the live champion itself", version.name)
    return RetrainResult(version=version, reused=reused, plan=plan)


def evaluate(
    backend: Backend, plan: CyclePlan, *, challenger: str | RetrainResult | None = None
) -> Evaluation:
    """Score the champion and the challenger (a name, or a dry run's unlogged model) on the hold-out."""
    from flows.cycle.evaluation import evaluate_pair

    registry = backend.registry
    champion = registry.champion()
    if isinstance(challenger, RetrainResult):
        version, unlogged = challenger.version, challenger.unlogged
    else:
        name = challenger or registry.version_by_alias(CHALLENGER) or champion.name
        version, unlogged = registry.get_version(name), None
    holdout = backend.source.read_periods(plan.holdout, input_name="hold-out")
    return evaluate_pair(
        registry,
        champion,
        version,
        holdout,
        holdout_weeks=plan.holdout,
        data_week=plan.data_week,
        unlogged=unlogged,
    )


def decide(
    backend: Backend,
    evaluation: Evaluation,
    policy: ccpolicy.Policy,
    *,
    plan: CyclePlan | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> PromotionReport:
    """Let ``policy`` decide on ``evaluation``, apply the verdict and record it.

    A "promote" verdict becomes a compare-and-set against the champion that was
    evaluated: if another run changed the live version meanwhile, nothing switches
    and the ledger says so. Every other verdict is recorded as it is. Whatever the
    policy, the entry carries the evidence's strength (``flows.cycle.strength``).
    """
    registry = backend.registry
    evidence = build_evidence(evaluation, last_promotion=last_promotion_week(registry))
    actor, plan_record = actor or default_actor(), plan.to_dict() if plan else {}
    decision = apply_policy(
        registry, evaluation, policy, evidence, actor=actor, run_id=run_id, plan=plan_record
    )
    strength = evidence_strength(
        evaluation.y_true, evaluation.champion_scores, evaluation.challenger_scores
    )
    entry = decision_entry(
        evaluation,
        decision,
        strength=strength,
        dry_run=dry_run,
        actor=actor,
        run_id=run_id,
        plan=plan_record,
    )
    payload = evidence.to_npz_bytes()
    if entry.outcome is Outcome.PROMOTED:
        recorded = switch_live(
            registry, evaluation.champion.name, evaluation.challenger.name, entry, evidence=payload
        )
    else:
        recorded = registry.append_ledger(entry, evidence=payload)
    logger.info("Decision recorded as ledger entry %s: %s", recorded.id, recorded.reason)
    return PromotionReport(entry=recorded, decision=decision, evaluation=evaluation)


def record_failure(
    backend: Backend,
    *,
    error: str,
    plan: CyclePlan | None = None,
    actor: str | None = None,
    run_id: str | None = None,
    live_at_start: str | None = None,
) -> LedgerEntry:
    """Record that a cycle failed; says "champion untouched" only when that is true.

    The champion was touched if the live version differs from ``live_at_start`` (the
    one the run began with, when known) or if this run's own ledger entries switched it.
    """
    registry = backend.registry
    live = registry.live_version()
    switched = [
        entry
        for entry in registry.ledger()
        if run_id is not None and entry.run_id == run_id and entry.outcome.switched_live
    ]
    start = switched[0].live_before if switched else live_at_start
    if switched or (live_at_start is not None and live != live_at_start):
        reason = (
            f"Cycle failed after the live version moved from {start} to {live} during this "
            f"run; that switch stands (see the ledger). {error}"
        )
    else:
        reason = f"Cycle failed before a decision; champion untouched. {error}"
    entry = LedgerEntry(
        outcome=Outcome.FAILED,
        reason=reason,
        actor=actor or default_actor(),
        champion_version=live,
        data_week=plan.data_week if plan else None,
        plan=plan.to_dict() if plan else {},
        run_id=run_id,
    )
    return registry.append_ledger(entry)


def weekly_cycle(
    backend: Backend,
    settings: Settings,
    policy: ccpolicy.Policy,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> PromotionReport:
    """Plan, retrain, evaluate and decide in one call (stored procedures, benchmarks, tests)."""
    plan = plan_cycle(backend, settings)
    retrained = retrain_challenger(backend, settings, plan, dry_run=dry_run)
    evaluation = evaluate(backend, plan, challenger=retrained)
    return decide(
        backend, evaluation, policy, plan=plan, dry_run=dry_run, actor=actor, run_id=run_id
    )


def replay(
    backend: Backend, policy: ccpolicy.Policy, *, entry_ids: list[int] | None = None
) -> list[tuple[LedgerEntry, ccpolicy.Decision]]:
    """What ``policy`` would have decided on the evidence stored with past ledger entries.

    Nothing is changed or recorded. Without ``entry_ids``, entries without stored
    evidence are skipped.

    Raises:
        ConfigError: if an entry asked for does not exist or has no stored evidence,
            naming the entries that do.
    """
    import ccpolicy

    registry = backend.registry
    ledger = registry.ledger()
    replayable = [entry for entry in ledger if entry.has_evidence]
    if entry_ids:
        by_id = {entry.id: entry for entry in ledger}
        with_evidence = ", ".join(str(e.id) for e in replayable) or "none yet"
        for wanted in entry_ids:
            if wanted not in by_id:
                held = f"entries {ledger[0].id}–{ledger[-1].id}" if ledger else "no entry yet"
                raise ConfigError(f"No ledger entry {wanted}; the ledger holds {held}.")
            if not by_id[wanted].has_evidence:
                raise ConfigError(
                    f"Ledger entry {wanted} ({by_id[wanted].outcome.value}) has no stored "
                    f"evidence to replay; entries with evidence: {with_evidence}."
                )
        replayable = [entry for entry in replayable if entry.id in set(entry_ids)]
    results = []
    for entry in replayable:
        payload = registry.ledger_evidence(entry.id)
        results.append((entry, policy(ccpolicy.Evidence.from_npz_bytes(payload))))
    return results


def status(backend: Backend) -> Status:
    """The pointers and every version of the model."""
    return Status(pointers=backend.registry.status(), versions=backend.registry.list_versions())


def history(backend: Backend, *, limit: int | None = None) -> list[LedgerEntry]:
    """The ledger, oldest first (only the newest ``limit`` entries if given)."""
    return backend.registry.ledger(limit=limit)


def live_at(backend: Backend, when: str) -> str | None:
    """The version that was live at ISO time ``when``, from the ledger."""
    return backend.registry.live_at(when)


def score(
    backend: Backend,
    *,
    weeks: PeriodRange | None = None,
    data: pd.DataFrame | None = None,
) -> ScoringResult:
    """Score ``data`` (or the stored ``weeks``, default the newest week) with the live version.

    The live version checks ``data`` against its own contract: only its features are
    needed, and a missing one fails before any row is scored.
    """
    registry = backend.registry
    live = registry.champion().name
    if data is None:
        newest = data_span(backend)[1]
        weeks = weeks or PeriodRange(newest, newest)
        data = backend.source.read_periods(weeks, input_name="scoring input")
    scores = data.copy()
    scores["approval_probability"] = registry.predict_proba(live, data)
    scores["model_version"] = live
    logger.info("Scored %d rows with live version %s", len(scores), live)
    return ScoringResult(version=live, scores=scores)
