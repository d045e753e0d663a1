"""Scoring champion and challenger on the identical hold-out, and the metrics of each.

The quickstart computed its "AUC" on hard 0/1 predictions, which is balanced
accuracy; here ROC AUC is computed on probabilities, next to F1, accuracy,
precision, recall (at a 0.5 threshold) and the Brier loss, each as the one metric
table (``ccpolicy.stats.METRICS``) computes it. Each model scores the
hold-out once; the policy then sees the labels and both score vectors, not only the
summaries. A contestant trained on any hold-out row is refused before it is scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ccpolicy import greater_is_better, stats
from flows.data.periods import PeriodRange
from flows.data.quickstart import hashes_fingerprint, row_hashes
from flows.errors import LeakageError

if TYPE_CHECKING:
    import pandas as pd

    from flows.backends import Backend
    from flows.backends.source import DataSource
    from flows.cycle.training import TrainedModel
    from flows.records import ModelVersion

logger = logging.getLogger(__name__)

METRICS = tuple(stats.METRICS)
"""Every metric reported: the rows of ``ccpolicy.stats.METRICS``, which gives each one's
function, threshold and direction (the same table the policies' guardrails read)."""


def classification_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The :data:`METRICS` of one model's probabilities of class 1.

    ROC AUC is NaN, with ccpolicy's ``UndefinedStatisticWarning``, when the hold-out
    holds a single class; policies then answer "inconclusive".
    """
    return stats.metric_values(y_true, scores)


@dataclass(frozen=True)
class Evaluation:
    """Both models scored on the same hold-out rows: the evidence a policy decides on."""

    champion: ModelVersion
    challenger: ModelVersion
    holdout: PeriodRange
    holdout_fingerprint: str
    data_period: int
    y_true: np.ndarray = field(repr=False)
    champion_scores: np.ndarray = field(repr=False)
    challenger_scores: np.ndarray = field(repr=False)
    champion_metrics: dict[str, float] = field(default_factory=dict)
    challenger_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Number of hold-out rows."""
        return len(self.y_true)

    def metric_rows(self) -> list[dict[str, Any]]:
        """One row per metric: both values, the difference and its direction (raw floats)."""
        return [
            {
                "metric": name,
                "champion": self.champion_metrics[name],
                "challenger": self.challenger_metrics[name],
                "delta": self.challenger_metrics[name] - self.champion_metrics[name],
                "greater_is_better": greater_is_better(name),
            }
            for name in METRICS
        ]

    def metrics_by_role(self) -> dict[str, dict[str, float]]:
        """``{"champion": {...}, "challenger": {...}}`` for the ledger."""
        return {
            "champion": dict(self.champion_metrics),
            "challenger": dict(self.challenger_metrics),
        }


def check_not_trained_on(
    trained_on: np.ndarray | None,
    version: ModelVersion,
    holdout_hashes: np.ndarray,
    holdout: PeriodRange,
) -> None:
    """Refuse ``version`` if it was trained on any hold-out row.

    Row hashes (``data.row_hashes`` of the hold-out) are compared with
    ``trained_on``, the version's own, when they are known; the training periods are
    always compared too.

    Raises:
        LeakageError: naming the version and how many rows it has seen.
    """
    _check_periods(version, holdout)
    if trained_on is not None:
        seen = int(np.isin(holdout_hashes, trained_on).sum())
        _refuse_seen(version, seen, len(holdout_hashes), holdout)


def check_window_not_trained_on(
    source: DataSource, version: ModelVersion, holdout: PeriodRange, *, n_rows: int
) -> None:
    """Refuse ``version`` if it was trained on any hold-out row, checked where the rows are stored.

    The version recorded its training window's fingerprint (``train_window_fingerprint``).
    While the window still fingerprints alike it holds exactly the rows the version
    trained on, so the store matches the hold-out against it and answers one count:
    no hash per row is kept, read or moved, whatever the row count. A window that
    fingerprints otherwise no longer holds those rows, and the version is refused.

    Raises:
        LeakageError: if the window changed, or naming how many hold-out rows it holds.
    """
    _check_periods(version, holdout)
    trained = version.train_periods
    if trained is None:
        raise LeakageError(
            f"Version {version.name} records no training periods; its training rows "
            "cannot be matched against the hold-out."
        )
    now = source.window_fingerprint(trained)
    if now != version.train_window_fingerprint:
        raise LeakageError(
            f"The stored rows of {trained}, on which version {version.name} was trained, "
            f"changed since (fingerprint {version.train_window_fingerprint}, now {now}): "
            "the hold-out cannot be checked against the rows it has seen. Restore those rows, "
            "or `ccflows rollback` to a version trained on rows that did not change."
        )
    _refuse_seen(version, source.rows_seen(holdout, trained), n_rows, holdout)


def _check_periods(version: ModelVersion, holdout: PeriodRange) -> None:
    if version.train_weeks is not None:
        trained = holdout.calendar.range(*version.train_weeks)
        if trained.overlaps(holdout):
            raise LeakageError(
                f"Version {version.name} was trained on {trained}, which overlap the "
                f"hold-out ({holdout}); it cannot be judged on rows it has seen."
            )


def _refuse_seen(version: ModelVersion, seen: int, n_rows: int, holdout: PeriodRange) -> None:
    if seen:
        raise LeakageError(
            f"Version {version.name} was trained on {seen} of the {n_rows} hold-out rows "
            f"({holdout}); it cannot be judged on rows it has seen."
        )


def _check_contestant(
    backend: Backend, version: ModelVersion, holdout_hashes: np.ndarray, holdout: PeriodRange
) -> None:
    """The leakage check a logged version's record calls for: in the store, or on row hashes."""
    if version.train_window_fingerprint:
        check_window_not_trained_on(backend.source, version, holdout, n_rows=len(holdout_hashes))
    else:  # the embedded store's versions, and those logged before windows were fingerprinted
        trained_on = backend.registry.train_row_hashes(version.name)
        check_not_trained_on(trained_on, version, holdout_hashes, holdout)


def evaluate_pair(
    backend: Backend,
    champion: ModelVersion,
    challenger: ModelVersion,
    rows: pd.DataFrame,
    *,
    holdout: PeriodRange,
    data_period: int,
    unlogged: TrainedModel | None = None,
) -> Evaluation:
    """Score both versions once each on the hold-out ``rows`` and compute their metrics.

    ``rows`` is a canonical frame of the stored data. Each version scores it with
    its own features (a challenger may add or drop some); the label is the
    challenger's, which the retrain step has checked to be the champion's.

    Args:
        holdout: The periods ``rows`` hold.
        data_period: The newest period in the data.
        unlogged: The challenger itself when it is not in the registry (a dry run
            trains it but logs nothing); it is scored and checked as it is.
    """
    from flows.cycle.prediction import positive_scores

    registry = backend.registry
    holdout_hashes = row_hashes(rows)
    _check_contestant(backend, champion, holdout_hashes, holdout)
    if unlogged is not None:  # its row hashes are in this process, never stored
        check_not_trained_on(unlogged.train_row_hashes, challenger, holdout_hashes, holdout)
    else:
        _check_contestant(backend, challenger, holdout_hashes, holdout)
    y_true = rows[challenger.data_contract.label].to_numpy()
    logger.info("Scoring champion %s on %s (%d rows)", champion.name, holdout, len(rows))
    champion_scores = registry.predict_proba(champion.name, rows)
    if challenger.name == champion.name:
        challenger_scores = champion_scores
    elif unlogged is not None:
        logger.info("Scoring challenger %s (not logged: dry run) on the same rows", challenger.name)
        features = unlogged.contract.model_input(rows, input_name="hold-out")
        challenger_scores = positive_scores(unlogged.model, features)
    else:
        logger.info("Scoring challenger %s on the same rows", challenger.name)
        challenger_scores = registry.predict_proba(challenger.name, rows)
    return Evaluation(
        champion=champion,
        challenger=challenger,
        holdout=holdout,
        holdout_fingerprint=hashes_fingerprint(holdout_hashes),
        data_period=data_period,
        y_true=y_true,
        champion_scores=champion_scores,
        challenger_scores=challenger_scores,
        champion_metrics=classification_metrics(y_true, champion_scores),
        challenger_metrics=classification_metrics(y_true, challenger_scores),
    )
