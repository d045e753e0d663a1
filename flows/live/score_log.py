"""The score log: what each live scoring decided, joined later with the outcomes.

One row per (id, period): scoring the same id again in the same period replaces its
row. In ``shadow`` mode the champion decides every row and the candidate's score sits
beside it; in ``split`` mode only the deciding arm's score is kept. Outcomes arrive
weeks later, keyed by id, and join every scored row of that id.

Backends implement :class:`ScoreLog`: Parquet per period in the home (local), tables
on Snowflake.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import pandas as pd

SCORE_COLUMNS = (
    "id",
    "period",
    "arm",
    "version",
    "champion_version",
    "champion_score",
    "candidate_version",
    "candidate_score",
    "scored_at",
)
"""A score log row: the id (as text), the period (int), the deciding arm and version,
both models' versions, their scores (NaN where the model did not score the row) and
when it was scored (ISO 8601, UTC)."""
OUTCOME_COLUMNS = ("id", "label", "observed_at")
"""An outcome: the id (as text), the label as 0/1 under the contract, and when it was
observed (ISO 8601, UTC; empty when not given)."""
MATURED_COLUMNS = (*SCORE_COLUMNS, "label")
"""What :meth:`ScoreLog.matured` returns: score log rows with their outcome."""


@dataclass(frozen=True)
class OutcomesAdded:
    """What one ``ingest-outcomes`` did: every row is accounted for."""

    added: int
    """Outcomes stored."""
    not_yet_mature: int
    """Of those, outcomes whose scored rows are not mature yet (they count once they are)."""


@dataclass(frozen=True)
class LogSummary:
    """How far a candidate's live evidence has come."""

    scored: dict[str, int]
    """Scored rows per arm."""
    with_outcome: int
    """Scored rows that have an outcome."""
    matured: int
    """Rows with an outcome that are mature: the evidence a review judges."""


class ScoreLog(ABC):
    """Where live scores and outcomes are kept, and joined."""

    @abstractmethod
    def write_scores(self, rows: pd.DataFrame) -> int:
        """Store ``rows`` (:data:`SCORE_COLUMNS`), replacing any row with the same (id, period).

        Returns the number of rows written. All or nothing.
        """

    @abstractmethod
    def add_outcomes(self, outcomes: pd.DataFrame, *, through_period: int) -> OutcomesAdded:
        """Store validated outcomes (:data:`OUTCOME_COLUMNS`), all or nothing.

        Raises:
            DataValidationError: an id that no scored row carries, or an id that already has an
                outcome (either in ``outcomes`` or stored), naming how many and an example.
        """

    @abstractmethod
    def matured(self, candidate_version: str, *, through_period: int) -> pd.DataFrame:
        """The candidate's scored rows of periods up to ``through_period`` that have an outcome."""

    @abstractmethod
    def summary(self, candidate_version: str, *, through_period: int) -> LogSummary:
        """Counts of the candidate's live evidence, for ``status`` and the review."""
