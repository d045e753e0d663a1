"""The steps of the champion–challenger cycle, each against a :class:`~flows.backends.Backend`.

These are the units the Prefect tasks in ``flows.orchestration.pipeline`` wrap one-to-one, and
the units the Snowflake stored procedures call: plain functions, no orchestrator.
Rolling back (``rollback``), loading files (``check_files``, then ``ingest``), scoring a file
(``score_file``), a run's start and end in the ledger (``record_start``, ``record_end``) and
the steps that only read (``status``, ``history``, ``trend``, …) are listed here too; their
bodies live in ``flows.cycle.rollback``, ``flows.cycle.loading``, ``flows.cycle.scoring``,
``flows.cycle.endings`` and ``flows.cycle.reads``. So are the live test's (``live_candidate``,
``score_log``, ``through_period``, ``live_status``, ``stored_labels``, ``read_outcomes`` then
``ingest_outcomes``), from ``flows.cycle.live``, and the live review (``review``, one look
at the candidate) from ``flows.live.review``. Nothing outside the cycle, the live test and
the backends calls a registry or a data source but through here.
The name each operation goes by as a Prefect task, a graph task and a command is in
``flows.cycle.operations``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from flows.cycle.completeness import HOW_TO_COMPLETE, complete_span, incomplete_newest
from flows.cycle.contestants import train_and_log, train_champion_version
from flows.cycle.endings import record_end as record_end
from flows.cycle.endings import record_failure as record_failure
from flows.cycle.endings import record_start as record_start
from flows.cycle.endings import started_here as started_here
from flows.cycle.endings import unended_starts as unended_starts
from flows.cycle.live import LiveStatus as LiveStatus
from flows.cycle.live import ingest_outcomes as ingest_outcomes
from flows.cycle.live import live_candidate as live_candidate
from flows.cycle.live import live_clock as live_clock
from flows.cycle.live import live_status as live_status
from flows.cycle.live import score_log as score_log
from flows.cycle.live import stored_labels as stored_labels
from flows.cycle.live import through_period as through_period
from flows.cycle.loading import CheckedFiles as CheckedFiles
from flows.cycle.loading import IngestResult as IngestResult
from flows.cycle.loading import check_files as check_files
from flows.cycle.loading import generate_data as generate_data
from flows.cycle.loading import ingest as ingest
from flows.cycle.promotion import (
    PromotionReport,
    apply_policy,
    build_evidence,
    decision_entry,
    default_actor,
    last_promotion_period,
    switch_live,
)
from flows.cycle.reads import Status as Status
from flows.cycle.reads import champion as champion
from flows.cycle.reads import committed_decision as committed_decision
from flows.cycle.reads import data_span as data_span
from flows.cycle.reads import history as history
from flows.cycle.reads import live_at as live_at
from flows.cycle.reads import replay as replay
from flows.cycle.reads import run_entries as run_entries
from flows.cycle.reads import status as status
from flows.cycle.reads import trend as trend
from flows.cycle.rollback import rollback as rollback
from flows.cycle.scoring import VERSION_COLUMN
from flows.cycle.scoring import FileScoringResult as FileScoringResult
from flows.cycle.scoring import score_file as score_file
from flows.cycle.scoring import score_to_table as score_to_table
from flows.cycle.strength import evidence_strength
from flows.cycle.training import TrainedModel
from flows.cycle.upkeep import repair as repair
from flows.cycle.upkeep import setup as setup
from flows.data.contract import PERIOD_KEY, DataContract
from flows.data.periods import PeriodRange, Windows
from flows.data.plan import CyclePlan, Role
from flows.errors import (
    AlreadyChampionError,
    ConfigError,
)
from flows.live.candidacy import as_candidacy
from flows.live.candidacy import load_live_policy as load_live_policy
from flows.live.outcomes import read_outcomes as read_outcomes
from flows.live.review import ReviewResult as ReviewResult
from flows.live.review import review as review
from flows.names import CHALLENGER
from flows.records import LedgerEntry, ModelVersion, Outcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    import ccpolicy
    from flows.backends import Backend
    from flows.config import Settings
    from flows.cycle.evaluation import Evaluation
    from flows.live.settings import LiveSettings

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
class ScoringResult:
    """Probabilities from the live version, each row labelled with that version."""

    version: str
    scores: pd.DataFrame
    contract: DataContract
    """The live version's contract: its ``score_column`` holds the probabilities."""

    @property
    def n_rows(self) -> int:
        """Number of rows scored."""
        return len(self.scores)


def check_policy(name: str, params: Mapping[str, Any]) -> ccpolicy.Policy:
    """Load policy ``name`` with ``params`` and check its guardrails against our metrics.

    Every cycle (the flow, the CLI, the task graph) calls this before any training, so a guardrail on a metric the
    evaluation does not compute (``max_metric_drop={"auc": …}``) fails at once.

    Raises:
        ccpolicy.PolicyError: the errors of ``ccpolicy.load_policy``, and
            ``PolicyParameterError`` naming an unknown guardrail metric.
    """
    import ccpolicy

    return check_policy_object(ccpolicy.load_policy(name, **params))


def check_policy_object(policy: ccpolicy.Policy) -> ccpolicy.Policy:
    """Check ``policy``'s guardrails against the metrics the evaluation computes.

    Raises:
        ccpolicy.PolicyParameterError: naming an unknown guardrail metric.
    """
    from flows.cycle.evaluation import METRICS

    policy.check_metrics(METRICS)
    return policy


def plan_cycle(backend: Backend, settings: Settings, *, role: Role = "challenger") -> CyclePlan:
    """The data span and the windows a run works on, read once for the whole run.

    Args:
        role: ``challenger`` for a cycle, ``champion`` for the bootstrap.

    Raises:
        EmptyWindowError: if there is no data, or too little for the windows.
    """
    calendar = backend.source.calendar()
    span, held = complete_span(data_span(backend), calendar, settings.complete_through)
    plan = CyclePlan.for_role(span, settings.windows, role, calendar=calendar)
    if held is not None:
        logger.warning(
            "%s; the plan ends at %s, and the hold-out is %s.",
            held,
            calendar.period(span[1]),
            plan.windows.holdout,
        )
    incomplete = None if settings.complete_through else incomplete_newest(backend.source)
    if incomplete is not None:
        logger.warning(
            "%s. The hold-out (%s) includes it, and the contestants are judged on it as it is; %s.",
            incomplete,
            plan.windows.holdout,
            HOW_TO_COMPLETE,
        )
    return plan


def check_bootstrap(backend: Backend, settings: Settings, *, replace: bool) -> str | None:
    """The live version, if a bootstrap may replace it (``replace``); else refused.

    Raises:
        ConfigError: if a champion is already live and ``replace`` is false.
    """
    live = backend.registry.live_version()
    if live is not None and not replace:
        raise ConfigError(
            f"Model {settings.model_name} already has a live champion ({live}); "
            "each cycle (`ccflows run`) challenges it. Pass --replace to retrain it anyway."
        )
    return live


def train_champion(
    backend: Backend,
    settings: Settings,
    plan: CyclePlan | None = None,
    *,
    replace: bool = False,
    allow_weak: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> ModelVersion:
    """Train the bootstrap champion and make it CHAMPION, LIVE_VERSION and default.

    Args:
        plan: The bootstrap plan (``plan_cycle(..., role="champion")``); planned here if None.
        replace: Allow replacing an existing live champion (recorded in the ledger).
        allow_weak: Make it live even if its test AUC is no better than chance (else refused).

    Raises:
        ConfigError: if a champion is already live and ``replace`` is false.
        DataValidationError: if its test AUC is no better than chance and not
            ``allow_weak`` (the version stays logged, not live).
    """
    plan = plan or plan_cycle(backend, settings, role="champion")
    live = check_bootstrap(backend, settings, replace=replace)
    version = train_champion_version(backend, settings, plan, allow_weak=allow_weak)
    if version.name == live:
        logger.info("Champion %s is unchanged", live)
        return version
    entry = LedgerEntry(
        outcome=Outcome.BOOTSTRAPPED,
        reason=f"Champion {version.name} trained on {plan.windows.train} installed as live version.",
        actor=actor or default_actor(),
        champion_version=live,
        challenger_version=version.name,
        data_week=plan.data_period,
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
    under_test = live_candidate(backend) if settings.live.on else None
    if under_test is not None:
        logger.info("CHALLENGER stays on %s, under live test", under_test.version)
        return RetrainResult(version=version, reused=reused, plan=plan)
    try:
        backend.registry.set_challenger(version.name)
    except AlreadyChampionError:  # unchanged data, or another run just promoted this version
        logger.info("Challenger %s is the live champion itself", version.name)
    return RetrainResult(version=version, reused=reused, plan=plan)


def evaluate(
    backend: Backend,
    plan: CyclePlan,
    *,
    challenger: str | ModelVersion | None = None,
    unlogged: TrainedModel | None = None,
) -> Evaluation:
    """Score the champion and the challenger on the plan's hold-out.

    Args:
        challenger: The challenger's version (its record, or its name); the CHALLENGER
            alias's by default.
        unlogged: A dry run's challenger, judged as it is (``challenger`` records it).
    """
    from flows.cycle.evaluation import evaluate_pair

    registry = backend.registry
    champion = registry.champion()
    if isinstance(challenger, ModelVersion):
        version = challenger
    else:
        version = registry.get_version(
            challenger or registry.version_by_alias(CHALLENGER) or champion.name
        )
    holdout = backend.source.read_periods(plan.holdout, input_name="hold-out")
    return evaluate_pair(
        backend,
        champion,
        version,
        holdout,
        holdout=plan.holdout,
        data_period=plan.data_period,
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
    live: LiveSettings | None = None,
) -> PromotionReport:
    """Let ``policy`` decide on ``evaluation``, apply the verdict and record it.

    A "promote" verdict becomes a compare-and-set against the champion that was
    evaluated: if another run changed the live version meanwhile, nothing switches
    and the ledger says so. Every other verdict is recorded as it is. Whatever the
    policy, the entry carries the evidence's strength (``flows.cycle.strength``).
    With ``live`` on, a "promote" verdict opens a live test instead
    (``flows.live.candidacy``): the challenger becomes the CHALLENGER candidate.
    """
    registry = backend.registry
    evidence = build_evidence(evaluation, last_promotion=last_promotion_period(registry))
    actor, plan_record = actor or default_actor(), plan.to_dict() if plan else {}
    decision = apply_policy(
        registry, evaluation, policy, evidence, actor=actor, run_id=run_id, plan=plan_record
    )
    strength = evidence_strength(
        evaluation.y_true, evaluation.champion_scores, evaluation.challenger_scores
    )
    live_test = None
    if live is not None and live.on:
        live_test = partial(as_candidacy, live=live, open_test=live_candidate(backend))
    entry = decision_entry(
        evaluation,
        decision,
        strength=strength,
        dry_run=dry_run,
        actor=actor,
        run_id=run_id,
        plan=plan_record,
        live_test=live_test,
    )
    payload = evidence.to_npz_bytes()
    if entry.outcome is Outcome.CANDIDATE:
        registry.set_challenger(evaluation.challenger.name)
        recorded = registry.append_ledger(entry, evidence=payload)
    elif entry.outcome is Outcome.PROMOTED:
        recorded = switch_live(
            registry, evaluation.champion.name, evaluation.challenger.name, entry, evidence=payload
        )
    else:
        recorded = registry.append_ledger(entry, evidence=payload)
    logger.info("Decision recorded as ledger entry %s: %s", recorded.id, recorded.reason)
    return PromotionReport(entry=recorded, decision=decision, evaluation=evaluation)


def score(
    backend: Backend,
    *,
    periods: PeriodRange | None = None,
    data: pd.DataFrame | None = None,
) -> ScoringResult:
    """Score ``data`` (or the stored ``periods``, default the newest) with the live version.

    The live version checks ``data`` against its own contract: only its features are
    needed, and a missing one fails before any row is scored. Stored rows keep their
    label as the table gives it ("yes"/"no", not 0/1) and no internal column.
    """
    registry = backend.registry
    champion = registry.champion()
    live, contract = champion.name, champion.data_contract
    if data is None:
        newest = data_span(backend)[1]
        periods = periods or PeriodRange(newest, newest)
        data = backend.source.read_periods(
            periods, input_name="scoring input", labels_as_written=True
        )
        data = data.drop(columns=[PERIOD_KEY], errors="ignore")  # internal, not the user's
    scores = data.copy()
    scores[contract.score_column] = registry.predict_proba(live, data)
    scores[VERSION_COLUMN] = live
    logger.info("Scored %d rows with live version %s", len(scores), live)
    return ScoringResult(version=live, scores=scores, contract=contract)
