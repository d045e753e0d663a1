"""The live candidate: which version is under test, against which champion, and how.

The ledger is its record. A ``candidate`` entry opens a test and carries everything the
test needs in ``details["live"]`` (the mode, the share, the salt of the arm assignment,
the maturity and the live policy with its parameters, frozen for the test's life), so
that changing ``config.toml`` mid-test changes no test under way. The test closes with
a ``rejected`` entry, a live promotion, or any entry that switched the live version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.records import LedgerEntry, Outcome

DETAILS_KEY = "live"
"""The key of ``LedgerEntry.details`` that holds a live test's record."""


@dataclass(frozen=True)
class Candidate:
    """A challenger under live test against one champion."""

    version: str
    """The candidate's registry version."""
    champion_version: str
    """The live version it is tested against; the test ends if that changes."""
    mode: str
    """``shadow`` or ``split``."""
    share: float
    """The candidate's share of ids in ``split`` mode."""
    salt: str
    """Salt of the arm assignment, fixed for the test's life."""
    maturity: int
    """Periods after scoring at which an outcome counts as final."""
    policy: str
    """The live policy's name."""
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    """The live policy's parameters, frozen when the test opened."""
    since_period: int | None = None
    """The data period at which the test opened."""
    entry_id: int | None = None
    """The ledger entry that opened the test."""

    def to_details(self) -> dict[str, Any]:
        """The ``details`` of the ledger entry that opens the test."""
        return {
            DETAILS_KEY: {
                "mode": self.mode,
                "share": self.share,
                "salt": self.salt,
                "maturity": self.maturity,
                "policy": self.policy,
                "policy_params": dict(self.policy_params),
                "since_period": self.since_period,
            }
        }

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Candidate:
        """The candidate a ``candidate`` ledger entry opened."""
        live = entry.details[DETAILS_KEY]
        return cls(
            version=str(entry.challenger_version),
            champion_version=str(entry.champion_version),
            mode=live["mode"],
            share=float(live["share"]),
            salt=live["salt"],
            maturity=int(live["maturity"]),
            policy=live["policy"],
            policy_params=dict(live["policy_params"]),
            since_period=live["since_period"],
            entry_id=entry.id,
        )


def current_candidate(entries_newest_first: Iterable[LedgerEntry]) -> Candidate | None:
    """The open live test, if any: the newest ``candidate`` entry not closed since."""
    for entry in entries_newest_first:
        if entry.outcome is Outcome.CANDIDATE:
            return Candidate.from_entry(entry)
        if entry.outcome is Outcome.REJECTED or entry.outcome.switched_live:
            return None
    return None
