"""Homes for the flows' tests: the quickstart's data with a small live champion, or one version."""

from __future__ import annotations

from pathlib import Path

from flows.backends import open_backend
from flows.backends.local.registry import LocalRegistry
from flows.config import Settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec, generate_applications
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec
from flows.names import FEATURE_COLUMNS
from tests.registry.contract import TINY_SPEC, record

SMALL = {"n_estimators": 10, "max_depth": 6}
"""Forests small enough to train in a second."""


def quickstart_home(path: Path) -> Settings:
    """Store the quickstart's 20 weeks in ``path`` and make a small champion live."""
    settings = Settings(
        home=path,
        champion_spec=ModelSpec(CHAMPION_SPEC.estimator, {**CHAMPION_SPEC.params, **SMALL}),
        challenger_spec=ModelSpec(CHALLENGER_SPEC.estimator, {**CHALLENGER_SPEC.params, **SMALL}),
    )
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec())
        steps.train_champion(backend, settings, actor="tester")
    return settings


def tree(path: Path) -> list[str] | None:
    """Every path under ``path``, relative and sorted (None if it does not exist): what a command left."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


def home_with_a_version(home: Path, name: str = "V_ONE") -> LocalRegistry:
    """A home whose registry holds one version of CREDIT_APPROVAL (nothing live)."""
    data = generate_applications(2)
    registry = LocalRegistry(home, "CREDIT_APPROVAL")
    model = TINY_SPEC.build().fit(data[list(FEATURE_COLUMNS)], data["approved"])
    registry.log_version(
        model, record(name, registry.model_name), sample_input=data[list(FEATURE_COLUMNS)]
    )
    return registry
