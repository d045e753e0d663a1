"""Model specs from configuration, training records, deterministic version names."""

from __future__ import annotations

import pytest

from flows.data import generate_applications, validate_applications
from flows.errors import ConfigError, EmptyWindowError
from flows.training import (
    CHALLENGER_SPEC,
    CHAMPION_SPEC,
    ModelSpec,
    hashes_fingerprint,
    row_hashes,
    train_model,
    version_name,
)
from flows.windows import WeekRange


@pytest.fixture(scope="module")
def weeks() -> dict[str, object]:
    data = validate_applications(generate_applications(4))
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
        assert [name for name, _ in pipeline.steps] == ["scaler", "classifier"]

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
            train_weeks=WeekRange(0, 2),
            test_weeks=WeekRange(3, 3),
        )
        assert trained.row_count == 1200
        assert 0.5 < trained.test_auc < 1.0
        assert trained.train_fingerprint == hashes_fingerprint(row_hashes(weeks["train"]))
        assert len(trained.train_row_hashes) == 1200

    def test_version_name_is_deterministic_and_changes_with_rows_or_spec(self, weeks):
        def name(spec, rows):
            trained = train_model(
                spec, rows, weeks["test"], train_weeks=WeekRange(0, 2), test_weeks=WeekRange(3, 3)
            )
            return version_name(
                "challenger", trained.spec, trained.train_weeks, trained.train_fingerprint
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
                train_weeks=WeekRange(0, 0),
                test_weeks=WeekRange(3, 3),
            )
        one_class = train[train["approved"] == 1]
        with pytest.raises(EmptyWindowError, match="only label \\[1\\]"):
            train_model(
                CHAMPION_SPEC,
                one_class,
                weeks["test"],
                train_weeks=WeekRange(0, 2),
                test_weeks=WeekRange(3, 3),
            )


def test_a_forest_fitted_on_all_cores_scores_reproducibly(weeks):
    trained = train_model(
        small(CHAMPION_SPEC),
        weeks["train"],
        weeks["test"],
        train_weeks=WeekRange(0, 2),
        test_weeks=WeekRange(3, 3),
    )
    forest = trained.model.steps[-1][1]
    assert forest.n_jobs is None
    features = weeks["test"][trained.model.feature_names_in_]
    first = trained.model.predict_proba(features)
    assert all((trained.model.predict_proba(features) == first).all() for _ in range(5))
