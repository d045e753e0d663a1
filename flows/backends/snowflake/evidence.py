"""The evidence of a cycle run in the warehouse: the hold-out's label and both scores, in a table.

The stage procedure scores both models where the hold-out is stored and writes one
row per hold-out row, keyed by the run's id and the row's position; the flow then
reads back exactly these three columns to let the policy judge. A table grows with
the hold-out, a single SQL value does not: no row count is capped by Snowflake's
16 MB value limit. ``replay`` reads the same rows again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from flows.backends.snowflake._tables import is_missing_object
from flows.errors import RegistryError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from flows.config import SnowflakeSettings
    from flows.cycle.evaluation import Evaluation

EVIDENCE_TABLE: Final = "CYCLE_EVIDENCE"
"""The table of hold-out labels and scores, beside the ledger."""
RUN_ID: Final = "RUN_ID"
ROW_NO: Final = "ROW_NO"
LABEL: Final = "LABEL"
CHAMPION_SCORE: Final = "CHAMPION_SCORE"
CHALLENGER_SCORE: Final = "CHALLENGER_SCORE"
JUDGED_COLUMNS: Final = (LABEL, CHAMPION_SCORE, CHALLENGER_SCORE)
"""What the flow reads back to judge: never a feature."""


class EvidenceTable:
    """The evidence rows of every run of one schema.

    Args:
        session: A Snowpark session (the procedure's to write, the flow's to read).
        settings: Where the table lives.
    """

    def __init__(self, session: Session, settings: SnowflakeSettings) -> None:
        self.session = session
        self.database, self.schema = settings.database, settings.schema
        self.table = f"{settings.database}.{settings.schema}.{EVIDENCE_TABLE}"

    def ddl(self) -> str:
        """Create the table if missing."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table} ({RUN_ID} VARCHAR, {ROW_NO} NUMBER, "
            f"{LABEL} NUMBER, {CHAMPION_SCORE} FLOAT, {CHALLENGER_SCORE} FLOAT)"
        )

    def write(self, run_id: str, evaluation: Evaluation) -> int:
        """Replace run ``run_id``'s rows with ``evaluation``'s label and scores; the rows written."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                RUN_ID: run_id,
                ROW_NO: np.arange(evaluation.n_rows, dtype=np.int64),
                LABEL: np.asarray(evaluation.y_true, dtype=np.int64),
                CHAMPION_SCORE: np.asarray(evaluation.champion_scores, dtype=float),
                CHALLENGER_SCORE: np.asarray(evaluation.challenger_scores, dtype=float),
            }
        )
        self.session.sql(self.ddl()).collect()
        self.session.sql(f"DELETE FROM {self.table} WHERE {RUN_ID} = ?", params=[run_id]).collect()
        self.session.write_pandas(frame, EVIDENCE_TABLE, database=self.database, schema=self.schema)
        return len(frame)

    def read(self, run_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run ``run_id``'s labels, champion scores and challenger scores, in hold-out order.

        Raises:
            RegistryError: if the run wrote no evidence.
        """
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            frame = self.session.sql(
                f"SELECT {', '.join(JUDGED_COLUMNS)} FROM {self.table} "
                f"WHERE {RUN_ID} = ? ORDER BY {ROW_NO}",
                params=[run_id],
            ).to_pandas()
        except SnowparkSQLException as exc:
            if not is_missing_object(exc):
                raise
            frame = None
        if frame is None or frame.empty:
            raise RegistryError(
                f"Run {run_id} left no evidence in {self.table}; its evaluate stage did not finish."
            )
        return (
            frame[LABEL].to_numpy(dtype=np.int64),
            frame[CHAMPION_SCORE].to_numpy(dtype=float),
            frame[CHALLENGER_SCORE].to_numpy(dtype=float),
        )
