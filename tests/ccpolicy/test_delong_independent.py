"""DeLong's test for independent samples: against a brute-force reference and its null law."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ccpolicy.stats import delong_test, delong_test_independent


def brute_force_auc_and_variance(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUC and DeLong's variance from every positive-negative pair, straight from the paper."""
    pos, neg = scores[y == 1], scores[y == 0]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    return kernel.mean(), v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_brute_force_reference_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_a, y_b = rng.integers(0, 2, 150), rng.integers(0, 2, 220)
    a = np.round(0.7 * y_a + rng.standard_normal(150), 1)  # rounding makes ties
    b = np.round(1.0 * y_b + rng.standard_normal(220), 1)
    auc_a, var_a = brute_force_auc_and_variance(y_a, a)
    auc_b, var_b = brute_force_auc_and_variance(y_b, b)
    result = delong_test_independent(y_a, a, y_b, b, margin=0.01, confidence=0.9)
    assert result.auc_a == pytest.approx(auc_a, abs=1e-12)
    assert result.auc_b == pytest.approx(auc_b, abs=1e-12)
    assert result.se == pytest.approx(math.sqrt(var_a + var_b), rel=1e-12)
    assert result.z == pytest.approx((auc_b - auc_a - 0.01) / result.se, rel=1e-12)
    half = 1.6448536269514722 * result.se
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (result.delta - half, result.delta + half)
    )


def test_has_no_covariance_term_unlike_the_paired_test() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    a = y + rng.standard_normal(300)
    b = a + 0.3 * rng.standard_normal(300)
    paired = delong_test(y, a, b)
    unpaired = delong_test_independent(y, a, y, b)
    assert unpaired.delta == pytest.approx(paired.delta)
    assert unpaired.se > 2 * paired.se  # the pairing removes the shared noise


def test_its_null_distribution_is_standard_normal() -> None:
    rng = np.random.default_rng(7)
    zs = []
    for _ in range(2000):
        y_a, y_b = rng.random(200) < 0.4, rng.random(160) < 0.4
        a = 0.6 * y_a + rng.standard_normal(200)
        b = 0.6 * y_b + rng.standard_normal(160)
        zs.append(delong_test_independent(y_a.astype(float), a, y_b.astype(float), b).z)
    zs = np.array(zs)
    assert abs(zs.mean()) < 0.07 and 0.94 < zs.std() < 1.06
    # One-sided 5 % test: 100 expected rejections of 2,000; binomial 99.9 % range ~ 70-132.
    assert 70 <= int((zs > 1.6448536269514722).sum()) <= 132


def test_one_class_in_either_sample_gives_nan() -> None:
    with pytest.warns(UserWarning, match="Only one class"):
        result = delong_test_independent([0, 1], [0.1, 0.9], [1, 1], [0.2, 0.8])
    assert math.isnan(result.auc_b) and math.isnan(result.p_value)
