"""Rank statistics of ROC AUC: tie groups, class counts per group and DeLong placement values.

Everything here sorts each score vector once (O(n log n)) and then works on
groups of tied scores, which is how midranks treat ties: a positive and a
negative with the same score count as half a correctly ordered pair.
"""

from __future__ import annotations

import warnings

import numpy as np

from ccpolicy.errors import UndefinedStatisticWarning


def both_classes_present(positive: np.ndarray, *, statistic: str) -> bool:
    """Whether both classes occur; if not, warn as sklearn does (the statistic will be NaN)."""
    if positive.any() and not positive.all():
        return True
    warnings.warn(
        f"Only one class is present in y_true ({positive.size} rows, all {int(positive[0])}); "
        f"{statistic} is not defined in that case.",
        UndefinedStatisticWarning,
        stacklevel=3,
    )
    return False


def class_counts_by_tie_group(
    scores: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count positives and negatives in each group of tied scores, in ascending score order.

    Args:
        scores: Scores, shape (n,).
        positive: Boolean mask of the positive rows, shape (n,).
        weights: Row multiplicities per replicate, shape (b, n); None counts each row once.

    Returns:
        ``(pos, neg, order, group)``: weighted counts of positives and negatives per tie
        group, each of shape (b, g) (b = 1 without weights); the argsort of ``scores``;
        and the tie-group index of each row in sorted order.
    """
    order = np.argsort(scores)
    ranked = scores[order]
    is_start = np.concatenate(([True], ranked[1:] != ranked[:-1]))
    starts = np.flatnonzero(is_start)
    group = np.cumsum(is_start) - 1
    pos_sorted = positive[order]
    if weights is None:
        pos_rows = pos_sorted[np.newaxis, :].astype(np.float64)
        neg_rows = 1.0 - pos_rows
    else:
        sorted_weights = weights[:, order]
        pos_rows = sorted_weights * pos_sorted
        neg_rows = sorted_weights - pos_rows
    pos = np.add.reduceat(pos_rows, starts, axis=1)
    neg = np.add.reduceat(neg_rows, starts, axis=1)
    return pos, neg, order, group


def auc_from_group_counts(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Return the ROC AUC of each replicate from its per-group class counts (shape (b, g)).

    This is the project's one ROC AUC: every other AUC (the metric table, the policies,
    DeLong's test, the bootstrap) is this function's. It is the trapezoidal area under
    the ROC curve, computed point for point as ``sklearn.metrics.roc_auc_score`` does
    (one point per distinct score from the highest down, collinear points dropped,
    rates divided by the class totals), so the two agree to the last bit; ties count
    half. Groups a replicate does not draw (zero weight) add no point. Replicates
    lacking a class get NaN.
    """
    tps = np.cumsum(pos[:, ::-1], axis=1)
    fps = np.cumsum(neg[:, ::-1], axis=1)
    keep = (pos + neg)[:, ::-1] > 0
    if tps.shape[1] > 2:
        bends = (np.diff(fps, 2, axis=1) != 0) | (np.diff(tps, 2, axis=1) != 0)
        keep[:, 1:-1] &= bends
    keep[:, -1] = True
    origin = np.zeros((tps.shape[0], 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.hstack((origin, fps)) / fps[:, -1:]
        tpr = np.hstack((origin, tps)) / tps[:, -1:]
    kept = np.hstack((np.ones_like(origin, dtype=bool), keep))
    x, y = fpr[kept], tpr[kept]
    areas = np.diff(x) * (y[1:] + y[:-1]) / 2.0
    ends = np.cumsum(kept.sum(axis=1))
    starts = np.concatenate(([0], ends[:-1]))
    return np.array([areas[start : end - 1].sum() for start, end in zip(starts, ends, strict=True)])


def placements(
    positive: np.ndarray, counts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Return DeLong's placement value of every row, in the original row order.

    ``counts`` is :func:`class_counts_by_tie_group` of the scores (unweighted), so a
    caller that also wants the AUC sorts the scores once.

    For a positive row: the fraction of negatives it outranks (ties count half),
    DeLong's V10 and Sun & Xu's (T_Z - T_X) / n. For a negative row: the fraction of
    positives that outrank it, V01. Each class's mean placement is the AUC.
    The caller guarantees both classes are present.
    """
    pos, neg, order, group = counts
    pos, neg = pos[0], neg[0]
    n_pos, n_neg = pos.sum(), neg.sum()
    v10 = (np.cumsum(neg) - neg + 0.5 * neg) / n_neg
    v01 = (n_pos - np.cumsum(pos) + 0.5 * pos) / n_pos
    pos_sorted = positive[order]
    result = np.empty(positive.size, dtype=np.float64)
    result[order] = np.where(pos_sorted, v10[group], v01[group])
    return result
