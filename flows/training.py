"""Model specifications and training.

A :class:`ModelSpec` names any scikit-learn classifier by import path plus its
parameters, with a default preprocessing in front (numeric columns imputed with the
median and scaled; categorical ones imputed and one-hot encoded, unknown categories
ignored), or a ``factory`` returning a whole estimator or pipeline of the user's.
The defaults are the quickstart's champion and challenger forests. Training records
what the registry needs to make a version reproducible and auditable: the training
periods, the row count, the test-window AUC, a fingerprint of the exact training rows
and the data contract the model reads.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flows.contract import DEFAULT_CONTRACT, DataContract
from flows.errors import ConfigError, EmptyWindowError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy as np
    import pandas as pd

    from flows.windows import WeekRange

logger = logging.getLogger(__name__)

MIN_TRAINING_ROWS = 50
"""Fewer rows than this cannot train a useful classifier; refuse rather than guess."""


@dataclass(frozen=True)
class ModelSpec:
    """A classifier to train: an estimator behind the default preprocessing, or a factory's.

    Attributes:
        estimator: Import path of a scikit-learn classifier class.
        params: Keyword arguments for it.
        scale: Whether the default preprocessing scales numeric columns (the quickstart does).
        factory: ``"package.module:function"`` returning an unfitted classifier or
            pipeline, used as it is instead of ``estimator`` and the preprocessing.
    """

    estimator: str = "sklearn.ensemble.RandomForestClassifier"
    params: Mapping[str, Any] = field(default_factory=dict)
    scale: bool = True
    factory: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, input_name: str = "model spec") -> ModelSpec:
        """Build a spec from configuration (``estimator``, ``params``, ``scale`` or ``factory``)."""
        unknown = set(data) - {"estimator", "params", "scale", "factory"}
        if unknown:
            raise ConfigError(
                f"{input_name} has unknown key(s) {sorted(unknown)}; "
                "allowed: estimator, params, scale, factory."
            )
        if not isinstance(data.get("params", {}), dict):
            raise ConfigError(f"{input_name}: 'params' must be a table of keyword arguments.")
        factory = data.get("factory")
        if factory is not None and not {"estimator", "params", "scale"}.isdisjoint(data):
            raise ConfigError(
                f"{input_name}: 'factory' builds the whole model; drop 'estimator', 'params' "
                "and 'scale', or drop 'factory'."
            )
        if factory is not None and (not isinstance(factory, str) or ":" not in factory):
            raise ConfigError(
                f"{input_name}: 'factory' must read 'package.module:function'; got {factory!r}."
            )
        spec = cls(
            estimator=str(data.get("estimator", cls.estimator)),
            params=dict(data.get("params", {})),
            scale=bool(data.get("scale", True)),
            factory=factory,
        )
        spec.build()  # fail at configuration time, before any training
        return spec

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored with each version (``factory`` only when set)."""
        data = {"estimator": self.estimator, "params": dict(self.params), "scale": self.scale}
        return {"factory": self.factory} if self.factory else data

    def digest(self) -> str:
        """A stable hash of the spec, part of a version's identity."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def model_type(self) -> str:
        """Short name for records: the estimator's class, or the factory's function."""
        return (self.factory or self.estimator).rpartition(":" if self.factory else ".")[2]

    def build(self, *, features: Sequence[str] = (), categorical: Sequence[str] = ()) -> Any:
        """A fresh, unfitted model for this spec.

        Args:
            features: The model's input columns, in order (needed with categorical ones).
            categorical: Those of ``features`` that are categorical.

        Raises:
            ConfigError: if the import path or the parameters are not valid, or the
                result cannot output probabilities.
        """
        from sklearn.pipeline import Pipeline

        if self.factory:
            model = _from_factory(self.factory)
            _require_probabilities(model, self.factory)
            return model
        estimator = _import(
            self.estimator, "estimator", "'sklearn.linear_model.LogisticRegression'"
        )
        try:
            estimator = estimator(**self.params)
        except TypeError as exc:
            raise ConfigError(f"Bad parameters for {self.estimator}: {exc}.") from exc
        _require_probabilities(estimator, self.estimator)
        if _parallel_by_default(estimator) and "n_jobs" not in self.params:
            estimator.set_params(n_jobs=-1)  # all cores; a seeded forest's result is unchanged
        return Pipeline(
            [*_preprocessing(features, categorical, scale=self.scale), ("classifier", estimator)]
        )


def _preprocessing(
    features: Sequence[str], categorical: Sequence[str], *, scale: bool
) -> list[tuple[str, Any]]:
    """The default steps in front of an estimator.

    All-numeric input (the quickstart's) gets a median imputer and a scaler as plain
    pipeline steps: with no value missing the imputer passes the values through
    unchanged, so the quickstart's models and scores stay bit for bit what they were.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps = [
        ("imputer", SimpleImputer(strategy="median")),
        *([("scaler", StandardScaler())] if scale else []),
    ]
    if not categorical:
        return numeric_steps
    numeric = [c for c in features if c not in categorical]
    categories = Pipeline(
        [
            ("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    transformers = [("categorical", categories, list(categorical))]
    if numeric:
        transformers.insert(0, ("numeric", Pipeline(numeric_steps), numeric))
    return [("preprocess", ColumnTransformer(transformers))]


def _import(path: str, what: str, example: str) -> Any:
    """The object at ``module.attr`` or ``module:attr``, or a ConfigError saying how to name it."""
    module_name, _, attribute = path.rpartition(":" if ":" in path else ".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            f"Cannot import {what} {path!r}: {exc}. Give a full import path such as {example}."
        ) from exc


def _from_factory(path: str) -> Any:
    factory = _import(path, "factory", "'my_models:build'")
    try:
        return factory()
    except Exception as exc:
        raise ConfigError(f"Factory {path} failed: {type(exc).__name__}: {exc}.") from exc


def _require_probabilities(model: Any, name: str) -> None:
    """Refuse, before any training, a model that cannot say how likely class 1 is."""
    from sklearn.base import is_classifier

    is_estimator = hasattr(model, "fit") and hasattr(model, "get_params")
    if not (is_estimator and is_classifier(model) and hasattr(model, "predict_proba")):
        raise ConfigError(
            f"{name} is not a classifier with predict_proba (got {type(model).__name__}); "
            "champion and challenger must output probabilities."
        )


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
    if spec.factory or "n_jobs" in spec.params:
        return  # the user's own choice of threads
    classifier = model.steps[-1][1]
    if _parallel_by_default(classifier):
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
    contract: DataContract = DEFAULT_CONTRACT
    """The data contract, resolved for the training rows: exactly the features it reads."""


def version_name(
    role: str,
    spec: ModelSpec,
    train_weeks: WeekRange,
    train_fingerprint: str,
    *,
    contract: DataContract = DEFAULT_CONTRACT,
) -> str:
    """A readable name that is the same for the same spec, contract and training rows.

    Re-running a cycle on unchanged data and specs therefore yields the same name,
    which lets the registry reuse the version instead of piling up twins, and lets
    the cycle skip training altogether. ``contract`` is the resolved one (exactly the
    features read); the quickstart's default leaves the name as it was before
    contracts existed.
    """
    key = f"{spec.digest()}:{train_fingerprint}"
    if contract != DEFAULT_CONTRACT:
        key += f":{contract.digest()}"
    identity = hashlib.sha256(key.encode()).hexdigest()
    return f"{role.upper()}_W{train_weeks.start:03d}_{train_weeks.end:03d}_{identity[:8].upper()}"


def train_model(
    spec: ModelSpec,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    train_weeks: WeekRange,
    test_weeks: WeekRange,
    contract: DataContract = DEFAULT_CONTRACT,
    train_row_hashes: np.ndarray | None = None,
) -> TrainedModel:
    """Fit ``spec`` on ``train`` and measure its ROC AUC on ``test``.

    Args:
        train: Canonical frame (``contract.validate``) of the training window.
        test: Canonical frame of the test window.
        contract: The contract both frames follow; its label is the target.
        train_row_hashes: ``row_hashes(train)`` if the caller already has them.

    Raises:
        EmptyWindowError: if a window is too small or holds a single class.
    """
    from sklearn.metrics import roc_auc_score

    from flows.data import hashes_fingerprint, row_hashes
    from flows.prediction import positive_scores

    _check_trainable(
        train, "training window", train_weeks, contract.label, minimum=MIN_TRAINING_ROWS
    )
    _check_trainable(test, "test window", test_weeks, contract.label, minimum=1)
    hashes = row_hashes(train) if train_row_hashes is None else train_row_hashes
    resolved = contract.resolved(train)
    model = spec.build(features=resolved.features, categorical=resolved.categorical)
    logger.info("Training %s on %s (%d rows)", spec.model_type, train_weeks, len(train))
    model.fit(train[list(resolved.features)], train[contract.label])
    _score_in_one_thread(model, spec)
    scores = positive_scores(model, resolved.model_input(test, input_name="test window"))
    test_auc = float(roc_auc_score(test[contract.label], scores))
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
        contract=resolved,
    )


def _check_trainable(
    data: pd.DataFrame, name: str, weeks: WeekRange, label: str, *, minimum: int
) -> None:
    import numpy as np  # here, not at the top: `ccflows status` imports this module, not numpy

    if len(data) < minimum:
        raise EmptyWindowError(
            f"The {name} ({weeks}) has {len(data)} rows while at least {minimum} are required.",
            expected=minimum,
            got=len(data),
        )
    classes = np.unique(data[label])
    if len(classes) < 2:
        raise EmptyWindowError(
            f"The {name} ({weeks}) holds only label {classes.tolist()} in {label!r}; "
            "a model needs rows of both classes.",
            column=label,
            expected=[0, 1],
            got=classes.tolist(),
        )
