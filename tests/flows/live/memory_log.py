"""A score log held in memory, for review tests that bring their own matured rows."""

from __future__ import annotations

import pandas as pd

from flows.live.score_log import MATURED_COLUMNS, LogSummary, OutcomesAdded, ScoreLog


class MemoryScoreLog(ScoreLog):
    """Matured rows given up front (``MATURED_COLUMNS``); what ``matured`` filters by period."""

    def __init__(self, rows: pd.DataFrame | None = None) -> None:
        self.rows = rows if rows is not None else pd.DataFrame(columns=list(MATURED_COLUMNS))

    def write_scores(self, rows: pd.DataFrame) -> int:
        raise NotImplementedError

    def add_outcomes(self, outcomes: pd.DataFrame, *, through_period: int) -> OutcomesAdded:
        raise NotImplementedError

    def matured(self, candidate_version: str, *, through_period: int) -> pd.DataFrame:
        rows = self.rows
        return rows[
            (rows["candidate_version"] == candidate_version) & (rows["period"] <= through_period)
        ]

    def summary(self, candidate_version: str, *, through_period: int) -> LogSummary:
        matured = self.matured(candidate_version, through_period=through_period)
        return LogSummary(scored={}, with_outcome=len(self.rows), matured=len(matured))
