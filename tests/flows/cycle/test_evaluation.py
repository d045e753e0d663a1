"""Metrics on probabilities, one-class hold-outs, and the leakage refusal."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ccpolicy.stats import UndefinedStatisticWarning
from flows.cycle.evaluation import classification_metrics


def test_auc_is_computed_on_probabilities_not_hard_labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    scores = np.clip(0.5 * y + rng.normal(0.25, 0.3, 500), 0, 1)
    metrics = classification_metrics(y, scores)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, scores))
    assert metrics["roc_auc"] != pytest.approx(roc_auc_score(y, scores >= 0.5))
    assert metrics["brier_loss"] == pytest.approx(np.mean((scores - y) ** 2))
    assert set(metrics) == {"roc_auc", "f1", "accuracy", "precision", "recall", "brier_loss"}


def test_one_class_hold_out_gives_nan_auc_with_a_warning():
    with pytest.warns(UndefinedStatisticWarning, match="one class"):
        metrics = classification_metrics(np.ones(20, dtype=int), np.linspace(0, 1, 20))
    assert np.isnan(metrics["roc_auc"])
