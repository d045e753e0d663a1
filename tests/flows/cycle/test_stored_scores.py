"""Scores of stored periods read like the user's table: its label values, no internal column.

The churn example's label is "yes"/"no" and stays so in the scores; the quickstart's
is 0/1 and its output is what it always was.
"""

from __future__ import annotations

import runpy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.backends import open_backend
from flows.cli import main
from flows.config import load_settings
from flows.cycle import steps
from flows.data.contract import PERIOD_KEY
from flows.data.files import read_table
from flows.data.periods import PeriodRange
from flows.data.specs import ModelSpec
from tests.conftest import REPO
from tests.flows.homes import quickstart_home
from tests.flows.loans import LOANS_CONTRACT, loans, own_settings

MAKE_CHURN = REPO / "examples" / "own-data" / "make_churn.py"
SMALL_FOREST = ModelSpec("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 10})


@pytest.fixture(scope="module")
def churn_home(tmp_path_factory) -> tuple[Path, Path]:
    """The churn example ingested (16 weeks) with a live champion; (home, example folder)."""
    example = tmp_path_factory.mktemp("churn")
    runpy.run_path(str(MAKE_CHURN))["write_example"](example)
    home = tmp_path_factory.mktemp("home")
    config = str(example / "config.toml")
    assert (
        main(["ingest", str(example / "history.csv"), "--home", str(home), "--config", config]) == 0
    )
    settings = load_settings(home=home, config=config).with_overrides(champion_spec=SMALL_FOREST)
    with open_backend(settings) as backend:
        steps.train_champion(backend, settings, actor="tester")
    return home, example


class TestChurnLabels:
    def test_scores_of_stored_weeks_show_the_label_as_the_file_wrote_it(
        self, churn_home, tmp_path, capsys
    ):
        home, example = churn_home
        out = tmp_path / "scores.csv"
        config = str(example / "config.toml")
        assert main(["score", "--home", str(home), "--config", config, "--out", str(out)]) == 0
        said = capsys.readouterr().out
        assert "Scored 250 rows with live version" in said
        assert "mean probability that 'churned' is 'yes'" in said
        assert "applications" not in said and "approval" not in said
        scores = read_table(out, text_columns=["customer_id"])
        history = pd.read_csv(example / "history.csv", dtype={"customer_id": str})
        newest = history.merge(scores[["customer_id"]], on="customer_id")
        assert len(newest) == 250
        assert scores["churned"].tolist() == newest["churned"].tolist()
        assert set(scores["churned"]) == {"yes", "no"}
        assert PERIOD_KEY not in scores.columns and "old_score" not in scores.columns
        assert list(scores.columns[-3:]) == ["churned", "churned_probability", "model_version"]

    def test_scores_are_those_of_the_same_rows_with_labels_as_zero_and_one(self, churn_home):
        home, example = churn_home
        settings = load_settings(home=home, config=example / "config.toml")
        with open_backend(settings, mode="read") as backend:
            scored = steps.score(backend).scores
            binary = backend.source.read_periods(PeriodRange(15, 15))
        assert (scored["churned"] == "yes").astype(int).tolist() == binary["churned"].tolist()
        pd.testing.assert_frame_equal(
            scored.drop(columns=["churned", "churned_probability", "model_version"]),
            binary.drop(columns=[PERIOD_KEY, "churned"]),
        )


def test_a_boolean_label_stays_true_and_false(tmp_path):
    rows = loans(98, start="2024-01-01")
    rows["outcome"] = rows["outcome"] == "default"
    contract = replace(LOANS_CONTRACT, positive_label=None)
    settings = own_settings(tmp_path, contract).with_overrides(champion_spec=SMALL_FOREST)
    with open_backend(settings) as backend:
        backend.source.write(rows)
        steps.train_champion(backend, settings, actor="tester", allow_weak=True)
        scores = steps.score(backend).scores
    assert scores["outcome"].dtype == bool
    newest = rows.merge(scores[["loan_id"]], on="loan_id")
    assert len(newest) == 7 * 30
    assert scores["outcome"].tolist() == newest["outcome"].tolist()


def test_the_quickstarts_scores_are_unchanged(tmp_path, capsys):
    settings = quickstart_home(tmp_path / "home")
    out = tmp_path / "scores.parquet"
    assert main(["score", "--home", str(settings.home), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Scored 400 applications with live version" in said
    assert "mean approval probability" in said
    scores = read_table(out)
    with open_backend(settings, mode="read") as backend:
        stored = backend.source.read_periods(PeriodRange(19, 19))
    expected = stored.assign(
        approved_probability=scores["approved_probability"], model_version=scores["model_version"]
    )
    pd.testing.assert_frame_equal(scores, expected)
    assert scores["approved"].dtype == np.int64
