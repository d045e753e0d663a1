"""Scoring under a live test: the arm that decides each row, its period, and the score log."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from flows.backends import open_backend
from flows.cycle import steps
from flows.cycle.scoring import VERSION_COLUMN
from flows.data.files import read_table
from flows.data.output import write_table
from flows.errors import DataValidationError
from flows.live.assignment import assign_arms
from flows.live.settings import LiveSettings
from tests.flows.live.homes import live_home, new_loans

SCORE = "outcome_probability"


@pytest.fixture(scope="module")
def shadow(tmp_path_factory):
    return live_home(tmp_path_factory.mktemp("shadow"), mode="shadow")


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return live_home(tmp_path_factory.mktemp("split"), mode="split", share=0.3)


def _file(tmp_path, week, name="in.csv"):
    rows = new_loans(week).drop(columns=["outcome"])
    return rows, write_table(rows, tmp_path / name)


def _both_models(backend, test, rows):
    """The champion's and the candidate's scores of every row, straight from the registry."""
    features = rows.drop(columns=["loan_id", "opened_at"])
    registry = backend.registry
    return (
        registry.predict_proba(test.champion_version, features),
        registry.predict_proba(test.version, features),
    )


def test_shadow_scoring_keeps_the_champion_deciding_and_logs_both_scores(shadow, tmp_path):
    rows, source = _file(tmp_path, 20)
    with open_backend(shadow) as backend:
        test = steps.live_candidate(backend)
        out = read_table(steps.score_file(backend, source, tmp_path / "out.parquet").out)
        champion, candidate = _both_models(backend, test, rows)
        log = steps.score_log(backend)
        matured_none = log.matured(test.version, through_period=30)
        summary = log.summary(test.version, through_period=30)
    assert list(out.columns) == [
        "loan_id",
        SCORE,
        VERSION_COLUMN,
        "period",
        "arm",
        "candidate_score",
    ]
    assert out["loan_id"].tolist() == rows["loan_id"].tolist()
    assert set(out["arm"]) == {"champion"} and set(out[VERSION_COLUMN]) == {test.champion_version}
    assert set(out["period"]) == {20}
    np.testing.assert_allclose(out[SCORE], champion)
    np.testing.assert_allclose(out["candidate_score"], candidate)
    assert matured_none.empty  # no outcome yet
    assert summary.scored == {"champion": len(rows)} and summary.with_outcome == 0


def test_split_scoring_lets_each_arm_decide_its_ids_and_logs_only_that_score(split, tmp_path):
    rows, source = _file(tmp_path, 21, name="in.parquet")
    with open_backend(split) as backend:
        test = steps.live_candidate(backend)
        out = read_table(steps.score_file(backend, source, tmp_path / "out.csv").out)
        champion, candidate = _both_models(backend, test, rows)
        log = steps.score_log(backend)
        log.add_outcomes(
            read_outcomes_frame(rows["loan_id"], np.arange(len(rows)) % 2), through_period=21
        )
        logged = log.matured(test.version, through_period=21)
    decides = assign_arms(rows["loan_id"], salt=test.salt, share=0.3)
    assert 0.15 < decides.mean() < 0.45
    assert list(out.columns) == ["loan_id", SCORE, VERSION_COLUMN, "period", "arm"]
    assert (out["arm"] == "candidate").tolist() == decides.tolist()
    assert (
        out[VERSION_COLUMN].tolist()
        == np.where(decides, test.version, test.champion_version).tolist()
    )
    np.testing.assert_allclose(out[SCORE], np.where(decides, candidate, champion))
    assert logged["id"].tolist() == sorted(rows["loan_id"])
    by_id = logged.set_index("id").loc[rows["loan_id"]]
    assert by_id["champion_score"].isna().tolist() == decides.tolist()
    assert by_id["candidate_score"].isna().tolist() == (~decides).tolist()


def read_outcomes_frame(ids, labels):
    import pandas as pd

    return pd.DataFrame({"id": list(ids), "label": labels, "observed_at": ""})


def test_scoring_the_same_ids_again_in_a_period_replaces_their_rows(shadow, tmp_path):
    rows, source = _file(tmp_path, 22)
    with open_backend(shadow) as backend:
        test = steps.live_candidate(backend)
        steps.score_file(backend, source, tmp_path / "a.parquet")
        before = steps.score_log(backend).summary(test.version, through_period=99).scored
        again = rows.assign(amount=rows["amount"] * 2)
        steps.score_file(backend, write_table(again, tmp_path / "b.csv"), tmp_path / "b.parquet")
        after = steps.score_log(backend).summary(test.version, through_period=99).scored
        second = read_table(tmp_path / "b.parquet")
        steps.score_log(backend).add_outcomes(
            read_outcomes_frame(rows["loan_id"], np.zeros(len(rows), int)), through_period=99
        )
        logged = steps.score_log(backend).matured(test.version, through_period=22)
    assert after == before
    logged = logged[logged["period"] == 22].set_index("id").loc[second["loan_id"]]
    np.testing.assert_allclose(logged["champion_score"], second[SCORE])


def test_with_live_mode_off_scoring_writes_what_it_always_did_and_logs_nothing(shadow, tmp_path):
    _, source = _file(tmp_path, 23)
    off = replace(shadow, live=LiveSettings())
    with open_backend(off) as backend:
        out = read_table(steps.score_file(backend, source, tmp_path / "out.csv").out)
        assert steps.live_candidate(backend) is not None  # the test is still open
        assert steps.score_log(backend).newest_period() != 23
    assert list(out.columns) == ["loan_id", SCORE, VERSION_COLUMN]


def test_a_file_without_the_time_column_is_refused_before_any_row_is_scored(shadow, tmp_path):
    rows = new_loans(24).drop(columns=["outcome", "opened_at"])
    source = write_table(rows, tmp_path / "in.csv")
    with open_backend(shadow) as backend:
        with pytest.raises(
            DataValidationError, match=r"needs the column 'opened_at'.*Nothing was scored"
        ):
            steps.score_file(backend, source, tmp_path / "out.csv")
        assert steps.score_log(backend).newest_period() != 24
    assert not (tmp_path / "out.csv").exists()
