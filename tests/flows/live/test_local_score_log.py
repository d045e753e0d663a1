"""The embedded score log: upserts by (id, period), outcomes all or nothing, the join."""

from __future__ import annotations

import pytest

from flows.backends.local.durable import set_checkpoint_hook
from flows.backends.local.score_log import LocalScoreLog
from flows.errors import ReadModeError
from flows.live.score_log import LogSummary
from tests.flows.live.score_log_contract import ScoreLogContract, outcomes, scores


@pytest.fixture
def log(tmp_path):
    return LocalScoreLog(tmp_path / "live" / "M")


class TestLocalScoreLog(ScoreLogContract):
    def snapshot(self, log):
        """Every file of the log, and its content: a refused write touches none."""
        return {p.name: p.read_bytes() for p in log.folder.iterdir()}


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
