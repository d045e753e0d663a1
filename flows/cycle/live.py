"""The live test as the steps see it: the open candidate, the clock that matures rows, outcomes.

``flows.cycle.steps`` re-exports these; the review, the CLI and the flows call them
there. The score log itself is the backend's (``Backend.score_log``); the candidate is
read from the ledger (``flows.live.candidate``).

The clock: a row scored in period ``p`` is mature once the clock reaches
``p + maturity``. The clock is the newest period the model has seen, in the stored
data or in the score log, so it moves with the data (not the wall clock), the same on
both backends and in tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.errors import ConfigError
from flows.live.candidate import current_candidate
from flows.live.settings import SPLIT
from flows.records import Outcome

if TYPE_CHECKING:
    import pandas as pd

    from flows.backends import Backend
    from flows.live.candidate import Candidate
    from flows.live.score_log import LogSummary, OutcomesAdded, ScoreLog

logger = logging.getLogger(__name__)


def live_candidate(backend: Backend) -> Candidate | None:
    """The candidate under live test, if one is open (whatever ``[live] mode`` says now)."""
    return current_candidate(reversed(backend.registry.ledger()))


def scoring_candidate(backend: Backend) -> Candidate | None:
    """The candidate scoring logs for: the open one, when ``[live] mode`` is on."""
    return live_candidate(backend) if backend.live.on else None


def score_log(backend: Backend) -> ScoreLog:
    """The backend's score log.

    Raises:
        ConfigError: for a backend assembled without one.
    """
    if backend.score_log is None:
        raise ConfigError("This backend keeps no score log; live testing needs one.")
    return backend.score_log


def live_clock(backend: Backend) -> int | None:
    """The newest period seen, stored or scored: the clock rows mature by (None: nothing yet)."""
    span = backend.source.period_span()
    newest = [
        p for p in (span[1] if span else None, score_log(backend).newest_period()) if p is not None
    ]
    return max(newest) if newest else None


def through_period(backend: Backend, test: Candidate | None) -> int:
    """The newest scored period whose rows are mature for ``test`` (its outcomes count).

    Without a test open, ``[live] maturity`` of the settings counts.
    """
    clock = live_clock(backend)
    maturity = test.maturity if test is not None else backend.live.maturity
    return (clock if clock is not None else 0) - maturity


@dataclass(frozen=True)
class LiveStatus:
    """How far the open live test has come, for ``ccflows status``."""

    candidate: Candidate
    summary: LogSummary
    through_period: int
    """Rows scored up to this period are mature."""
    looks: int
    """Looks taken so far (``continued`` entries since the test opened)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``ccflows status --json``)."""
        test = self.candidate
        return {
            "candidate": test.version,
            "champion": test.champion_version,
            "mode": test.mode,
            "share": test.share if test.mode == SPLIT else None,
            "maturity": test.maturity,
            "policy": test.policy,
            "opened_by_entry": test.entry_id,
            "scored": dict(self.summary.scored),
            "with_outcome": self.summary.with_outcome,
            "matured": self.summary.matured,
            "mature_through_period": self.through_period,
            "looks": self.looks,
        }


def live_status(backend: Backend) -> LiveStatus | None:
    """The open live test's candidate, evidence and looks; None when no test is open."""
    entries = backend.registry.ledger()
    test = current_candidate(reversed(entries))
    if test is None:
        return None
    since = [e for e in entries if test.entry_id is None or (e.id or 0) > test.entry_id]
    through = through_period(backend, test)
    return LiveStatus(
        candidate=test,
        summary=score_log(backend).summary(test.version, through_period=through),
        through_period=through,
        looks=sum(e.outcome is Outcome.CONTINUED for e in since),
    )


def stored_labels(backend: Backend) -> frozenset[str]:
    """The labels the stored rows hold as written, for checking outcomes' labels.

    Only a contract with ``positive_label`` needs them (any other value would read as a
    negative); without one, the contract alone knows its labels and nothing is read.
    """
    if backend.source.contract.positive_label is None:
        return frozenset()
    return backend.source.label_values()


def ingest_outcomes(backend: Backend, outcomes: pd.DataFrame) -> OutcomesAdded:
    """Add outcomes :func:`flows.live.outcomes.read_outcomes` checked to the score log.

    All or nothing: one unknown or repeated id refuses the whole input. Outcomes for
    rows not mature yet are stored and counted; they join the evidence once mature.

    Raises:
        DataValidationError: an id never scored, or one that already has an outcome:
            one line naming how many and an example; nothing stored.
    """
    through = through_period(backend, live_candidate(backend))
    added = score_log(backend).add_outcomes(outcomes, through_period=through)
    logger.info("Added %d outcomes (%d not yet mature)", added.added, added.not_yet_mature)
    return added
