"""Model specifications: which scikit-learn classifier to train, and how its input is prepared.

A :class:`ModelSpec` names any scikit-learn classifier by import path plus its
parameters, with a default preprocessing in front (numeric columns imputed with the
median and scaled; categorical ones imputed and one-hot encoded, unknown categories
ignored), or a ``factory`` returning a whole estimator or pipeline of the user's.
The defaults are the quickstart's champion and challenger forests. Configuration
reads specs without loading the training code; ``flows.cycle.training`` fits them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flows.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


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
        if parallel_by_default(estimator) and "n_jobs" not in self.params:
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


def parallel_by_default(estimator: Any) -> bool:
    """Whether to give ``estimator`` every core: ensembles parallelise over their members."""
    return "n_jobs" in estimator.get_params() and type(estimator).__module__.startswith(
        "sklearn.ensemble"
    )


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
