"""Turning a policy's decision into a recorded, compare-and-set switch of the live model.

Every decision lands in the ledger, whatever it is: promote, keep, inconclusive,
a dry run, a lost compare-and-set, a rollback. The hold-out labels and both
models' scores are stored with it, so any policy can be replayed on it later.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from flows.errors import ArtifactIntegrityError, ConfigError, NoChampionError
from flows.registry.base import LedgerEntry, Outcome, json_default

if TYPE_CHECKING:
    import ccpolicy
    from flows.evaluation import Evaluation
    from flows.registry.base import Registry

logger = logging.getLogger(__name__)

_OUTCOME_OF_VERDICT = {
    "promote": Outcome.PROMOTED,
    "keep": Outcome.KEPT,
    "inconclusive": Outcome.INCONCLUSIVE,
}


def default_actor() -> str:
    """Who is acting: ``CC_ACTOR`` if set, else ``user@host``."""
    if actor := os.environ.get("CC_ACTOR"):
        return actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def last_promotion_week(registry: Registry) -> int | None:
    """The data week of the newest promotion in the ledger (for cool-down guardrails)."""
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
        data_week=evaluation.data_week,
        last_promotion_week=last_promotion,
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


def decide_and_record(
    registry: Registry,
    evaluation: Evaluation,
    policy: ccpolicy.Policy,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> PromotionReport:
    """Let ``policy`` decide on ``evaluation``, apply the verdict and record it.

    A "promote" verdict becomes a compare-and-set against the champion that was
    evaluated: if another run changed the live version meanwhile, nothing switches
    and the ledger says so.
    """
    evidence = build_evidence(evaluation, last_promotion=last_promotion_week(registry))
    decision = policy(evidence)
    outcome = _OUTCOME_OF_VERDICT[decision.verdict.value]
    reason = decision.reason
    if evaluation.challenger.name == evaluation.champion.name:
        outcome = Outcome.KEPT
        reason = (
            f"The retrained challenger is the live champion itself ({evaluation.champion.name}): "
            "same spec, same training rows. Nothing to promote."
        )
    if dry_run:
        reason = f"{reason} (dry run: would be {outcome.value}; nothing changed)"
        outcome = Outcome.DRY_RUN
    entry = LedgerEntry(
        outcome=outcome,
        reason=reason,
        actor=actor or default_actor(),
        champion_version=evaluation.champion.name,
        challenger_version=evaluation.challenger.name,
        verdict=decision.verdict.value,
        policy=decision.policy,
        policy_params=dict(decision.params),
        holdout_fingerprint=evaluation.holdout_fingerprint,
        holdout_weeks=(evaluation.holdout_weeks.start, evaluation.holdout_weeks.end),
        data_week=evaluation.data_week,
        metrics=evaluation.metrics_by_role(),
        details=_json_safe(decision.details),
        run_id=run_id,
    )
    payload = evidence.to_npz_bytes()
    if outcome is Outcome.PROMOTED:
        recorded = switch_live(
            registry, evaluation.champion.name, evaluation.challenger.name, entry, evidence=payload
        )
    else:
        recorded = registry.append_ledger(entry, evidence=payload)
    logger.info("Decision recorded as ledger entry %s: %s", recorded.id, recorded.reason)
    return PromotionReport(entry=recorded, decision=decision, evaluation=evaluation)


def rollback(
    registry: Registry,
    *,
    to_version: str | None = None,
    if_live: str | None = None,
    reason: str = "",
    actor: str | None = None,
    run_id: str | None = None,
) -> LedgerEntry:
    """Make the previous champion (or ``to_version``) live again, as a compare-and-set.

    The previous champion is the one the live version replaced, walking back past
    earlier rollbacks (:meth:`Registry.previous_champion`), so rolling back twice
    undoes two promotions. The target's artifact is checked before anything switches.

    Args:
        registry: The registry to act on.
        to_version: The version to make live; defaults to the previous champion.
        if_live: Roll back only if this version is still live; defaults to the version
            live now. If another run switched first, nothing changes and the ledger
            records the lost compare-and-set (``Outcome.STALE_CHAMPION``).
        reason: Why, recorded in the ledger.
        actor: Who, recorded in the ledger; defaults to :func:`default_actor`.
        run_id: The orchestrator run, if any.

    Returns:
        The recorded ledger entry (``ROLLED_BACK``, or ``STALE_CHAMPION`` if it lost).

    Raises:
        NoChampionError: if nothing is live, or there is no earlier champion to return to.
        ConfigError: if the target is already live.
        VersionNotFoundError: if the target is not a version of the model.
        ArtifactIntegrityError: if the target's artifact is missing or altered.
    """
    live = registry.live_version()
    if live is None:
        raise NoChampionError(f"Model {registry.model_name} has no live version to roll back from.")
    expected = if_live or live
    target = to_version or registry.previous_champion()
    if target is None:
        raise NoChampionError(
            f"Model {registry.model_name} has no earlier champion in the ledger to roll back "
            f"to from {live}; name a version with --to."
        )
    if target == expected:
        raise ConfigError(f"Version {target} is already live; nothing to roll back.")
    registry.get_version(target)
    entry = LedgerEntry(
        outcome=Outcome.ROLLED_BACK,
        reason=f"Rolled back from {expected} to {target}" + (f": {reason}" if reason else "."),
        actor=actor or default_actor(),
        champion_version=expected,
        challenger_version=target,
        run_id=run_id,
    )
    recorded = switch_live(registry, expected, target, entry)
    logger.info("%s", recorded.reason)
    return recorded


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


def _json_safe(details: Any) -> dict[str, Any]:
    """Details as plain JSON values (numpy scalars and tuples converted)."""
    return json.loads(json.dumps(dict(details), default=json_default))


def replay(
    registry: Registry, policy: ccpolicy.Policy, *, entry_ids: list[int] | None = None
) -> list[tuple[LedgerEntry, ccpolicy.Decision]]:
    """What ``policy`` would have decided on the evidence stored with past ledger entries.

    Nothing is changed or recorded. Entries without stored evidence are skipped.
    """
    import ccpolicy

    wanted = set(entry_ids) if entry_ids else None
    results = []
    for entry in registry.ledger():
        if not entry.has_evidence or (wanted is not None and entry.id not in wanted):
            continue
        payload = registry.ledger_evidence(entry.id)
        results.append((entry, policy(ccpolicy.Evidence.from_npz_bytes(payload))))
    return results
