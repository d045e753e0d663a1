"""How a weekly cycle's decision opens a live test, and how the ledger says which test is open.

With ``[live]`` on, a challenger that passes the offline policy is not promoted: its
``promoted`` decision becomes a ``candidate`` entry, and the candidate is tested on
live traffic until a review promotes or rejects it. One test at a time: while a test
is open, a newer challenger that passes offline is recorded as ``kept`` with the reason
that the candidate is under live test, and the CHALLENGER alias stays on the candidate.
A newer candidate replaces an older one only after a recorded end of the older test
(``rejected``, a live promotion, or any switch of the live version).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from flows.live.candidate import DETAILS_KEY, Candidate
from flows.live.settings import SPLIT
from flows.records import LedgerEntry, Outcome

if TYPE_CHECKING:
    import ccpolicy
    from flows.backends.registry import Registry
    from flows.live.settings import LiveSettings

LOOK_KEY = "look"
"""The key of ``details["live"]`` holding a look's record (``ccpolicy.Look.to_dict()``)."""


@dataclass(frozen=True)
class LivePath:
    """A live test's course in the ledger: its candidate, its looks, and how it ended."""

    candidate: Candidate
    looks: tuple[ccpolicy.Look, ...]
    """Every look taken, oldest first (the last one decided, once the test ended)."""
    ended: LedgerEntry | None
    """The review that ended the test (promoted, rejected, stale-champion); None while open."""


def live_path(
    entries: Sequence[LedgerEntry], candidate: Candidate | None = None
) -> LivePath | None:
    """The course of ``candidate``'s test (default: the newest test opened) in ``entries``."""
    import ccpolicy

    if candidate is None:
        opened = [e for e in entries if e.outcome is Outcome.CANDIDATE]
        if not opened:
            return None
        candidate = Candidate.from_entry(opened[-1])
    reviews = [
        e
        for e in entries
        if (e.id or 0) > (candidate.entry_id or 0)
        and e.challenger_version == candidate.version
        and DETAILS_KEY in e.details
    ]
    looks = tuple(
        ccpolicy.Look.from_dict(e.details[DETAILS_KEY][LOOK_KEY])
        for e in reviews
        if e.details[DETAILS_KEY].get(LOOK_KEY)
    )
    ended = next((e for e in reviews if e.outcome is not Outcome.CONTINUED), None)
    return LivePath(candidate, looks, ended)


def earlier_looks(registry: Registry, candidate: Candidate) -> tuple[ccpolicy.Look, ...]:
    """The looks already taken at ``candidate``, oldest first, for its next look."""
    path = live_path(registry.ledger(), candidate)
    return path.looks if path is not None else ()


def load_live_policy(live: LiveSettings) -> ccpolicy.Policy:
    """The live policy ``[live]`` names, loaded and checked like the offline one.

    Raises:
        ccpolicy.PolicyError: an unknown name or bad parameters, listing what is installed.
    """
    import ccpolicy

    return ccpolicy.load_policy(live.policy, **live.params)


def as_candidacy(
    entry: LedgerEntry, live: LiveSettings, *, open_test: Candidate | None
) -> LedgerEntry:
    """What a weekly decision becomes in live mode: a promotion opens a live test instead.

    Any other outcome is returned as it is. A passing challenger while ``open_test``
    runs is kept, naming the candidate under test. The new candidate's test is frozen
    in its entry: a fresh random salt for the arm assignment, the live policy with
    its effective parameters, and the cycle's data period as ``since_period``.
    """
    if entry.outcome is not Outcome.PROMOTED:
        return entry
    if open_test is not None:
        return replace(
            entry,
            outcome=Outcome.KEPT,
            reason=(
                f"{entry.reason}. Not a candidate: candidate {open_test.version} is under live "
                f"test (since period {open_test.since_period}); a new candidate waits until "
                "that test is promoted or rejected."
            ),
        )
    policy = load_live_policy(live)
    candidate = Candidate(
        version=str(entry.challenger_version),
        champion_version=str(entry.champion_version),
        mode=live.mode,
        share=live.share,
        salt=secrets.token_hex(8),
        maturity=live.maturity,
        policy=policy.name,
        policy_params=dict(policy.params),
        since_period=entry.data_week,
    )
    share = f", {live.share:.0%} of the ids" if live.mode == SPLIT else ""
    return replace(
        entry,
        outcome=Outcome.CANDIDATE,
        reason=(
            f"{entry.reason}. Live mode: {candidate.version} becomes the live candidate against "
            f"{candidate.champion_version} ({live.mode}{share}), judged by {policy.name} on "
            f"outcomes matured {live.maturity} period(s) after scoring."
        ),
        details={**entry.details, **candidate.to_details()},
    )
