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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.errors import DataValidationError

if TYPE_CHECKING:
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
_TEXT = ("id", "arm", "version", "champion_version", "candidate_version", "scored_at")
_SCORES = ("champion_score", "candidate_score")


def conform_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` in :data:`SCORE_COLUMNS` with one dtype per column, whichever backend wrote them.

    Text columns are ``object`` strings (a missing version stays None), the period is
    ``int64`` and the scores ``float64`` with NaN where a model did not score the row.
    """
    import pandas as pd

    frame = pd.DataFrame({c: rows[c] for c in SCORE_COLUMNS}).reset_index(drop=True)
    for column in _TEXT:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame["id"] = frame["id"].astype(str)
    frame["period"] = frame["period"].astype("int64")
    for column in _SCORES:
        frame[column] = frame[column].astype("float64")
    return frame


def conform_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """``outcomes`` in :data:`OUTCOME_COLUMNS`: text ids, 0/1 ``int64`` labels, text times."""
    import pandas as pd

    frame = pd.DataFrame({c: outcomes[c] for c in OUTCOME_COLUMNS}).reset_index(drop=True)
    frame["id"] = frame["id"].astype(str)
    frame["label"] = frame["label"].astype("int64")
    frame["observed_at"] = frame["observed_at"].fillna("").astype(str)
    return frame


def refused_outcomes(
    problem: str, ids: Sequence[str], *, count: int | None = None
) -> DataValidationError:
    """The one-line refusal of outcomes: how many have ``problem``, one example, nothing stored.

    Args:
        problem: What is wrong with them ("are for ids the score log has never scored").
        ids: The ids at fault (or the first of them, when ``count`` says how many).
        count: How many there are, when ``ids`` holds only examples.
    """
    return DataValidationError(
        f"{len(ids) if count is None else count} outcome(s) {problem} (e.g. id {ids[0]!r}); "
        "nothing was stored.",
        column="id",
        got=list(ids[:5]),
    )


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

        ``not_yet_mature`` counts the outcomes whose id has no scored row of a period up
        to ``through_period`` yet.

        Raises:
            DataValidationError: an id that no scored row carries, or an id that already has an
                outcome (either in ``outcomes`` or stored), naming how many and an example
                (:func:`refused_outcomes`).
        """

    @abstractmethod
    def newest_period(self) -> int | None:
        """The newest period any row was scored in; None for an empty log."""

    @abstractmethod
    def matured(self, candidate_version: str, *, through_period: int) -> pd.DataFrame:
        """The candidate's scored rows of periods up to ``through_period`` that have an outcome."""

    @abstractmethod
    def summary(self, candidate_version: str, *, through_period: int) -> LogSummary:
        """Counts of the candidate's live evidence, for ``status`` and the review."""
