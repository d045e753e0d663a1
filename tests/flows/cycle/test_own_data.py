"""The cycle on a table that is not the quickstart's, and the quickstart unchanged by contracts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import ccpolicy
from flows.backends import open_backend
from flows.config import Settings
from flows.cycle import stages, steps
from flows.data.contract import DEFAULT_CONTRACT, PERIOD_KEY
from flows.data.files import read_table
from flows.data.output import write_table
from flows.data.periods import WindowSpec
from flows.data.quickstart import GeneratorSpec
from flows.errors import ConfigError, DataValidationError
from tests.flows.loans import LOANS_CONTRACT, loans, own_settings


@pytest.fixture
def home(tmp_path):
    """A home holding 20 weeks of loans (2024-01-03 to 05-19) and a champion trained on them."""
    settings = own_settings(tmp_path)
    with open_backend(settings) as backend:
        backend.source.write(loans(138))
        steps.train_champion(backend, settings, actor="tester")
    return tmp_path


class TestOwnTable:
    def test_weekly_cycles_run_on_appended_weeks_and_new_rows_score(self, home):
        settings = own_settings(home)
        policy = ccpolicy.load_policy("auc_greater")
        with open_backend(settings) as backend:
            first = stages.weekly_cycle(backend, settings, policy)
            assert first.entry.holdout_weeks == (17, 19)
            backend.source.write(loans(14, start="2024-05-20", seed=1))
            second = stages.weekly_cycle(backend, settings, policy)
            assert second.entry.holdout_weeks == (19, 21)
            assert second.evaluation.n_rows == 3 * 7 * 30
            new = loans(1, start="2024-06-10", seed=2).drop(columns=["outcome"])
            new.loc[0, "region"] = "atlantis"  # a category no model has seen
            new.loc[1, "income"] = np.nan
            result = steps.score(backend, data=new)
        assert result.scores["outcome_probability"].between(0, 1).all()
        assert result.scores["loan_id"].tolist() == new["loan_id"].tolist()

    def test_each_version_records_the_contract_it_was_trained_under(self, home):
        with open_backend(own_settings(home)) as backend:
            champion = backend.registry.champion()
        contract = champion.data_contract
        assert contract.features == ("region", "income", "amount")
        assert contract.categorical == ("region",)
        assert contract.positive_label == "default"

    def test_a_challenger_may_drop_a_feature_and_the_champion_keeps_its_own(self, home):
        narrower = replace(LOANS_CONTRACT, features=("region", "amount"))
        settings = own_settings(home, narrower)
        with open_backend(settings) as backend:
            report = stages.weekly_cycle(backend, settings, ccpolicy.load_policy("auc_greater"))
        assert report.evaluation.challenger.data_contract.features == ("region", "amount")
        assert report.evaluation.champion.data_contract.features == ("region", "income", "amount")
        assert report.entry.outcome.value in {"promoted", "kept"}

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"positive_label": "repaid"}, "positive_label 'default' → 'repaid'"),
            ({"period": "day"}, "period 'week' → 'day'"),
        ],
    )
    def test_a_changed_target_is_refused_before_training(self, home, change, message):
        settings = own_settings(home, replace(LOANS_CONTRACT, **change))
        with open_backend(own_settings(home)) as backend:
            before = [v.name for v in backend.registry.list_versions()]
        with open_backend(settings) as backend:
            if "period" in change:  # the stored weeks would not even be read as days
                backend.source.write(loans(138), replace=True)
            with pytest.raises(ConfigError, match=message) as caught:
                steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
            assert "train-champion --replace" in str(caught.value)
            assert [v.name for v in backend.registry.list_versions()] == before

    def test_a_changed_label_column_is_refused_before_training(self, home):
        renamed = replace(LOANS_CONTRACT, label="status")
        settings = own_settings(home, renamed)
        with open_backend(settings) as backend:
            backend.source.write(loans(138).rename(columns={"outcome": "status"}), replace=True)
            with pytest.raises(ConfigError, match="label 'outcome' → 'status'"):
                steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))

    def test_scoring_without_a_feature_fails_before_any_row_is_scored(self, home):
        with open_backend(own_settings(home)) as backend:
            rows = loans(1, start="2024-06-10").drop(columns=["outcome", "region"])
            with pytest.raises(DataValidationError, match="missing column\\(s\\) 'region'"):
                steps.score(backend, data=rows)


@pytest.mark.parametrize(
    ("period", "days", "windows", "holdout"),
    [("day", 40, WindowSpec(20, 5, 5), (35, 39)), ("month", 300, WindowSpec(4, 2, 2), (8, 9))],
)
def test_days_and_months_are_periods_like_weeks(tmp_path, period, days, windows, holdout):
    settings = own_settings(tmp_path, replace(LOANS_CONTRACT, period=period), windows)
    with open_backend(settings) as backend:
        backend.source.write(loans(days, per_day=30 if period == "day" else 4))
        steps.train_champion(backend, settings)
        report = stages.weekly_cycle(backend, settings, ccpolicy.load_policy("auc_greater"))
    assert report.entry.holdout_weeks == holdout


class TestQuickstartUnchanged:
    """The demo's story on the default contract decides exactly as before contracts existed."""

    def test_the_demo_decides_as_it_always_has(self, tmp_path):
        settings = Settings(home=tmp_path)
        policy = ccpolicy.load_policy("significance_margin")
        with open_backend(settings) as backend:
            steps.generate_data(backend, GeneratorSpec())
            champion = steps.train_champion(backend, settings)
            first = stages.weekly_cycle(backend, settings, policy)
            steps.generate_data(backend, GeneratorSpec(), append_weeks=4)
            second = stages.weekly_cycle(backend, settings, policy)
        assert champion.name == "CHAMPION_W000_009_0EBE96FD"
        decisions = [
            (
                report.entry.challenger_version,
                report.entry.verdict,
                report.entry.holdout_fingerprint[:16],
                report.evaluation.champion_metrics["roc_auc"],
                report.evaluation.challenger_metrics["roc_auc"],
            )
            for report in (first, second)
        ]
        assert decisions == [
            (
                "CHALLENGER_W003_012_95471986",
                "inconclusive",
                "8cf620e0958e35e3",
                0.6368089551259315,
                0.6361011326721782,
            ),
            (
                "CHALLENGER_W007_016_04CD4A35",
                "inconclusive",
                "76731f3fc1583e8c",
                0.6484208154778388,
                0.6543035457530912,
            ),
        ]


def test_scores_keep_the_rows_of_the_input(home):
    with open_backend(own_settings(home)) as backend:
        rows = loans(1, start="2024-06-10").drop(columns=["outcome"])
        scores = steps.score(backend, data=rows).scores
    pd.testing.assert_frame_equal(scores[rows.columns], rows)


class TestScoreColumn:
    """Scoring stored periods and scoring a file write the one column the contract names."""

    def test_the_contract_names_the_score_column_after_its_label(self):
        assert LOANS_CONTRACT.score_column == "outcome_probability"
        assert DEFAULT_CONTRACT.score_column == "approved_probability"

    def test_both_score_paths_write_the_contracts_column_with_the_same_scores(
        self, home, tmp_path_factory
    ):
        work = tmp_path_factory.mktemp("scores")  # outside the home, where no output may go
        with open_backend(own_settings(home)) as backend:
            stored = steps.score(backend).scores
            rows = stored.drop(columns=["outcome_probability", "model_version"])
            source = write_table(rows, work / "rows.parquet")
            by_file = read_table(steps.score_file(backend, source, work / "out.csv").out)
        assert list(by_file.columns) == ["loan_id", "outcome_probability", "model_version"]
        np.testing.assert_allclose(
            by_file["outcome_probability"], stored["outcome_probability"], rtol=1e-12
        )

    def test_scoring_stored_periods_writes_no_internal_column(self, home):
        with open_backend(own_settings(home)) as backend:
            scores = steps.score(backend).scores
        assert PERIOD_KEY not in scores.columns
        assert list(scores.columns[-2:]) == ["outcome_probability", "model_version"]

    def test_a_file_holding_a_column_of_that_name_is_refused_before_scoring(
        self, home, tmp_path_factory
    ):
        work = tmp_path_factory.mktemp("scores")  # outside the home, where no output may go
        rows = loans(1, start="2024-06-10").drop(columns=["loan_id"])
        rows["outcome_probability"] = 0.5
        source = write_table(rows, work / "in.csv")
        settings = own_settings(home, contract=replace(LOANS_CONTRACT, id_column=None))
        with (
            open_backend(settings) as backend,
            pytest.raises(
                DataValidationError, match="already has column\\(s\\) 'outcome_probability'"
            ),
        ):
            steps.score_file(backend, source, work / "out.csv")
        assert not (work / "out.csv").exists()
