"""The live review: one look at the open candidate's matured outcomes, recorded in the ledger.

A review reads the candidate's scored rows whose outcome has matured (periods up to
the newest data period minus the test's maturity), builds paired evidence (shadow:
both models scored every row) or independent evidence (split: each arm its own
rows), hands the policy the looks already taken, and records what the look decided:

- ``continued``: the boundary was not crossed and looks remain;
- ``promoted``: through the same compare-and-set as a weekly promotion, against the
  champion the candidate was tested against;
- ``rejected``: the last look without a crossing; the CHALLENGER alias is cleared.

A review that finds the champion changed under the test ends it (``rejected``, with
that reason). A review that adds too few rows to be a look records nothing: it is no
decision, and a daily schedule must not fill the ledger between weekly outcomes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from flows.cycle.live import live_candidate, live_clock, score_log, through_period
from flows.cycle.promotion import default_actor, switch_live
from flows.errors import ConfigError
from flows.live.candidacy import LOOK_KEY, earlier_looks
from flows.live.candidate import DETAILS_KEY, Candidate
from flows.live.settings import SHADOW
from flows.records import LedgerEntry, Outcome

if TYPE_CHECKING:
    import pandas as pd

    import ccpolicy
    from flows.backends import Backend
    from flows.config import Settings

logger = logging.getLogger(__name__)


class NoCandidateError(ConfigError):
    """There is no live test to review."""


@dataclass(frozen=True)
class ReviewResult:
    """What one review did (or, in a dry run, would do)."""

    candidate: Candidate
    """The candidate under test."""
    outcome: Outcome | None
    """``continued``, ``promoted``, ``rejected`` (or ``stale-champion``); None when no look was taken."""
    reason: str
    """Why, with the numbers."""
    looks: tuple[ccpolicy.Look, ...] = ()
    """Every look at this candidate so far, this one included when it was a look."""
    rows: int = 0
    """Matured rows judged (both arms together under split traffic)."""
    through_period: int | None = None
    """The newest period whose outcomes count as matured."""
    data_period: int = 0
    """The live clock when the review ran: the newest period stored or scored."""
    details: dict[str, Any] = field(default_factory=dict)
    """The policy's numbers behind the verdict."""
    entry: LedgerEntry | None = None
    """The ledger entry recorded; None for a dry run or when no look was taken."""
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json`` and the flow's result."""
        return {
            "candidate": self.candidate.version,
            "champion": self.candidate.champion_version,
            "mode": self.candidate.mode,
            "outcome": self.outcome.value if self.outcome else None,
            "reason": self.reason,
            "looks": [look.to_dict() for look in self.looks],
            "rows": self.rows,
            "through_period": self.through_period,
            "data_period": self.data_period,
            "details": self.details,
            "entry": self.entry.to_dict() if self.entry else None,
            "dry_run": self.dry_run,
        }


def review(
    backend: Backend,
    settings: Settings,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> ReviewResult:
    """Take one look at the open candidate's matured live evidence and record it.

    Args:
        dry_run: Decide and say what it would record, recording nothing.

    Raises:
        NoCandidateError: no candidate is under live test.
        ccpolicy.PolicyError: the live policy could not load or decide.
    """
    import ccpolicy

    registry = backend.registry
    candidate = live_candidate(backend)
    if candidate is None:
        raise NoCandidateError(
            "No candidate is under live test: a weekly cycle with [live] mode on opens one "
            "when its challenger passes the offline policy."
        )
    looks = earlier_looks(registry, candidate)
    newest = live_clock(backend)
    base = LedgerEntry(
        outcome=Outcome.CONTINUED,
        reason="",
        actor=actor or default_actor(),
        champion_version=candidate.champion_version,
        challenger_version=candidate.version,
        policy=candidate.policy,
        policy_params=dict(candidate.policy_params),
        data_week=newest,
        run_id=run_id,
    )
    live_now = registry.live_version()
    if live_now != candidate.champion_version:
        reason = (
            f"The live version is now {live_now}, not {candidate.champion_version} that candidate "
            f"{candidate.version} was tested against: its live test ends without a decision."
        )
        entry = _with_live(base, candidate, Outcome.REJECTED, reason, look=None)
        return _record(backend, candidate, entry, None, looks=looks, dry_run=dry_run)
    through = through_period(backend, candidate)
    evidence = live_evidence(
        score_log(backend).matured(candidate.version, through_period=through),
        candidate,
        earlier=looks,
        data_period=newest,
        unit=backend.source.calendar().unit,
    )
    if evidence is None:
        return ReviewResult(
            candidate,
            None,
            f"No matured outcomes yet for {candidate.version} (periods up to {through}): not a "
            "look, nothing recorded.",
            looks=looks,
            through_period=through,
            data_period=newest,
            dry_run=dry_run,
        )
    policy = ccpolicy.load_policy(candidate.policy, **candidate.policy_params)
    decision = policy(evidence)
    look = ccpolicy.look_of(decision)
    details = decision.to_dict()["details"]
    if look is None:
        return ReviewResult(
            candidate,
            None,
            f"{decision.reason} (nothing recorded)",
            looks=looks,
            rows=evidence.n_rows,
            through_period=through,
            data_period=newest,
            details=details,
            dry_run=dry_run,
        )
    outcome = {
        ccpolicy.Verdict.PROMOTE: Outcome.PROMOTED,
        ccpolicy.Verdict.KEEP: Outcome.REJECTED,
        ccpolicy.Verdict.INCONCLUSIVE: Outcome.CONTINUED,
    }[decision.verdict]
    entry = _with_live(
        base,
        candidate,
        outcome,
        decision.reason,
        look=look,
        details=details,
        verdict=decision.verdict.value,
        rows=evidence.n_rows,
        through=through,
    )
    return _record(
        backend, candidate, entry, evidence, looks=(*looks, look), dry_run=dry_run, details=details
    )


def live_evidence(
    rows: pd.DataFrame,
    candidate: Candidate,
    *,
    earlier: tuple[ccpolicy.Look, ...],
    data_period: int,
    unit: str,
) -> ccpolicy.Evidence | None:
    """The policy's view of matured rows: paired in shadow, independent in split; None if empty.

    Only rows scored against the candidate's own champion count: live evidence belongs
    to one candidate and one champion.
    """
    import ccpolicy
    from flows.live.assignment import CANDIDATE_ARM, CHAMPION_ARM  # numpy: not for `status`

    rows = rows[rows["champion_version"] == candidate.champion_version]
    context = {
        "champion_version": candidate.champion_version,
        "challenger_version": candidate.version,
        "data_week": data_period,
        "period": unit,
        "earlier_looks": earlier,
    }
    if candidate.mode == SHADOW:
        rows = rows.dropna(subset=["champion_score", "candidate_score"])
        if rows.empty:
            return None
        return ccpolicy.Evidence(
            rows["label"].to_numpy(),
            rows["champion_score"].to_numpy(),
            rows["candidate_score"].to_numpy(),
            **context,
        )
    champion = rows[rows["arm"] == CHAMPION_ARM].dropna(subset=["champion_score"])
    challenger = rows[rows["arm"] == CANDIDATE_ARM].dropna(subset=["candidate_score"])
    if champion.empty or challenger.empty:
        return None
    return ccpolicy.Evidence.independent(
        champion["label"].to_numpy(),
        champion["champion_score"].to_numpy(),
        challenger["label"].to_numpy(),
        challenger["candidate_score"].to_numpy(),
        **context,
    )


def _with_live(
    base: LedgerEntry,
    candidate: Candidate,
    outcome: Outcome,
    reason: str,
    *,
    look: ccpolicy.Look | None,
    details: dict[str, Any] | None = None,
    verdict: str | None = None,
    rows: int = 0,
    through: int | None = None,
) -> LedgerEntry:
    """The look's ledger entry: the policy's numbers, and ``details["live"]`` for the next look."""
    live = {
        "candidate_entry": candidate.entry_id,
        "mode": candidate.mode,
        "rows": rows,
        "through_period": through,
        LOOK_KEY: look.to_dict() if look is not None else None,
    }
    return replace(
        base,
        outcome=outcome,
        reason=reason,
        verdict=verdict,
        details={**(details or {}), DETAILS_KEY: live},
    )


def _record(
    backend: Backend,
    candidate: Candidate,
    entry: LedgerEntry,
    evidence: ccpolicy.Evidence | None,
    *,
    looks: tuple[ccpolicy.Look, ...],
    dry_run: bool,
    details: dict[str, Any] | None = None,
) -> ReviewResult:
    """Apply and record ``entry`` (nothing in a dry run): promote as a compare-and-set."""
    live = entry.details[DETAILS_KEY]
    result = ReviewResult(
        candidate,
        entry.outcome,
        entry.reason,
        looks=looks,
        rows=live["rows"],
        through_period=live["through_period"],
        data_period=entry.data_week or 0,
        details=details or {},
        dry_run=dry_run,
    )
    if dry_run:
        return result
    registry = backend.registry
    payload = evidence.to_npz_bytes() if evidence is not None else None
    if entry.outcome is Outcome.PROMOTED:
        recorded = switch_live(
            registry, candidate.champion_version, candidate.version, entry, evidence=payload
        )
    else:
        if entry.outcome is Outcome.REJECTED:
            registry.clear_challenger(candidate.version)
        recorded = registry.append_ledger(entry, evidence=payload)
    logger.info("Live review recorded as ledger entry %s: %s", recorded.id, recorded.reason)
    return replace(result, outcome=recorded.outcome, entry=recorded)
