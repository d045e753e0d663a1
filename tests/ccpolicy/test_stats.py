"""DeLong's test, the AUC and the paired bootstrap against references and worked examples."""

from __future__ import annotations

import dataclasses
import doctest
import math
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.metrics import roc_curve as sklearn_roc_curve

import ccpolicy
import ccpolicy._evidence
import ccpolicy._looks
import ccpolicy._params
import ccpolicy._stats.bootstrap
import ccpolicy._stats.delong
import ccpolicy._stats.metrics
import ccpolicy._stats.spending
import ccpolicy.stats
from ccpolicy.errors import EvidenceError, PolicyParameterError
from ccpolicy.stats import (
    METRICS,
    UndefinedStatisticWarning,
    delong_test,
    metric_value,
    metric_values,
    paired_bootstrap,
    roc_auc,
    roc_curve,
)


def delong_quadratic(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """DeLong 1988 written out directly: the Mann-Whitney kernel over all pairs, O(n^2)."""
    pos, neg = y == 1, y == 0

    def kernel(s: np.ndarray) -> np.ndarray:
        x, z = s[pos][:, None], s[neg][None, :]
        return (x > z) + 0.5 * (x == z)

    ka, kb = kernel(a), kernel(b)
    v10 = np.vstack([ka.mean(axis=1), kb.mean(axis=1)])
    v01 = np.vstack([ka.mean(axis=0), kb.mean(axis=0)])
    s = np.cov(v10) / pos.sum() + np.cov(v01) / neg.sum()
    se = math.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    return {"auc_a": ka.mean(), "auc_b": kb.mean(), "se": se}


def tied_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two correlated score vectors rounded to few levels, so ties abound."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.round(0.6 * y + rng.normal(size=n), 1)
    b = np.round(0.5 * a + 0.4 * y + rng.normal(size=n), 1)
    return y, a, b


class TestDeLongAgainstQuadraticReference:
    @pytest.mark.parametrize("seed", range(6))
    def test_matches_the_all_pairs_computation_to_1e_9_with_ties(self, seed: int) -> None:
        y, a, b = tied_scores(150 + 60 * seed, seed)
        reference = delong_quadratic(y, a, b)
        result = delong_test(y, a, b)
        assert result.auc_a == pytest.approx(reference["auc_a"], abs=1e-9)
        assert result.auc_b == pytest.approx(reference["auc_b"], abs=1e-9)
        assert result.se == pytest.approx(reference["se"], abs=1e-9)
        z = (reference["auc_b"] - reference["auc_a"]) / reference["se"]
        assert result.z == pytest.approx(z, abs=1e-9)
        assert result.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), abs=1e-9)

    def test_aucs_equal_sklearn_roc_auc_score(self) -> None:
        y, a, b = tied_scores(500, 11)
        result = delong_test(y, a, b)
        assert result.auc_a == pytest.approx(roc_auc_score(y, a), abs=1e-12)
        assert result.auc_b == pytest.approx(roc_auc_score(y, b), abs=1e-12)
        assert roc_auc(y, a) == pytest.approx(roc_auc_score(y, a), abs=1e-12)


class TestDeLongWorkedExamples:
    def test_three_by_three_example_with_ties_worked_by_hand(self) -> None:
        # Positives a: .9 .6 .3, negatives a: .6 .3 .1 -> V10 = 1, 5/6, 1/2; AUC 7/9.
        # Positives b: .8 .7 .2, negatives b: .5 .2 .4 -> V10 = 1, 1, 1/6; AUC 13/18.
        # V10 differences 0, 1/6, -1/3 and V01 differences 1/6, 0, -1/3 each have
        # sample variance 7/108, so var(delta) = 7/108/3 + 7/108/3 = 7/162.
        y = [1, 1, 1, 0, 0, 0]
        a = [0.9, 0.6, 0.3, 0.6, 0.3, 0.1]
        b = [0.8, 0.7, 0.2, 0.5, 0.2, 0.4]
        result = delong_test(y, a, b, alternative="two-sided")
        assert result.auc_a == pytest.approx(float(Fraction(7, 9)), abs=1e-15)
        assert result.auc_b == pytest.approx(float(Fraction(13, 18)), abs=1e-15)
        assert result.delta == pytest.approx(-1 / 18, abs=1e-15)
        assert result.se == pytest.approx(math.sqrt(7 / 162), abs=1e-15)
        z = (-1 / 18) / math.sqrt(7 / 162)
        assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=1e-15)

    def test_hanley_mcneil_1982_ct_ratings_give_the_published_auc_0_893(self) -> None:
        # Hanley & McNeil (1982), Radiology 143:29-36, Table 1: 109 CT images rated 1-5.
        normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
        abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
        y = np.r_[np.zeros(normal.size), np.ones(abnormal.size)]
        ratings = np.r_[normal, abnormal].astype(float)
        assert roc_auc(y, ratings) == pytest.approx(2642 / 2958, abs=1e-15)
        assert round(roc_auc(y, ratings), 3) == 0.893
        result = delong_test(y, ratings, ratings)
        assert result.auc_a == result.auc_b == pytest.approx(0.8932, abs=1e-4)


class TestDeLongOptions:
    def test_alternatives_split_the_tails(self) -> None:
        y, a, b = tied_scores(300, 3)
        greater = delong_test(y, a, b, alternative="greater").p_value
        less = delong_test(y, a, b, alternative="less").p_value
        two_sided = delong_test(y, a, b, alternative="two-sided").p_value
        assert greater + less == pytest.approx(1.0, abs=1e-12)
        assert two_sided == pytest.approx(2 * min(greater, less), abs=1e-12)

    def test_margin_shifts_the_null_hypothesis(self) -> None:
        y, a, b = tied_scores(300, 4)
        plain = delong_test(y, a, b)
        shifted = delong_test(y, a, b, margin=0.05)
        assert shifted.z == pytest.approx((plain.delta - 0.05) / plain.se, abs=1e-12)
        assert shifted.p_value > plain.p_value

    def test_confidence_interval_is_delta_plus_minus_normal_quantile_times_se(self) -> None:
        y, a, b = tied_scores(300, 5)
        result = delong_test(y, a, b, confidence=0.90)
        assert result.ci_high - result.delta == pytest.approx(1.6448536269514722 * result.se)
        assert result.delta - result.ci_low == pytest.approx(result.ci_high - result.delta)

    @pytest.mark.parametrize(
        ("option", "value", "message"),
        [
            ("alternative", "bigger", r"The 'alternative' parameter of delong_test must be a str"),
            ("confidence", 1.0, r"'confidence' .* in the range \(0, 1\)\. Got 1\.0 instead"),
            ("margin", math.nan, r"'margin' parameter of delong_test must be a float"),
        ],
    )
    def test_invalid_options_are_refused(self, option: str, value: object, message: str) -> None:
        with pytest.raises(PolicyParameterError, match=message):
            delong_test([0, 1], [0.1, 0.2], [0.3, 0.4], **{option: value})


class TestDeLongDegenerateInput:
    def test_one_class_gives_nan_and_a_warning(self) -> None:
        with pytest.warns(UndefinedStatisticWarning, match="Only one class"):
            result = delong_test([1, 1, 1], [0.2, 0.5, 0.9], [0.1, 0.6, 0.8])
        assert all(math.isnan(v) for v in vars(result).values())

    def test_a_single_positive_gives_aucs_but_no_variance(self) -> None:
        with pytest.warns(UndefinedStatisticWarning, match="at least 2 of each"):
            result = delong_test([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4])
        assert (result.auc_a, result.auc_b) == (1.0, 0.0)
        assert math.isnan(result.se) and math.isnan(result.p_value)

    @pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
    def test_identical_models_have_zero_se_z_zero_and_p_one(self, alternative) -> None:
        y, a, _ = tied_scores(100, 6)
        result = delong_test(y, a, a, alternative=alternative)
        assert result.se == 0.0 and result.delta == 0.0
        assert (result.z, result.p_value) == (0.0, 1.0)
        assert (result.ci_low, result.ci_high) == (0.0, 0.0)

    def test_identical_models_beside_a_margin_give_an_infinite_z(self) -> None:
        y, a, _ = tied_scores(100, 6)
        result = delong_test(y, a, a, margin=0.01)
        assert (result.z, result.p_value) == (-math.inf, 1.0)

    def test_perfect_challenger_over_perfect_margin_gives_infinite_z(self) -> None:
        y = [0, 0, 1, 1]
        result = delong_test(y, [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], margin=-0.1)
        assert result.z == math.inf and result.p_value == 0.0

    @pytest.mark.parametrize(
        ("y", "a", "message"),
        [
            (
                [0, 1, 2],
                [0.1, 0.2, 0.3],
                r"y_true must hold only the labels 0 and 1; got 2\.0 at row 2",
            ),
            ([0, 1], [0.1, 0.2, 0.3], r"scores_a has 3 rows while y_true has 2"),
            ([0, 1], [0.1, math.nan], r"scores_a must be finite; .* row 1"),
            ([[0, 1]], [[0.1, 0.2]], r"y_true must be 1-D .* shape \(1, 2\)"),
            ([], [], r"y_true has 0 rows"),
            ([0, 1], ["x", "y"], r"scores_a must be numeric"),
        ],
    )
    def test_malformed_input_raises_naming_it(self, y: object, a: object, message: str) -> None:
        with pytest.raises(EvidenceError, match=message):
            delong_test(y, a, a)


class TestPairedBootstrap:
    def test_observed_delta_is_the_exact_metric_difference(self) -> None:
        y, a, b = tied_scores(400, 7)
        result = paired_bootstrap(y, a, b, "roc_auc", n_resamples=50)
        assert result.delta == pytest.approx(roc_auc_score(y, b) - roc_auc_score(y, a), abs=1e-12)

    def test_same_seed_same_result_other_seed_other_result(self) -> None:
        y, a, b = tied_scores(300, 8)
        first = paired_bootstrap(y, a, b, "roc_auc", n_resamples=200, seed=1)
        again = paired_bootstrap(y, a, b, "roc_auc", n_resamples=200, seed=1)
        other = paired_bootstrap(y, a, b, "roc_auc", n_resamples=200, seed=2)
        np.testing.assert_array_equal(first.distribution, again.distribution)
        assert not np.array_equal(first.distribution, other.distribution)

    def test_resamples_keep_the_class_counts(self) -> None:
        y, a, b = tied_scores(200, 9)
        seen = []

        def record(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
            seen.append(weights[:, y_true == 1].sum(axis=1))
            return np.zeros(weights.shape[0])

        paired_bootstrap(y, a, b, record, n_resamples=30)
        assert np.all(np.concatenate(seen) == (y == 1).sum())

    def test_clear_improvement_gives_the_smallest_p_and_an_interval_above_zero(
        self, make_scores
    ) -> None:
        y, a, b = make_scores(1000, gain=0.8, seed=10)
        result = paired_bootstrap(y, a, b, "roc_auc", n_resamples=400, confidence=0.9)
        assert result.p_value == 1 / 401
        assert 0 < result.ci_low < result.delta < result.ci_high
        assert result.ci_low == pytest.approx(np.quantile(result.distribution, 0.05))

    def test_spans_several_batches_when_rows_times_resamples_is_large(self) -> None:
        y, a, b = tied_scores(5000, 12)
        result = paired_bootstrap(y, a, b, "accuracy", n_resamples=450)
        assert result.distribution.shape == (450,) and np.isfinite(result.distribution).all()

    @pytest.mark.parametrize(
        ("name", "sklearn_metric"),
        [
            ("roc_auc", roc_auc_score),
            ("accuracy", lambda t, s: accuracy_score(t, s >= 0.5)),
            ("f1", lambda t, s: f1_score(t, s >= 0.5)),
            ("precision", lambda t, s: precision_score(t, s >= 0.5, zero_division=0)),
            ("recall", lambda t, s: recall_score(t, s >= 0.5, zero_division=0)),
            ("brier_loss", brier_score_loss),
        ],
    )
    def test_weighted_metrics_equal_sklearn_on_the_repeated_rows(
        self, name: str, sklearn_metric
    ) -> None:
        y, a, _ = tied_scores(120, 13)
        probabilities = 1 / (1 + np.exp(-a))
        weights = np.random.default_rng(0).integers(0, 3, size=(4, y.size))
        got = METRICS[name].function(y.astype(float), probabilities, weights.astype(float))
        for row, value in zip(weights, got, strict=True):
            expected = sklearn_metric(np.repeat(y, row), np.repeat(probabilities, row))
            assert value == pytest.approx(expected, abs=1e-12)

    def test_one_class_gives_nan_and_a_warning(self) -> None:
        with pytest.warns(UndefinedStatisticWarning):
            result = paired_bootstrap([0, 0], [0.1, 0.2], [0.3, 0.4], "roc_auc")
        assert math.isnan(result.delta) and result.distribution.size == 0

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            (
                {"metric": "auc"},
                r"'metric' parameter of paired_bootstrap must be a str among \['accuracy', 'brier_loss', "
                r"'f1', 'precision', 'recall', 'roc_auc'\]",
            ),
            (
                {"metric": "roc_auc", "n_resamples": 0},
                r"'n_resamples' .* an int in the range \[1, inf\)\. Got 0",
            ),
            ({"metric": "roc_auc", "confidence": 0}, r"'confidence' .* Got 0 instead"),
        ],
    )
    def test_invalid_options_are_refused(self, kwargs: dict, message: str) -> None:
        with pytest.raises(PolicyParameterError, match=message):
            paired_bootstrap([0, 1], [0.1, 0.2], [0.3, 0.4], **kwargs)


def test_roc_auc_of_one_class_is_nan_with_a_warning() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="Only one class"):
        assert math.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))


class TestOneRocAuc:
    """Every AUC is the table's, and equals scikit-learn's to the last bit."""

    @pytest.mark.parametrize("seed", range(4))
    def test_roc_auc_equals_sklearn_bit_for_bit_with_and_without_ties(self, seed: int) -> None:
        y, a, _ = tied_scores(300 + 100 * seed, seed)
        rng = np.random.default_rng(seed)
        continuous = rng.random(y.size)
        for scores in (a, continuous, np.round(continuous, 2)):
            assert roc_auc(y, scores) == roc_auc_score(y, scores)
            assert metric_value("roc_auc", y, scores) == roc_auc_score(y, scores)

    def test_delong_and_the_bootstrap_report_the_same_auc(self) -> None:
        y, a, b = tied_scores(700, 21)
        result = delong_test(y, a, b)
        assert (result.auc_a, result.auc_b) == (roc_auc(y, a), roc_auc(y, b))
        bootstrap = paired_bootstrap(y, a, b, "roc_auc", n_resamples=10)
        assert bootstrap.delta == roc_auc(y, b) - roc_auc(y, a)


class TestMetricTable:
    def test_every_metric_has_a_function_and_a_direction(self) -> None:
        assert list(METRICS) == ["roc_auc", "f1", "accuracy", "precision", "recall", "brier_loss"]
        assert [m.greater_is_better for m in METRICS.values()] == [True] * 5 + [False]
        assert [n for n, m in METRICS.items() if m.needs_both_classes] == ["roc_auc"]

    def test_metric_values_compute_each_metric_of_the_table(self) -> None:
        y, a, _ = tied_scores(200, 3)
        probabilities = 1 / (1 + np.exp(-a))
        values = metric_values(y, probabilities)
        assert values["f1"] == f1_score(y, probabilities >= 0.5)
        assert values["accuracy"] == accuracy_score(y, probabilities >= 0.5)
        assert values["brier_loss"] == pytest.approx(brier_score_loss(y, probabilities))

    def test_the_bootstrap_reads_direction_from_the_table(self, monkeypatch, make_scores) -> None:
        y, a, b = make_scores(600, gain=0.8, seed=4)
        probabilities_a, probabilities_b = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
        better = paired_bootstrap(
            y, probabilities_a, probabilities_b, "brier_loss", n_resamples=200
        )
        assert better.delta < 0 and better.p_value == 1 / 201
        flipped = dataclasses.replace(METRICS["brier_loss"], greater_is_better=True)
        monkeypatch.setitem(METRICS, "brier_loss", flipped)
        worse = paired_bootstrap(y, probabilities_a, probabilities_b, "brier_loss", n_resamples=200)
        assert worse.delta == better.delta and worse.p_value == 1.0

    def test_guardrails_read_direction_from_the_table(self, monkeypatch) -> None:
        assert not ccpolicy.greater_is_better("brier_loss")
        flipped = dataclasses.replace(METRICS["brier_loss"], greater_is_better=True)
        monkeypatch.setitem(METRICS, "brier_loss", flipped)
        assert ccpolicy.greater_is_better("brier_loss")
        assert not ccpolicy.greater_is_better("plugin_error")  # not in the table: by its name


class TestRocCurve:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_equals_sklearn_without_dropping_points(self, seed: int) -> None:
        y, a, _ = tied_scores(500, seed)
        fpr, tpr = roc_curve(y, a)
        expected_fpr, expected_tpr, _ = sklearn_roc_curve(y, a, drop_intermediate=False)
        np.testing.assert_allclose(fpr, expected_fpr, atol=1e-12)
        np.testing.assert_allclose(tpr, expected_tpr, atol=1e-12)
        assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, a), abs=1e-12)

    def test_one_class_has_no_curve(self) -> None:
        with pytest.raises(
            EvidenceError, match=r"one class only \(3 rows\); a ROC curve needs both"
        ):
            roc_curve([1, 1, 1], [0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    "module",
    [
        ccpolicy.stats,
        ccpolicy._stats.delong,
        ccpolicy._stats.bootstrap,
        ccpolicy._stats.metrics,
        ccpolicy._stats.spending,
        ccpolicy._params,
        ccpolicy._evidence,
        ccpolicy._looks,
    ],
)
def test_docstring_examples_run(module) -> None:
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0
