"""Paired, class-stratified, seeded bootstrap of a metric difference between two models."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccpolicy._params import OPEN_UNIT_INTERVAL, Interval, check_value
from ccpolicy._stats.metrics import METRICS, WeightedMetric
from ccpolicy._stats.ranking import both_classes_present
from ccpolicy._validation import labelled_scores
from ccpolicy.errors import PolicyParameterError

_MAX_BATCH_ELEMENTS = 2_000_000
"""Upper bound on resamples x rows held in memory at once."""


@dataclass(frozen=True)
class BootstrapResult:
    """Outcome of :func:`paired_bootstrap`."""

    delta: float
    """Observed ``metric(b) - metric(a)`` on the full data."""
    ci_low: float
    """Lower percentile bound of the two-sided ``confidence`` interval of ``delta``."""
    ci_high: float
    """Upper percentile bound of the two-sided ``confidence`` interval of ``delta``."""
    p_value: float
    """One-sided p-value of H0 "b is no better than a": ``(1 + #{delta* <= 0}) / (n_resamples + 1)``
    for a metric where greater is better, ``#{delta* >= 0}`` for a loss."""
    distribution: np.ndarray
    """The ``n_resamples`` resampled differences ``delta*``."""


def paired_bootstrap(
    y_true: Any,
    scores_a: Any,
    scores_b: Any,
    metric: str | WeightedMetric,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapResult:
    """Bootstrap the difference ``metric(b) - metric(a)`` with both models on the same resamples.

    Each resample draws the positive rows and the negative rows with replacement,
    separately (stratified, as pROC does for AUC), so every resample keeps the
    hold-out's class counts and the AUC stays defined. Resamples are expressed as
    row multiplicities and evaluated in vectorised batches, so a metric sees a
    ``(b, n)`` weight matrix instead of being called once per resample.

    Args:
        y_true: Labels, 0 or 1, shape (n,).
        scores_a: Model a's (the champion's) scores for class 1, shape (n,).
        scores_b: Model b's (the challenger's) scores for class 1, shape (n,).
        metric: A name in ``ccpolicy.stats.METRICS`` (its function and direction
            are used), or a callable ``metric(y_true, scores, weights) -> (b,)``,
            greater being better, where ``weights`` holds each row's multiplicity
            per resample.
        n_resamples: Number of resamples, at least 1. Defaults to 2000.
        seed: Seed of the random generator; equal seeds give equal results. Defaults to 0.
        confidence: Level of the two-sided percentile interval, in (0, 1). Defaults to 0.95.

    Returns:
        BootstrapResult. With only one class in ``y_true`` every number is NaN and the
        distribution is empty.

    Raises:
        EvidenceError: The labels or scores are malformed.
        PolicyParameterError: ``metric``, ``n_resamples`` or ``confidence`` is invalid.

    References:
        B. Efron, R. J. Tibshirani (1993). An Introduction to the Bootstrap. Chapman & Hall.

    Example:
        >>> r = paired_bootstrap([0, 0, 1, 1], [0.1, 0.5, 0.4, 0.9], [0.1, 0.5, 0.6, 0.9],
        ...                      "roc_auc", n_resamples=500)
        >>> round(r.delta, 2), r.distribution.shape
        (0.25, (500,))
    """
    metric_fn, greater_is_better = _resolve_metric(metric)
    check_value("paired_bootstrap", "n_resamples", Interval("int", 1), n_resamples)
    check_value("paired_bootstrap", "confidence", OPEN_UNIT_INTERVAL, confidence)
    y, a, b = labelled_scores(y_true, scores_a, scores_b, names=("y_true", "scores_a", "scores_b"))
    if not both_classes_present(y == 1, statistic="the stratified bootstrap"):
        return BootstrapResult(math.nan, math.nan, math.nan, math.nan, np.empty(0))
    pos_rows = np.flatnonzero(y == 1)
    neg_rows = np.flatnonzero(y == 0)

    unit = np.ones((1, y.size))
    delta = float(metric_fn(y, b, unit)[0] - metric_fn(y, a, unit)[0])
    rng = np.random.default_rng(seed)
    distribution = np.empty(n_resamples)
    batch = max(1, _MAX_BATCH_ELEMENTS // y.size)
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        weights = np.zeros((size, y.size))
        weights[:, pos_rows] = _multiplicities(rng, size, pos_rows.size)
        weights[:, neg_rows] = _multiplicities(rng, size, neg_rows.size)
        distribution[start : start + size] = metric_fn(y, b, weights) - metric_fn(y, a, weights)
    ci_low, ci_high = np.quantile(distribution, [(1 - confidence) / 2, (1 + confidence) / 2])
    no_better = distribution <= 0 if greater_is_better else distribution >= 0
    p_value = (1 + np.count_nonzero(no_better)) / (n_resamples + 1)
    return BootstrapResult(delta, float(ci_low), float(ci_high), float(p_value), distribution)


def _multiplicities(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """How often each of ``count`` rows is drawn in ``size`` resamples of ``count`` draws."""
    draws = rng.integers(0, count, size=(size, count))
    flat = draws + count * np.arange(size)[:, np.newaxis]
    return np.bincount(flat.ravel(), minlength=size * count).reshape(size, count)


def _resolve_metric(metric: str | WeightedMetric) -> tuple[WeightedMetric, bool]:
    """Return the weighted metric named by ``metric`` (or the callable) and its direction."""
    if callable(metric):
        return metric, True
    if metric in METRICS:
        return METRICS[metric].function, METRICS[metric].greater_is_better
    raise PolicyParameterError(
        f"The 'metric' parameter of paired_bootstrap must be a str among "
        f"{sorted(METRICS)} or a callable metric(y_true, scores, weights). "
        f"Got {metric!r} instead."
    )
