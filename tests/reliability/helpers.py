"""Building small homes and checking a registry's invariants, for the reliability tests.

The homes hold quickstart-shaped data (100 applications a week) and use logistic
regressions for champion and challenger: these tests are about the registry, the
ledger and the files, not about training, so every cycle takes a fraction of a second.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flows.backends import open_backend
from flows.config import load_settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, LIVE_VERSION
from flows.records import Outcome

if TYPE_CHECKING:
    from collections.abc import Iterator

    from flows.backends import Backend
    from flows.backends.local.registry import LocalRegistry
    from flows.backends.registry import Registry
    from flows.config import Settings
    from flows.records import LedgerEntry

CONFIG_TOML = """\
[champion]
estimator = "sklearn.linear_model.LogisticRegression"
params = { C = 1.0, max_iter = 500 }

[challenger]
estimator = "sklearn.linear_model.LogisticRegression"
params = { C = 0.05, max_iter = 500 }
"""
"""Tiny specs for both roles, in the home's own config.toml (as a user would write it)."""

GENERATOR = GeneratorSpec(seed=7, rows_per_week=100, concept_drift=0.05)
"""Drifting data, so a challenger trained on newer weeks can beat the champion."""

N_WEEKS = 20


def make_home(home: Path, *, champion: bool = True) -> Path:
    """A home with ``N_WEEKS`` weeks of data, the tiny specs and (optionally) a live champion."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(CONFIG_TOML)
    with open_home(home) as (backend, settings):
        steps.generate_data(backend, GENERATOR, n_periods=N_WEEKS)
        if champion:
            steps.train_champion(backend, settings, actor="setup")
    return home


@contextmanager
def open_home(home: Path) -> Iterator[tuple[Backend, Settings]]:
    """The backend and settings of ``home``, exactly as the CLI resolves them."""
    settings = load_settings(home=home)
    with open_backend(settings) as backend:
        yield backend, settings


def pointers(registry: Registry) -> dict[str, str | None]:
    """Every pointer the registry holds, for before/after comparisons."""
    return {
        "live": registry.get_tag(LIVE_VERSION),
        "champion": registry.version_by_alias(CHAMPION),
        "default": registry.default_version(),
        "challenger": registry.version_by_alias(CHALLENGER),
        "challenger_tag": registry.get_tag(CHALLENGER_VERSION),
    }


def assert_consistent(
    registry: LocalRegistry, *, damaged: tuple[str, ...] = ()
) -> list[LedgerEntry]:
    """Check every invariant a crash, a race or a bad input must never break.

    - alias CHAMPION, tag LIVE_VERSION and the default version agree;
    - CHALLENGER alias and tag agree, and never name the champion;
    - the live version is the one the newest switching ledger entry made live;
    - the ledger is ordered (ids and times ascending) and its switches form one chain;
    - every version's artifact (except the ``damaged`` ones a test broke on purpose)
      is present and matches its SHA-256;
    - SQLite's own integrity check passes.

    Returns:
        The ledger, for further checks.
    """
    seen = pointers(registry)
    assert seen["live"] == seen["champion"] == seen["default"], seen
    assert seen["challenger"] == seen["challenger_tag"], seen
    assert seen["challenger"] is None or seen["challenger"] != seen["live"], seen
    ledger = registry.ledger()
    ids = [e.id for e in ledger]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    times = [e.recorded_at for e in ledger]
    assert times == sorted(times), times
    live = None
    for entry in ledger:
        assert entry.live_before == live, (entry, live)
        if entry.outcome.switched_live:
            live = entry.live_after
        else:
            assert entry.live_after == entry.live_before, entry
        if entry.outcome is Outcome.STALE_CHAMPION:
            assert entry.champion_version != entry.live_before, entry
    assert live == seen["live"], (live, seen)
    for version in registry.list_versions():
        if version.name not in damaged:
            registry.load_model(version.name)  # raises if missing or altered
    db = Path(registry.db_path)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return ledger
