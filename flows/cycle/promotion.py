"""The pieces that turn a policy's decision into a recorded switch of the live model.

Every decision lands in the ledger, whatever it is: promote, keep, inconclusive,
a dry run, a lost compare-and-set, a rollback. The hold-out labels and both
models' scores are stored with it, so any policy can be replayed on it later.
``flows.cycle.steps`` composes these pieces into the decide and roll-back steps.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from flows.errors import ArtifactIntegrityError
from flows.records import LedgerEntry, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable

    import ccpolicy
    from flows.backends.registry import Registry
    from flows.cycle.evaluation import Evaluation
    from flows.cycle.strength import EvidenceStrength

logger = logging.getLogger(__name__)


def outcome_of(verdict: ccpolicy.Verdict) -> Outcome:
    """What ``verdict`` does to the live model when it is applied."""
    from ccpolicy import Verdict  # here: ccpolicy loads numpy, and `ccflows status` needs neither

    return {
        Verdict.PROMOTE: Outcome.PROMOTED,
        Verdict.KEEP: Outcome.KEPT,
        Verdict.INCONCLUSIVE: Outcome.INCONCLUSIVE,
    }[Verdict(verdict)]


def default_actor() -> str:
    """Who is acting: ``CC_ACTOR`` if set, else ``user@host``."""
    if actor := os.environ.get("CC_ACTOR"):
        return actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def last_promotion_period(registry: Registry) -> int | None:
    """The data period of the newest promotion in the ledger (for cool-down guardrails)."""
    for entry in reversed(registry.ledger()):
        if entry.outcome is Outcome.PROMOTED:
            return entry.data_week
    return None


def build_evidence(evaluation: Evaluation, *, last_promotion: int | None) -> ccpolicy.Evidence:
    """The policy's view of an evaluation."""
    import ccpolicy

    return ccpolicy.Evidence(
        evaluation.y_true,
        evaluation.champion_scores,
        evaluation.challenger_scores,
        champion_metrics=evaluation.champion_metrics,
        challenger_metrics=evaluation.challenger_metrics,
        holdout_fingerprint=evaluation.holdout_fingerprint,
        champion_version=evaluation.champion.name,
        challenger_version=evaluation.challenger.name,
        champion_window=evaluation.champion.train_weeks,
        challenger_window=evaluation.challenger.train_weeks,
        data_week=evaluation.data_period,
        last_promotion_week=last_promotion,
        period=evaluation.holdout.calendar.unit,
    )


@dataclass(frozen=True)
class PromotionReport:
    """What a decision step did: the recorded ledger entry and the policy's decision."""

    entry: LedgerEntry
    decision: ccpolicy.Decision
    evaluation: Evaluation

    @property
    def promoted(self) -> bool:
        """Whether the challenger is now live."""
        return self.entry.outcome is Outcome.PROMOTED


def apply_policy(
    registry: Registry,
    evaluation: Evaluation,
    policy: ccpolicy.Policy,
    evidence: ccpolicy.Evidence,
    *,
    actor: str,
    run_id: str | None = None,
    plan: dict[str, Any] | None = None,
) -> ccpolicy.Decision:
    """Let ``policy`` decide on ``evidence``; a policy that cannot decide is a decision too.

    When the policy raises while deciding, returns something other than a Decision,
    or cannot read the evidence its guardrails need, a ``failed`` entry naming the
    policy (its entry point and distribution) is recorded with the evidence, and the
    error is raised again. Nothing switches: the champion is untouched.

    Raises:
        ccpolicy.PolicyError: what the policy failed with.
    """
    import ccpolicy

    try:
        return policy(evidence)
    except ccpolicy.PolicyError as exc:
        entry = registry.append_ledger(
            LedgerEntry(
                outcome=Outcome.FAILED,
                reason=f"The policy could not decide; champion untouched. {exc}",
                actor=actor,
                champion_version=evaluation.champion.name,
                challenger_version=evaluation.challenger.name,
                policy=policy.name,
                policy_params=policy.params,
                holdout_fingerprint=evaluation.holdout_fingerprint,
                holdout_weeks=(evaluation.holdout.start, evaluation.holdout.end),
                data_week=evaluation.data_period,
                metrics=evaluation.metrics_by_role(),
                plan=plan or {},
                run_id=run_id,
            ),
            evidence=evidence.to_npz_bytes(),
        )
        logger.error("Decision failed, recorded as ledger entry %s: %s", entry.id, entry.reason)
        raise


def decision_entry(
    evaluation: Evaluation,
    decision: ccpolicy.Decision,
    *,
    actor: str,
    strength: EvidenceStrength | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
    plan: dict[str, Any] | None = None,
    live_test: Callable[[LedgerEntry], LedgerEntry] | None = None,
) -> LedgerEntry:
    """The ledger entry of ``decision`` on ``evaluation``, not yet applied or recorded.

    A challenger that is the champion itself is kept whatever the verdict, and a dry
    run is recorded as one, with what it would have done in its reason. A promotion
    whose gain is within the noise (``strength``) says so at the end of its reason.
    ``live_test`` turns the entry into what live mode makes of it (a promotion opens a
    live test instead), before a dry run says what it would have done.
    """
    outcome = outcome_of(decision.verdict)
    reason = decision.reason
    if outcome is Outcome.PROMOTED and strength is not None and strength.within_noise:
        reason = f"{reason}. {strength.noise_note()}"
    if evaluation.challenger.name == evaluation.champion.name:
        outcome = Outcome.KEPT
        reason = (
            f"The retrained challenger is the live champion itself ({evaluation.champion.name}): "
            "same spec, same training rows. Nothing to promote."
        )
    entry = LedgerEntry(
        outcome=outcome,
        reason=reason,
        actor=actor,
        champion_version=evaluation.champion.name,
        challenger_version=evaluation.challenger.name,
        verdict=decision.verdict.value,
        policy=decision.policy,
        policy_params=dict(decision.params),
        holdout_fingerprint=evaluation.holdout_fingerprint,
        holdout_weeks=(evaluation.holdout.start, evaluation.holdout.end),
        data_week=evaluation.data_period,
        metrics=evaluation.metrics_by_role(),
        details=decision.to_dict()["details"],
        strength=strength.to_dict() if strength is not None else {},
        plan=plan or {},
        run_id=run_id,
    )
    if live_test is not None:
        entry = live_test(entry)
    if dry_run:
        reason = f"{entry.reason} (dry run: would be {entry.outcome.value}; nothing changed)"
        entry = replace(entry, outcome=Outcome.DRY_RUN, reason=reason)
    return entry


def switch_live(
    registry: Registry,
    expected: str | None,
    new: str,
    entry: LedgerEntry,
    *,
    evidence: bytes | None = None,
) -> LedgerEntry:
    """The compare-and-set switch, with a refused switch recorded too.

    When the backend refuses to make ``new`` live because its artifact is missing
    or altered, nothing switches, the attempt is recorded as ``FAILED`` with the
    reason, and the error is raised again: a decision is never silently lost.
    """
    try:
        return registry.promote_if_champion_is(expected, new, entry, evidence=evidence)
    except ArtifactIntegrityError as exc:
        registry.append_ledger(
            replace(entry, outcome=Outcome.FAILED, reason=f"{entry.reason} — not applied: {exc}"),
            evidence=evidence,
        )
        raise
