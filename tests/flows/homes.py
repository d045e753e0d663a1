"""A home with the quickstart's data and a small live champion, for tests that need one."""

from __future__ import annotations

from pathlib import Path

from flows.backends import open_backend
from flows.config import Settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec

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
