"""Metrics on probabilities, one-class hold-outs, and the leakage refusal."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ccpolicy import stats
from ccpolicy.stats import UndefinedStatisticWarning
from flows.cycle.evaluation import Evaluation, classification_metrics
from flows.data.periods import PeriodRange


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


def test_the_metric_table_is_the_one_source_of_what_evaluation_reports(monkeypatch):
    y = np.array([0, 0, 1, 1, 1, 0])
    champion, challenger = np.array([0.2, 0.6, 0.7, 0.4, 0.9, 0.1]), np.linspace(0.1, 0.9, 6)
    evaluation = Evaluation(
        champion=None,
        challenger=None,
        holdout=PeriodRange(16, 19),
        holdout_fingerprint="",
        data_period=19,
        y_true=y,
        champion_scores=champion,
        challenger_scores=challenger,
        champion_metrics=classification_metrics(y, champion),
        challenger_metrics=classification_metrics(y, challenger),
    )
    assert [r["metric"] for r in evaluation.metric_rows()] == list(stats.METRICS)
    assert {r["metric"]: r["greater_is_better"] for r in evaluation.metric_rows()}[
        "brier_loss"
    ] is False
    flipped = dataclasses.replace(stats.METRICS["brier_loss"], greater_is_better=True)
    monkeypatch.setitem(stats.METRICS, "brier_loss", flipped)
    assert {r["metric"]: r["greater_is_better"] for r in evaluation.metric_rows()}[
        "brier_loss"
    ] is True
    accuracy = stats.METRICS["accuracy"].function
    doubled = dataclasses.replace(
        stats.METRICS["accuracy"], function=lambda t, s, w: 2 * accuracy(t, s, w)
    )
    monkeypatch.setitem(stats.METRICS, "accuracy", doubled)
    assert (
        classification_metrics(y, champion)["accuracy"]
        == 2 * evaluation.champion_metrics["accuracy"]
    )
