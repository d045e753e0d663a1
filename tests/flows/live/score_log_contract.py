"""The score log's contract, run over every backend's :class:`~flows.live.score_log.ScoreLog`.

Subclass :class:`ScoreLogContract` with a ``log`` fixture giving an empty, writable
score log of model ``M`` (and ``snapshot``, what a refused write must leave unchanged).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from flows.errors import DataValidationError
from flows.live.score_log import MATURED_COLUMNS, LogSummary, OutcomesAdded

NAN = float("nan")


def scores(rows, *, candidate="V2", champion="V1"):
    """Score log rows from ``(id, period, arm, champion_score, candidate_score)``."""
    return pd.DataFrame(
        [
            {
                "id": i,
                "period": p,
                "arm": arm,
                "version": candidate if arm == "candidate" else champion,
                "champion_version": champion,
                "champion_score": a,
                "candidate_version": candidate,
                "candidate_score": b,
                "scored_at": "2026-12-07T00:00:00+00:00",
            }
            for i, p, arm, a, b in rows
        ]
    )


def outcomes(pairs):
    """Outcomes from ``(id, label)``."""
    return pd.DataFrame([{"id": i, "label": y, "observed_at": ""} for i, y in pairs])


class ScoreLogContract:
    """What every score log does: upserts, the join, maturity, all-or-nothing outcomes."""

    def snapshot(self, log):
        """What a refused write must leave as it was (the backend's own view of its store)."""
        return log.summary("V2", through_period=99)

    def test_scoring_an_id_again_in_a_period_replaces_its_row(self, log):
        first = scores([("a", 1, "champion", 0.1, 0.2), ("b", 1, "champion", 0.3, 0.4)])
        assert log.write_scores(first) == 2
        log.write_scores(scores([("a", 1, "champion", 0.9, 0.8), ("a", 2, "champion", 0.5, 0.5)]))
        log.add_outcomes(outcomes([("a", 1), ("b", 0)]), through_period=5)
        matured = log.matured("V2", through_period=5)
        assert list(matured.columns) == list(MATURED_COLUMNS)
        assert matured[["id", "period", "champion_score", "label"]].values.tolist() == [
            ["a", 1, 0.9, 1],
            ["b", 1, 0.3, 0],
            ["a", 2, 0.5, 1],
        ]
        assert log.newest_period() == 2

    def test_maturity_and_the_summary_count_the_candidates_rows_per_arm(self, log):
        log.write_scores(
            scores(
                [
                    ("a", 1, "champion", 0.1, NAN),
                    ("b", 1, "candidate", NAN, 0.7),
                    ("c", 3, "candidate", NAN, 0.6),
                ]
            )
        )
        log.write_scores(scores([("z", 1, "champion", 0.5, 0.5)], candidate="OLD"))
        added = log.add_outcomes(outcomes([("a", 1), ("c", 0)]), through_period=2)
        assert added == OutcomesAdded(added=2, not_yet_mature=1)
        assert log.summary("V2", through_period=2) == LogSummary(
            scored={"candidate": 2, "champion": 1}, with_outcome=2, matured=1
        )
        matured = log.matured("V2", through_period=2)
        assert matured["id"].tolist() == ["a"] and math.isnan(matured["candidate_score"][0])

    @pytest.mark.parametrize(
        ("first", "second", "message"),
        [
            ([], [("a", 1), ("a", 0)], r"^1 outcome\(s\) repeat an id within the input \(e.g. id 'a'\)"),
            ([("a", 1)], [("b", 0), ("a", 1)], r"^1 outcome\(s\) are for ids that already have one"),
            ([], [("a", 1), ("x", 0), ("y", 1)], r"^2 outcome\(s\) are for ids the score log has never"),
        ],
    )  # fmt: skip
    def test_bad_outcomes_are_refused_in_one_line_and_nothing_is_stored(
        self, log, first, second, message
    ):
        log.write_scores(scores([("a", 1, "champion", 0.1, 0.2), ("b", 1, "champion", 0.3, 0.4)]))
        if first:
            log.add_outcomes(outcomes(first), through_period=1)
        before = self.snapshot(log)
        with pytest.raises(DataValidationError, match=message) as refused:
            log.add_outcomes(outcomes(second), through_period=1)
        message = str(refused.value)
        assert "\n" not in message and message.endswith("nothing was stored.")
        assert self.snapshot(log) == before
        assert log.summary("V2", through_period=1).with_outcome == len(first)
