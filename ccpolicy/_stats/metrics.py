"""The metrics of a model's scores, in one table: function, direction, threshold, one-class rule.

Every metric the project computes is a row of :data:`METRICS`: the evaluation's
table, a challenger's own test AUC, the policies' guardrails (which read each
metric's direction) and the paired bootstrap (which resamples the same functions)
all read it. Each function takes a ``(b, n)`` matrix of row weights, so one call
computes a metric on the rows as they are (one row of ones) or on ``b`` bootstrap
resamples (each row's multiplicity) alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccpolicy._stats.ranking import (
    auc_from_group_counts,
    both_classes_present,
    class_counts_by_tie_group,
)
from ccpolicy._validation import labelled_scores

WeightedMetric = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``metric(y_true (n,), scores (n,), weights (b, n)) -> (b,)``: a metric per row weighting."""

DECISION_THRESHOLD = 0.5
"""Scores at or above it predict class 1, for the metrics of hard predictions."""


@dataclass(frozen=True)
class Metric:
    """One metric: how to compute it, which way is better, and what it needs."""

    function: WeightedMetric
    """Its value for each row weighting."""
    greater_is_better: bool
    """Higher values are better (scores); lower are better for losses and errors."""
    thresholded: bool
    """Computed on hard predictions (``scores >= DECISION_THRESHOLD``), not on the scores."""
    needs_both_classes: bool
    """Undefined on labels of one class: NaN, with an ``UndefinedStatisticWarning``."""


def weighted_roc_auc(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count half) of each row weighting; NaN where a class has zero weight."""
    pos, neg, _, _ = class_counts_by_tie_group(scores, y_true == 1, weights)
    return auc_from_group_counts(pos, neg)


def _confusion(
    y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted true positives, false positives and false negatives at the threshold."""
    predicted, actual = scores >= DECISION_THRESHOLD, y_true == 1
    return (
        weights @ (predicted & actual),
        weights @ (predicted & ~actual),
        weights @ (~predicted & actual),
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (sklearn's ``zero_division=0``)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def weighted_accuracy(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Accuracy at the threshold of each row weighting."""
    correct = (scores >= DECISION_THRESHOLD) == (y_true == 1)
    return (weights @ correct) / weights.sum(axis=1)


def weighted_f1(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F1 of class 1 at the threshold of each row weighting (0 where undefined, as sklearn)."""
    true_pos, false_pos, false_neg = _confusion(y_true, scores, weights)
    return _ratio(2 * true_pos, 2 * true_pos + false_pos + false_neg)


def weighted_precision(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Precision of class 1 at the threshold of each row weighting (0 when nothing is predicted 1)."""
    true_pos, false_pos, _ = _confusion(y_true, scores, weights)
    return _ratio(true_pos, true_pos + false_pos)


def weighted_recall(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Recall of class 1 at the threshold of each row weighting (0 without positives)."""
    true_pos, _, false_neg = _confusion(y_true, scores, weights)
    return _ratio(true_pos, true_pos + false_neg)


def weighted_brier_loss(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean squared difference between the score and the 0/1 label, per row weighting."""
    return (weights @ (scores - y_true) ** 2) / weights.sum(axis=1)


METRICS: dict[str, Metric] = {
    "roc_auc": Metric(weighted_roc_auc, True, thresholded=False, needs_both_classes=True),
    "f1": Metric(weighted_f1, True, thresholded=True, needs_both_classes=False),
    "accuracy": Metric(weighted_accuracy, True, thresholded=True, needs_both_classes=False),
    "precision": Metric(weighted_precision, True, thresholded=True, needs_both_classes=False),
    "recall": Metric(weighted_recall, True, thresholded=True, needs_both_classes=False),
    "brier_loss": Metric(weighted_brier_loss, False, thresholded=False, needs_both_classes=False),
}
"""Every metric, in scikit-learn's naming (``*_loss`` lower is better), in report order."""


def metric_value(name: str, y_true: Any, scores: Any) -> float:
    """The metric ``name`` of ``METRICS`` on one model's scores for class 1.

    Raises:
        KeyError: if ``name`` is not in :data:`METRICS`.
        EvidenceError: if the labels or scores are malformed.

    Warns:
        UndefinedStatisticWarning: the metric needs both classes and ``y_true`` has one.

    Example:
        >>> metric_value("roc_auc", [0, 0, 1, 1], [0.1, 0.4, 0.4, 0.8])
        0.875
    """
    return metric_values(y_true, scores, names=(name,))[name]


def metric_values(y_true: Any, scores: Any, *, names: Iterable[str] = METRICS) -> dict[str, float]:
    """Each metric in ``names`` (default: all of :data:`METRICS`) on one model's scores.

    Metrics that need both classes are NaN, with one warning each, on one-class labels.
    """
    y, s = labelled_scores(y_true, scores, names=("y_true", "scores"))
    unit = np.ones((1, y.size))
    values = {}
    for name in names:
        metric = METRICS[name]
        if metric.needs_both_classes and not both_classes_present(y == 1, statistic=name):
            values[name] = math.nan
        else:
            values[name] = float(metric.function(y, s, unit)[0])
    return values
