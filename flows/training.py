"""Model specifications and training.

A :class:`ModelSpec` names any scikit-learn classifier by import path plus its
parameters; the defaults are the quickstart's champion and challenger forests.
Training records what the registry needs to make a version reproducible and
auditable: the training weeks, the row count, the test-window AUC and a
fingerprint of the exact training rows.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flows.errors import ConfigError, EmptyWindowError
from flows.names import COLUMNS, FEATURE_COLUMNS, LABEL_COLUMN

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import pandas as pd

    from flows.windows import WeekRange

logger = logging.getLogger(__name__)

MIN_TRAINING_ROWS = 50
"""Fewer rows than this cannot train a useful classifier; refuse rather than guess."""


@dataclass(frozen=True)
class ModelSpec:
    """A classifier to train: ``StandardScaler`` then the estimator, as in the quickstart.

    Attributes:
        estimator: Import path of a scikit-learn classifier class.
        params: Keyword arguments for it.
        scale: Whether to put a ``StandardScaler`` in front (the quickstart does).
    """

    estimator: str = "sklearn.ensemble.RandomForestClassifier"
    params: Mapping[str, Any] = field(default_factory=dict)
    scale: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, input_name: str = "model spec") -> ModelSpec:
        """Build a spec from configuration (``estimator``, ``params``, ``scale``)."""
        unknown = set(data) - {"estimator", "params", "scale"}
        if unknown:
            raise ConfigError(
                f"{input_name} has unknown key(s) {sorted(unknown)}; "
                "allowed: estimator, params, scale."
            )
        if not isinstance(data.get("params", {}), dict):
            raise ConfigError(f"{input_name}: 'params' must be a table of keyword arguments.")
        spec = cls(
            estimator=str(data.get("estimator", cls.estimator)),
            params=dict(data.get("params", {})),
            scale=bool(data.get("scale", True)),
        )
        spec.build()  # fail at configuration time, before any training
        return spec

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored with each version."""
        return {"estimator": self.estimator, "params": dict(self.params), "scale": self.scale}

    def digest(self) -> str:
        """A stable hash of the spec, part of a version's identity."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def build(self) -> Any:
        """A fresh, unfitted pipeline for this spec.

        Raises:
            ConfigError: if the import path or the parameters are not valid.
        """
        from sklearn.base import is_classifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        module_name, _, class_name = self.estimator.rpartition(".")
        try:
            estimator_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigError(
                f"Cannot import estimator {self.estimator!r}: {exc}. "
                "Give a full import path such as 'sklearn.linear_model.LogisticRegression'."
            ) from exc
        try:
            estimator = estimator_class(**self.params)
        except TypeError as exc:
            raise ConfigError(f"Bad parameters for {self.estimator}: {exc}.") from exc
        if not (is_classifier(estimator) and hasattr(estimator, "predict_proba")):
            raise ConfigError(
                f"{self.estimator} is not a classifier with predict_proba; "
                "champion and challenger must output probabilities."
            )
        if _parallel_by_default(estimator) and "n_jobs" not in self.params:
            estimator.set_params(n_jobs=-1)  # all cores; a seeded forest's result is unchanged
        steps = [("scaler", StandardScaler())] if self.scale else []
        return Pipeline([*steps, ("classifier", estimator)])


def _parallel_by_default(estimator: Any) -> bool:
    """Whether to give ``estimator`` every core: ensembles parallelise over their members."""
    return "n_jobs" in estimator.get_params() and type(estimator).__module__.startswith(
        "sklearn.ensemble"
    )


def _score_in_one_thread(model: Any, spec: ModelSpec) -> None:
    """Make a forest fitted on all cores score on one thread.

    A forest scoring on several threads adds its trees' votes in whatever order the
    threads finish, so the same rows get scores that differ in the last bits from one
    run to the next. Scoring on one thread makes scores, metrics and decisions
    reproducible, wherever the version is loaded; ``flows.prediction`` still uses every
    core, by splitting the rows.
    """
    classifier = model.steps[-1][1]
    if "n_jobs" not in spec.params and _parallel_by_default(classifier):
        classifier.set_params(n_jobs=None)


CHAMPION_SPEC = ModelSpec(
    params={
        "n_estimators": 100,
        "max_depth": 10,
        "min_samples_split": 5,
        "class_weight": "balanced",
        "random_state": 42,
    }
)
"""The quickstart's champion (notebook 2)."""

CHALLENGER_SPEC = ModelSpec(
    params={
        "n_estimators": 120,
        "max_depth": 12,
        "min_samples_split": 3,
        "class_weight": "balanced_subsample",
        "random_state": 42,
    }
)
"""The quickstart's challenger (notebook 3)."""


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model and the facts the registry records about it."""

    model: Any
    spec: ModelSpec
    train_weeks: WeekRange
    test_weeks: WeekRange
    row_count: int
    test_auc: float
    train_fingerprint: str
    train_row_hashes: np.ndarray


def version_name(role: str, spec: ModelSpec, train_weeks: WeekRange, train_fingerprint: str) -> str:
    """A readable name that is the same for the same spec and the same training rows.

    Re-running a cycle on unchanged data and specs therefore yields the same name,
    which lets the registry reuse the version instead of piling up twins, and lets
    the cycle skip training altogether.
    """
    identity = hashlib.sha256(f"{spec.digest()}:{train_fingerprint}".encode()).hexdigest()
    return f"{role.upper()}_W{train_weeks.start:03d}_{train_weeks.end:03d}_{identity[:8].upper()}"


def row_hashes(data: pd.DataFrame) -> np.ndarray:
    """One uint64 hash per row over the schema's columns (order-independent per row set)."""
    import pandas as pd

    return pd.util.hash_pandas_object(data[list(COLUMNS)], index=False).to_numpy()


def hashes_fingerprint(hashes: np.ndarray) -> str:
    """SHA-256 of :func:`row_hashes` in order: equal for the same rows in the same order."""
    return hashlib.sha256(hashes.tobytes()).hexdigest()


def train_model(
    spec: ModelSpec,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    train_weeks: WeekRange,
    test_weeks: WeekRange,
    train_row_hashes: np.ndarray | None = None,
) -> TrainedModel:
    """Fit ``spec`` on ``train`` and measure its ROC AUC on ``test``.

    Args:
        train_row_hashes: ``row_hashes(train)`` if the caller already has them.

    Raises:
        EmptyWindowError: if a window is too small or holds a single class.
    """
    from sklearn.metrics import roc_auc_score

    from flows.prediction import positive_scores

    _check_trainable(train, "training window", train_weeks, minimum=MIN_TRAINING_ROWS)
    _check_trainable(test, "test window", test_weeks, minimum=1)
    hashes = row_hashes(train) if train_row_hashes is None else train_row_hashes
    model = spec.build()
    logger.info("Training %s on %s (%d rows)", spec.estimator, train_weeks, len(train))
    model.fit(train[list(FEATURE_COLUMNS)], train[LABEL_COLUMN])
    _score_in_one_thread(model, spec)
    scores = positive_scores(model, test[list(FEATURE_COLUMNS)])
    test_auc = float(roc_auc_score(test[LABEL_COLUMN], scores))
    logger.info("Test AUC on %s: %.4f", test_weeks, test_auc)
    return TrainedModel(
        model=model,
        spec=spec,
        train_weeks=train_weeks,
        test_weeks=test_weeks,
        row_count=len(train),
        test_auc=test_auc,
        train_fingerprint=hashes_fingerprint(hashes),
        train_row_hashes=hashes,
    )


def _check_trainable(data: pd.DataFrame, name: str, weeks: WeekRange, *, minimum: int) -> None:
    import numpy as np  # here, not at the top: `ccflows status` imports this module, not numpy

    if len(data) < minimum:
        raise EmptyWindowError(
            f"The {name} ({weeks}) has {len(data)} rows while at least {minimum} are required.",
            expected=minimum,
            got=len(data),
        )
    classes = np.unique(data[LABEL_COLUMN])
    if len(classes) < 2:
        raise EmptyWindowError(
            f"The {name} ({weeks}) holds only label {classes.tolist()}; "
            "both approved and declined applications are needed.",
            column=LABEL_COLUMN,
            expected=[0, 1],
            got=classes.tolist(),
        )
