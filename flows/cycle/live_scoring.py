"""Scoring under a live test: which arm decides each row, and the score log's rows.

In ``shadow`` mode the champion decides every row and the candidate scores it too; in
``split`` mode the candidate decides the rows whose id hashes into its share
(``flows.live.assignment``) and only the deciding model scores a row. Each scored row
also gets its period: the contract's period column as it is, or its time column
counted in the stored data's periods. A file with neither is refused before any row
is scored, since the score log keys each row by (id, period).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from flows.data.columns import absolute_periods, parse_times, period_numbers
from flows.errors import DataValidationError
from flows.live.assignment import CANDIDATE_ARM, CHAMPION_ARM, assign_arms
from flows.live.score_log import SCORE_COLUMNS
from flows.live.settings import SPLIT
from flows.records import utc_now

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from flows.backends.registry import Registry
    from flows.data.contract import DataContract
    from flows.live.candidate import Candidate
    from flows.live.score_log import ScoreLog

PERIOD_COLUMN: Final = "period"
"""Output column under a live test: the period the row was scored in."""
ARM_COLUMN: Final = "arm"
"""Output column under a live test: ``champion`` or ``candidate``, the arm that decided."""
CANDIDATE_SCORE_COLUMN: Final = "candidate_score"
"""Output column in shadow mode: the candidate's score beside the deciding champion's."""


@dataclass
class LiveScorer:
    """Scores batches for one live test, and keeps the score log's rows until the end."""

    registry: Registry
    test: Candidate
    log: ScoreLog
    id_column: str
    period_of: PeriodReader
    input_name: str
    logged: list[pd.DataFrame] = field(default_factory=list)

    @property
    def read_columns(self) -> tuple[str, ...]:
        """Input columns read besides the id and the features: the period's."""
        return (self.period_of.column,)

    @property
    def added_columns(self) -> tuple[str, ...]:
        """The columns this adds after the score and the version."""
        shadow = () if self.test.mode == SPLIT else (CANDIDATE_SCORE_COLUMN,)
        return (PERIOD_COLUMN, ARM_COLUMN, *shadow)

    def score(
        self, batch: pa.Table, features: pd.DataFrame
    ) -> tuple[pa.Array, pa.Array, list[tuple[str, pa.Array]]]:
        """Each row's deciding score and version, and the columns :attr:`added_columns` names."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pc.cast(batch.column(self.id_column), pa.string()).to_numpy(zero_copy_only=False)
        periods = self.period_of(batch, self.input_name)
        champion, candidate = self.test.champion_version, self.test.version
        if self.test.mode == SPLIT:
            decides = assign_arms(ids, salt=self.test.salt, share=self.test.share)
        else:
            decides = np.zeros(len(ids), dtype=bool)
        champion_scores = self._scores(champion, features, ~decides | (self.test.mode != SPLIT))
        candidate_scores = self._scores(candidate, features, decides | (self.test.mode != SPLIT))
        deciding = np.where(decides, candidate_scores, champion_scores)
        arms = np.where(decides, CANDIDATE_ARM, CHAMPION_ARM).astype(object)
        versions = np.where(decides, candidate, champion).astype(object)
        values = (ids, periods, arms, versions, champion, champion_scores, candidate)
        values += (candidate_scores, utc_now())
        self.logged.append(pd.DataFrame(dict(zip(SCORE_COLUMNS, values, strict=True))))
        added = [
            (PERIOD_COLUMN, pa.array(periods, pa.int64())),
            (ARM_COLUMN, pa.array(arms, pa.string())),
        ]
        if self.test.mode != SPLIT:
            added.append((CANDIDATE_SCORE_COLUMN, pa.array(candidate_scores, pa.float64())))
        return pa.array(deciding, pa.float64()), pa.array(versions, pa.string()), added

    def _scores(self, version: str, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """``version``'s scores on ``rows`` (a mask), NaN elsewhere; no call for no row."""
        import numpy as np

        scores = np.full(len(features), np.nan)
        if rows.any():
            scores[rows] = self.registry.predict_proba(version, features[rows])
        return scores

    def log_rows(self) -> pd.DataFrame:
        """Every row scored so far, in :data:`~flows.live.score_log.SCORE_COLUMNS`."""
        import pandas as pd

        return pd.concat(self.logged, ignore_index=True)


class PeriodReader:
    """The period of each row of a batch, in the stored data's numbering."""

    def __init__(self, contract: DataContract, names: Sequence[str], origin: int | None) -> None:
        self.contract = contract
        if contract.period_column is not None and contract.period_column in names:
            self.column = contract.period_column
        elif contract.time_column is not None and contract.time_column in names:
            self.column = contract.time_column
        else:
            wanted = " or ".join(
                repr(c) for c in (contract.period_column, contract.time_column) if c
            )
            raise DataValidationError(
                f"Live scoring logs each row's {contract.period}, so the input needs the column "
                f"{wanted}; found: {', '.join(names)}. Nothing was scored.",
                column=contract.period_column or contract.time_column,
                got=list(names),
            )
        self.origin = origin or 0

    def __call__(self, batch: pa.Table, input_name: str) -> np.ndarray:
        values = batch.column(self.column).to_pandas()
        if self.column == self.contract.period_column:
            return period_numbers(values, input_name)
        times = parse_times(values, self.column, input_name)
        return absolute_periods(times, self.contract.period) - self.origin
