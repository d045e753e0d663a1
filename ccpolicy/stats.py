"""Statistics for comparing two models: on the same hold-out rows, or on independent samples.

Naming follows scikit-learn: ``roc_auc``, ``accuracy`` and ``f1`` are scores
(higher is better); a ``delta`` is always ``model b - model a``, the challenger
minus the champion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ccpolicy._stats.bootstrap import BootstrapResult, paired_bootstrap
from ccpolicy._stats.delong import (
    DeLongResult,
    delong_test,
    delong_test_independent,
    min_detectable_gain,
)
from ccpolicy._stats.metrics import (
    DECISION_THRESHOLD,
    METRICS,
    Metric,
    WeightedMetric,
    metric_value,
    metric_values,
)
from ccpolicy._stats.ranking import both_classes_present, class_counts_by_tie_group
from ccpolicy._validation import labelled_scores
from ccpolicy.errors import EvidenceError, UndefinedStatisticWarning

__all__ = [
    "DECISION_THRESHOLD",
    "METRICS",
    "BootstrapResult",
    "DeLongResult",
    "Metric",
    "UndefinedStatisticWarning",
    "WeightedMetric",
    "delong_test",
    "delong_test_independent",
    "has_both_classes",
    "metric_value",
    "metric_values",
    "min_detectable_gain",
    "paired_bootstrap",
    "roc_auc",
    "roc_curve",
]


def has_both_classes(y_true: Any, *, statistic: str) -> bool:
    """Whether ``y_true`` holds both labels; if not, warn that ``statistic`` is undefined.

    The one place that says so, with :class:`UndefinedStatisticWarning`, for the
    policies' statistics and for the metrics the flows report alike.
    """
    return both_classes_present(np.asarray(y_true) == 1, statistic=statistic)


def roc_auc(y_true: Any, scores: Any) -> float:
    """Return the ROC AUC of ``scores`` for labels ``y_true``, ties counting half.

    Equals ``sklearn.metrics.roc_auc_score`` for binary labels to the last bit,
    without importing scikit-learn; it is ``METRICS["roc_auc"]`` on the rows as they
    are. One class only gives NaN and a warning, as sklearn does.

    Args:
        y_true: Labels, 0 or 1, shape (n,).
        scores: Scores for class 1, shape (n,).

    Returns:
        The AUC, or NaN when ``y_true`` holds one class only.

    Raises:
        EvidenceError: The labels or scores are malformed.

    Warns:
        UndefinedStatisticWarning: Only one class is present.

    Example:
        >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.4, 0.8])
        0.875
    """
    return metric_value("roc_auc", y_true, scores)


def roc_curve(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the ROC curve's false- and true-positive rates, one point per distinct score.

    Thresholds run from above the highest score down to the lowest, so both rates
    rise from 0 to 1; tied scores form one point. Equals
    ``sklearn.metrics.roc_curve(..., drop_intermediate=False)[:2]`` without
    importing scikit-learn.

    Args:
        y_true: Labels, 0 or 1, shape (n,).
        scores: Scores for class 1, shape (n,).

    Returns:
        ``(fpr, tpr)``, each of shape (distinct scores + 1,).

    Raises:
        EvidenceError: The labels or scores are malformed, or one class is missing
            (the curve is undefined).

    Example:
        >>> fpr, tpr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.4, 0.8])
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    y, s = labelled_scores(y_true, scores, names=("y_true", "scores"))
    positive = y == 1
    n_pos = int(positive.sum())
    if n_pos in (0, y.size):
        raise EvidenceError(
            f"y_true holds one class only ({y.size} rows); a ROC curve needs both classes."
        )
    pos, neg, _, _ = class_counts_by_tie_group(s, positive)
    tpr = np.concatenate(([0.0], np.cumsum(pos[0, ::-1]) / n_pos))
    fpr = np.concatenate(([0.0], np.cumsum(neg[0, ::-1]) / (y.size - n_pos)))
    return fpr, tpr
