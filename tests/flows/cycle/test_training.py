"""Model specs from configuration, training records, deterministic version names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.cycle.training import train_model, version_name
from flows.data.contract import DEFAULT_CONTRACT, PERIOD_KEY, DataContract
from flows.data.periods import PeriodRange
from flows.data.quickstart import generate_applications, hashes_fingerprint, row_hashes
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec
from flows.errors import ConfigError, EmptyWindowError


@pytest.fixture(scope="module")
def weeks() -> dict[str, object]:
    data = DEFAULT_CONTRACT.validate(generate_applications(4))
    return {
        "train": data[data["week_number"] <= 2],
        "test": data[data["week_number"] == 3],
    }


def small(spec: ModelSpec) -> ModelSpec:
    return ModelSpec(spec.estimator, {**spec.params, "n_estimators": 10}, spec.scale)


class TestModelSpec:
    def test_defaults_are_the_quickstarts_forests(self):
        assert CHAMPION_SPEC.params["max_depth"] == 10
        assert CHAMPION_SPEC.params["class_weight"] == "balanced"
        assert CHALLENGER_SPEC.params["n_estimators"] == 120
        assert CHALLENGER_SPEC.params["class_weight"] == "balanced_subsample"
        pipeline = CHAMPION_SPEC.build()
        assert [name for name, _ in pipeline.steps] == ["imputer", "scaler", "classifier"]

    def test_the_quickstarts_spec_digest_is_unchanged(self):
        """Version names hash the spec: the quickstart's must read as it always has."""
        assert CHAMPION_SPEC.to_dict() == {
            "estimator": "sklearn.ensemble.RandomForestClassifier",
            "params": dict(CHAMPION_SPEC.params),
            "scale": True,
        }

    def test_categorical_columns_are_imputed_and_one_hot_encoded(self):
        pipeline = CHAMPION_SPEC.build(features=["amount", "region"], categorical=["region"])
        preprocess = pipeline.named_steps["preprocess"]
        assert [name for name, _, _ in preprocess.transformers] == ["numeric", "categorical"]
        encoder = preprocess.transformers[1][1].named_steps["onehot"]
        assert encoder.handle_unknown == "ignore"

    def test_a_factory_builds_the_whole_model(self):
        spec = ModelSpec.from_mapping({"factory": "sklearn.naive_bayes:GaussianNB"})
        assert type(spec.build()).__name__ == "GaussianNB"
        assert spec.to_dict() == {"factory": "sklearn.naive_bayes:GaussianNB"}
        assert spec.model_type == "GaussianNB"

    def test_any_classifier_by_import_path(self):
        spec = ModelSpec.from_mapping(
            {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": 0.5}}
        )
        assert spec.build().named_steps["classifier"].C == 0.5

    @pytest.mark.parametrize(
        ("mapping", "message"),
        [
            ({"estimator": "sklearn.nope.Nothing"}, "Cannot import estimator"),
            ({"estimator": "sklearn.linear_model.LinearRegression"}, "not a classifier"),
            ({"params": {"n_trees": 5}}, "Bad parameters"),
            ({"estimator": "x", "colour": "red"}, "unknown key"),
            (
                {"estimator": "sklearn.svm.LinearSVC"},
                "LinearSVC is not a classifier with predict_proba",
            ),
            ({"factory": "sklearn.svm:LinearSVC"}, "not a classifier with predict_proba"),
            ({"factory": "sklearn.nope:build"}, "Cannot import factory"),
            ({"factory": "sklearn.svm.SVC"}, "must read 'package.module:function'"),
            (
                {"factory": "sklearn.svm:SVC", "estimator": "sklearn.svm.SVC"},
                "'factory' builds the whole model",
            ),
            ({"factory": "flows.config:load_settings"}, "not a classifier"),
        ],
    )
    def test_bad_specs_fail_at_configuration_time(self, mapping, message):
        with pytest.raises(ConfigError, match=message):
            ModelSpec.from_mapping(mapping)


class TestTraining:
    def test_records_weeks_rows_auc_and_fingerprint(self, weeks):
        trained = train_model(
            small(CHAMPION_SPEC),
            weeks["train"],
            weeks["test"],
            train_periods=PeriodRange(0, 2),
            test_periods=PeriodRange(3, 3),
        )
        assert trained.row_count == 1200
        assert 0.5 < trained.test_auc < 1.0
        assert trained.train_fingerprint == hashes_fingerprint(row_hashes(weeks["train"]))
        assert len(trained.train_row_hashes) == 1200

    def test_version_name_is_deterministic_and_changes_with_rows_or_spec(self, weeks):
        def name(spec, rows):
            trained = train_model(
                spec,
                rows,
                weeks["test"],
                train_periods=PeriodRange(0, 2),
                test_periods=PeriodRange(3, 3),
            )
            return version_name(
                "challenger", trained.spec, trained.train_periods, trained.train_fingerprint
            )

        first = name(small(CHALLENGER_SPEC), weeks["train"])
        assert first.startswith("CHALLENGER_W000_002_")
        assert name(small(CHALLENGER_SPEC), weeks["train"]) == first
        assert name(small(CHAMPION_SPEC), weeks["train"]) != first
        assert name(small(CHALLENGER_SPEC), weeks["train"].iloc[1:]) != first

    def test_too_few_rows_or_one_class_are_refused(self, weeks):
        train = weeks["train"]
        with pytest.raises(EmptyWindowError, match="training window.*10 rows.*at least 50"):
            train_model(
                CHAMPION_SPEC,
                train.head(10),
                weeks["test"],
                train_periods=PeriodRange(0, 0),
                test_periods=PeriodRange(3, 3),
            )
        one_class = train[train["approved"] == 1]
        with pytest.raises(EmptyWindowError, match="only label \\[1\\]"):
            train_model(
                CHAMPION_SPEC,
                one_class,
                weeks["test"],
                train_periods=PeriodRange(0, 2),
                test_periods=PeriodRange(3, 3),
            )


@pytest.fixture(scope="module")
def frames():
    rng = np.random.RandomState(0)
    n = 600
    region = rng.choice(["north", "south", "east"], n).astype(object)
    region[rng.rand(n) < 0.1] = None
    amount = rng.uniform(0, 100, n)
    amount[rng.rand(n) < 0.1] = np.nan
    label = np.where((region == "north") | (np.nan_to_num(amount) > 70), "yes", "no")
    raw = pd.DataFrame(
        {
            "opened_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) // 20, "D"),
            "amount": amount,
            "region": region,
            "defaulted": label,
        }
    )
    contract = DataContract(
        time_column="opened_at", period="day", label="defaulted", positive_label="yes"
    )
    data = contract.validate(raw)
    return contract, data[data[PERIOD_KEY] < 25], data[data[PERIOD_KEY] >= 25]


class TestUserData:
    """A table with string categories and missing values trains behind the default preprocessing."""

    def test_trains_scores_and_records_the_resolved_contract(self, frames):
        contract, train, test = frames
        trained = train_model(
            small(CHAMPION_SPEC),
            train,
            test,
            train_periods=PeriodRange(0, 24),
            test_periods=PeriodRange(25, 29),
            contract=contract,
        )
        assert trained.test_auc > 0.9
        assert trained.contract.features == ("amount", "region")
        assert trained.contract.categorical == ("region",)
        unseen = pd.DataFrame({"amount": [np.nan, 10.0], "region": ["west", None]})
        scores = trained.model.predict_proba(trained.contract.model_input(unseen))[:, 1]
        assert np.isfinite(scores).all()  # unknown and missing categories score


def test_a_forest_fitted_on_all_cores_scores_reproducibly(weeks):
    trained = train_model(
        small(CHAMPION_SPEC),
        weeks["train"],
        weeks["test"],
        train_periods=PeriodRange(0, 2),
        test_periods=PeriodRange(3, 3),
    )
    forest = trained.model.steps[-1][1]
    assert forest.n_jobs is None
    features = weeks["test"][trained.model.feature_names_in_]
    first = trained.model.predict_proba(features)
    assert all((trained.model.predict_proba(features) == first).all() for _ in range(5))
