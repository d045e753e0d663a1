"""The embedded score log: upserts by (id, period), outcomes all or nothing, the join."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from flows.backends.local.durable import set_checkpoint_hook
from flows.backends.local.score_log import LocalScoreLog
from flows.errors import DataValidationError, ReadModeError
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
    return pd.DataFrame([{"id": i, "label": y, "observed_at": ""} for i, y in pairs])


@pytest.fixture
def log(tmp_path):
    return LocalScoreLog(tmp_path / "live" / "M")


def test_scoring_an_id_again_in_a_period_replaces_its_row(log):
    assert (
        log.write_scores(scores([("a", 1, "champion", 0.1, 0.2), ("b", 1, "champion", 0.3, 0.4)]))
        == 2
    )
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


def test_maturity_and_the_summary_count_the_candidates_rows_per_arm(log):
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
        (
            [],
            [("a", 1), ("a", 0)],
            r"^1 outcome\(s\) repeat an id within the input \(e.g. id 'a'\)",
        ),
        ([("a", 1)], [("b", 0), ("a", 1)], r"^1 outcome\(s\) are for ids that already have one"),
        (
            [],
            [("a", 1), ("x", 0), ("y", 1)],
            r"^2 outcome\(s\) are for ids the score log has never",
        ),
    ],
)
def test_bad_outcomes_are_refused_in_one_line_and_nothing_is_stored(log, first, second, message):
    log.write_scores(scores([("a", 1, "champion", 0.1, 0.2), ("b", 1, "champion", 0.3, 0.4)]))
    if first:
        log.add_outcomes(outcomes(first), through_period=1)
    before = sorted(p.name for p in log.folder.iterdir())
    with pytest.raises(DataValidationError, match=message) as refused:
        log.add_outcomes(outcomes(second), through_period=1)
    assert "\n" not in str(refused.value) and str(refused.value).endswith("nothing was stored.")
    assert sorted(p.name for p in log.folder.iterdir()) == before
    assert log.summary("V2", through_period=1).with_outcome == len(first)


def test_a_write_killed_before_its_manifest_leaves_the_log_as_it_was(log):
    log.write_scores(scores([("a", 1, "champion", 0.1, 0.2)]))

    class Killed(BaseException):
        pass

    def kill(name):
        if name == "file-temporary-written":
            raise Killed

    previous = set_checkpoint_hook(kill)
    try:
        with pytest.raises(Killed):
            log.write_scores(scores([("a", 1, "champion", 0.7, 0.7), ("b", 2, "champion", 0, 0)]))
    finally:
        set_checkpoint_hook(previous)
    assert log.newest_period() == 1
    log.write_scores(scores([("c", 1, "champion", 0.3, 0.3)]))  # the next writer sweeps
    assert len(list(log.folder.glob("*.parquet"))) == 1
    log.add_outcomes(outcomes([("a", 1), ("c", 0)]), through_period=1)
    assert log.matured("V2", through_period=1)["champion_score"].tolist() == [0.1, 0.3]


def test_a_log_opened_read_only_writes_nothing_and_reads_as_empty(tmp_path):
    log = LocalScoreLog(tmp_path / "live" / "M", mode="read")
    assert log.newest_period() is None
    assert log.summary("V2", through_period=3) == LogSummary(scored={}, with_outcome=0, matured=0)
    with pytest.raises(ReadModeError, match="logging scores refused"):
        log.write_scores(scores([("a", 1, "champion", 0.1, 0.2)]))
    assert not (tmp_path / "live").exists()
