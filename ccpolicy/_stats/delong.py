"""DeLong's test for the difference of two ROC AUCs: paired (correlated) or independent samples."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from ccpolicy._params import OPEN_UNIT_INTERVAL, Interval, Options, check_value
from ccpolicy._stats.ranking import (
    auc_from_group_counts,
    both_classes_present,
    class_counts_by_tie_group,
    placements,
)
from ccpolicy._validation import labelled_scores
from ccpolicy.errors import UndefinedStatisticWarning

Alternative = Literal["greater", "two-sided", "less"]
_ALTERNATIVES = ("greater", "two-sided", "less")


@dataclass(frozen=True)
class DeLongResult:
    """Outcome of :func:`delong_test`; NaN fields mean the statistic is undefined."""

    auc_a: float
    """ROC AUC of the first model (the champion)."""
    auc_b: float
    """ROC AUC of the second model (the challenger)."""
    delta: float
    """``auc_b - auc_a``."""
    se: float
    """Standard error of ``delta`` (DeLong's variance: paired, or independent samples)."""
    z: float
    """``(delta - margin) / se``."""
    p_value: float
    """p-value of the requested alternative against H0 ``delta == margin``."""
    ci_low: float
    """Lower end of the two-sided ``confidence`` interval of ``delta``."""
    ci_high: float
    """Upper end of the two-sided ``confidence`` interval of ``delta``."""


def delong_test(
    y_true: Any,
    scores_a: Any,
    scores_b: Any,
    *,
    alternative: Alternative = "greater",
    margin: float = 0.0,
    confidence: float = 0.95,
) -> DeLongResult:
    """Test whether model b's ROC AUC differs from model a's by more than ``margin``.

    Both models must be scored on the same rows: the test uses the covariance of
    their placement values, which is what makes it far more sensitive than
    comparing two independent confidence intervals. Placement values are computed
    from one sort per model (Sun & Xu's fast algorithm, ties as midranks), so the
    cost is O(n log n).

    Args:
        y_true: Labels, 0 or 1, shape (n,).
        scores_a: Model a's (the champion's) scores for class 1, shape (n,).
        scores_b: Model b's (the challenger's) scores for class 1, shape (n,).
        alternative: ``"greater"`` tests H1 ``delta > margin`` (one-sided),
            ``"less"`` H1 ``delta < margin``, ``"two-sided"`` H1 ``delta != margin``.
            Defaults to ``"greater"``.
        margin: The difference under the null hypothesis. Defaults to 0.
        confidence: Level of the two-sided confidence interval of ``delta``, in (0, 1).
            Defaults to 0.95.

    Returns:
        DeLongResult. With only one class in ``y_true`` every field is NaN; with a
        single row of a class the AUCs are defined but the variance is not. Two
        models that rank the rows identically have ``se == 0``; a difference
        exactly at the margin then has ``z == 0`` and ``p_value == 1``.

    Raises:
        EvidenceError: The labels or scores are malformed.
        PolicyParameterError: ``alternative``, ``margin`` or ``confidence`` is invalid.

    Warns:
        UndefinedStatisticWarning: The AUC or its variance is undefined (NaN).

    References:
        E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson (1988). Comparing the areas
        under two or more correlated receiver operating characteristic curves: a
        nonparametric approach. Biometrics 44(3), 837-845.

        X. Sun, W. Xu (2014). Fast implementation of DeLong's algorithm for comparing
        the areas under correlated receiver operating characteristic curves.
        IEEE Signal Processing Letters 21(11), 1389-1393.

    Example:
        >>> r = delong_test([0, 0, 1, 1], [0.1, 0.5, 0.4, 0.9], [0.1, 0.5, 0.6, 0.9])
        >>> round(r.auc_a, 2), round(r.auc_b, 2), round(r.delta, 2)
        (0.75, 1.0, 0.25)
        >>> round(r.se, 4), round(r.p_value, 4)
        (0.3536, 0.2398)
    """
    _check_options(alternative, margin, confidence)
    y, a, b = labelled_scores(y_true, scores_a, scores_b, names=("y_true", "scores_a", "scores_b"))
    positive = y == 1
    if not both_classes_present(positive, statistic="ROC AUC"):
        nan = math.nan
        return DeLongResult(nan, nan, nan, nan, nan, nan, nan, nan)
    n_pos = int(positive.sum())
    n_neg = y.size - n_pos

    counts_a = class_counts_by_tie_group(a, positive)
    counts_b = class_counts_by_tie_group(b, positive)
    place_a = placements(positive, counts_a)
    place_b = placements(positive, counts_b)
    # The mean placement of the positives is the AUC too; the one AUC keeps the digits
    # equal to every other AUC the project reports.
    auc_a = float(auc_from_group_counts(*counts_a[:2])[0])
    auc_b = float(auc_from_group_counts(*counts_b[:2])[0])
    se = _standard_error(place_b - place_a, positive, n_pos=n_pos, n_neg=n_neg)
    return _result(auc_a, auc_b, se, alternative=alternative, margin=margin, confidence=confidence)


def delong_test_independent(
    y_true_a: Any,
    scores_a: Any,
    y_true_b: Any,
    scores_b: Any,
    *,
    alternative: Alternative = "greater",
    margin: float = 0.0,
    confidence: float = 0.95,
) -> DeLongResult:
    """Test whether model b's ROC AUC differs from model a's, each scored on its own rows.

    For split traffic: each model decided (and was scored on) its own sample, so
    the two AUCs are independent and the variance of their difference is the sum
    of each AUC's DeLong variance, with no covariance term. Without the pairing
    the test needs far more rows than :func:`delong_test` for the same power.

    Args:
        y_true_a: Labels of model a's (the champion's) rows, 0 or 1.
        scores_a: Model a's scores for class 1 on its rows.
        y_true_b: Labels of model b's (the challenger's) rows, 0 or 1.
        scores_b: Model b's scores for class 1 on its rows.
        alternative: As in :func:`delong_test`.
        margin: As in :func:`delong_test`.
        confidence: As in :func:`delong_test`.

    Returns:
        DeLongResult; every field NaN when either sample holds one class only, the
        standard error NaN when either has fewer than 2 rows of a class.

    Raises:
        EvidenceError: The labels or scores are malformed.
        PolicyParameterError: ``alternative``, ``margin`` or ``confidence`` is invalid.

    Warns:
        UndefinedStatisticWarning: An AUC or its variance is undefined (NaN).

    References:
        E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson (1988), as for
        :func:`delong_test`; the variance of one AUC is its structural-component
        variance, and independent samples add.

    Example:
        >>> r = delong_test_independent([0, 0, 1, 1], [0.1, 0.5, 0.4, 0.9],
        ...                             [0, 0, 1, 1], [0.1, 0.5, 0.6, 0.9])
        >>> round(r.delta, 2), round(r.se, 4)
        (0.25, 0.3536)
    """
    _check_options(alternative, margin, confidence)
    y_a, a = labelled_scores(y_true_a, scores_a, names=("y_true_a", "scores_a"))
    y_b, b = labelled_scores(y_true_b, scores_b, names=("y_true_b", "scores_b"))
    positive_a, positive_b = y_a == 1, y_b == 1
    if not all(both_classes_present(p, statistic="ROC AUC") for p in (positive_a, positive_b)):
        nan = math.nan
        return DeLongResult(nan, nan, nan, nan, nan, nan, nan, nan)
    auc_a, variance_a = _auc_and_variance(a, positive_a)
    auc_b, variance_b = _auc_and_variance(b, positive_b)
    se = math.sqrt(variance_a + variance_b)
    return _result(auc_a, auc_b, se, alternative=alternative, margin=margin, confidence=confidence)


def _check_options(alternative: str, margin: float, confidence: float) -> None:
    """Validate the test's options with the parameter-style messages."""
    check_value("delong_test", "alternative", Options(frozenset(_ALTERNATIVES)), alternative)
    check_value("delong_test", "margin", Interval("float", -1.0, 1.0), margin)
    check_value("delong_test", "confidence", OPEN_UNIT_INTERVAL, confidence)


def _auc_and_variance(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """One model's AUC and DeLong's variance of it (NaN below 2 rows of a class)."""
    counts = class_counts_by_tie_group(scores, positive)
    auc = float(auc_from_group_counts(*counts[:2])[0])
    n_pos = int(positive.sum())
    se = _standard_error(
        placements(positive, counts), positive, n_pos=n_pos, n_neg=positive.size - n_pos
    )
    return auc, se * se


def _result(
    auc_a: float,
    auc_b: float,
    se: float,
    *,
    alternative: str,
    margin: float,
    confidence: float,
) -> DeLongResult:
    """The test's result from both AUCs and the standard error of their difference."""
    delta = auc_b - auc_a
    z = _ratio(delta - margin, se)
    half_width = NormalDist().inv_cdf((1 + confidence) / 2) * se
    return DeLongResult(
        auc_a=auc_a,
        auc_b=auc_b,
        delta=delta,
        se=se,
        z=z,
        p_value=1.0 if se == 0 and delta == margin else _p_value(z, alternative),
        ci_low=delta - half_width,
        ci_high=delta + half_width,
    )


def min_detectable_gain(
    se: float, *, alpha: float, power: float = 0.8, margin: float = 0.0
) -> float:
    """The true AUC gain a one-sided test at ``alpha`` detects with probability ``power``.

    The test promotes when ``(delta - margin) / se > z(1 - alpha)``. If the true
    gain is ``g`` and ``delta`` is normal with standard error ``se``, it promotes
    with probability ``Phi((g - margin) / se - z(1 - alpha))``; setting that to
    ``power`` gives ``g = margin + (z(1 - alpha) + z(power)) * se``. The observed
    standard error stands in for the one under the alternative, which differs
    little for gains of this size.

    Args:
        se: Standard error of the AUC difference (DeLong's, from the hold-out).
        alpha: One-sided significance level, in (0, 0.5).
        power: Probability of detecting the gain. Defaults to 0.8.
        margin: The gain the null hypothesis allows. Defaults to 0.

    Returns:
        The minimum detectable gain (NaN when ``se`` is NaN).

    Example:
        >>> round(min_detectable_gain(0.01, alpha=0.05), 4)
        0.0249
    """
    check_value(
        "min_detectable_gain", "alpha", Interval("float", 0.0, 0.5, closed="neither"), alpha
    )
    check_value("min_detectable_gain", "power", OPEN_UNIT_INTERVAL, power)
    normal = NormalDist()
    return margin + (normal.inv_cdf(1 - alpha) + normal.inv_cdf(power)) * se


def _standard_error(
    placement: np.ndarray, positive: np.ndarray, *, n_pos: int, n_neg: int
) -> float:
    """DeLong's standard error from placement values (one model's, or paired differences)."""
    if n_pos < 2 or n_neg < 2:
        warnings.warn(
            f"y_true has {n_pos} positive and {n_neg} negative row(s); DeLong's variance "
            "needs at least 2 of each and is NaN.",
            UndefinedStatisticWarning,
            stacklevel=3,
        )
        return math.nan
    variance = placement[positive].var(ddof=1) / n_pos + placement[~positive].var(ddof=1) / n_neg
    return math.sqrt(variance)


def _ratio(numerator: float, se: float) -> float:
    """numerator / se, with a zero standard error giving ±inf, or 0 for 0/0.

    A zero standard error means the difference is exact (identical rankings):
    exactly at the margin is z = 0 and, under that degenerate null, p = 1.
    """
    if se > 0 or math.isnan(se):
        return numerator / se
    return math.copysign(math.inf, numerator) if numerator else 0.0


def _p_value(z: float, alternative: str) -> float:
    """Normal p-value of ``z`` for the alternative, accurate far into the tails."""
    upper = 0.5 * math.erfc(z / math.sqrt(2))
    if alternative == "greater":
        return upper
    if alternative == "less":
        return 0.5 * math.erfc(-z / math.sqrt(2))
    return min(1.0, math.erfc(abs(z) / math.sqrt(2)))
