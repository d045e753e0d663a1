"""A home under a live test: loans with ids, a live champion and an open candidate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flows.backends import open_backend
from flows.config import Settings, load_settings
from flows.cycle import steps
from flows.live.candidate import Candidate
from flows.live.settings import LiveSettings
from flows.records import LedgerEntry, Outcome
from tests.flows.loans import LOANS_CONTRACT, loans

STORED_DAYS = 138
"""Loans from 2024-01-03 to 2024-05-19: weeks 0–19 of the stored data."""


CONFIG = """
model_name = "LOANS"

[data]
time_column = "opened_at"
period = "week"
label = "outcome"
positive_label = "default"
id_column = "loan_id"
ignore = ["legacy_score"]

[windows]
train = 6
test = 2
holdout = 3

[champion]
params = {{ n_estimators = 15, random_state = 42 }}

[challenger]
params = {{ n_estimators = 15, random_state = 7 }}

[live]
mode = "{mode}"
share = {share}
maturity = 2
"""
"""``config.toml`` of a live home: the loans' contract and small forests."""


def live_settings(home: Path, *, mode: str = "shadow", share: float = 0.5) -> Settings:
    """The loans' settings with ``[live]`` on (maturity of 2 weeks), written to config.toml."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(CONFIG.format(mode=mode, share=share))
    settings = load_settings(home=home)
    assert settings.contract == LOANS_CONTRACT
    assert settings.live == LiveSettings(mode=mode, share=share, maturity=2)
    return settings


def open_a_candidate(settings: Settings, *, salt: str = "salt-1") -> Candidate:
    """Train a challenger on the stored loans and record it as the live candidate."""
    with open_backend(settings) as backend:
        plan = steps.plan_cycle(backend, settings)
        challenger = steps.retrain_challenger(backend, settings, plan).version
        champion = backend.registry.live_version()
        test = Candidate(
            version=challenger.name,
            champion_version=str(champion),
            mode=settings.live.mode,
            share=settings.live.share,
            salt=salt,
            maturity=settings.live.maturity,
            policy=settings.live.policy,
            since_period=plan.data_period,
        )
        entry = backend.registry.append_ledger(
            LedgerEntry(
                outcome=Outcome.CANDIDATE,
                reason=f"{challenger.name} passed offline; tested live.",
                actor="tester",
                champion_version=champion,
                challenger_version=challenger.name,
                details=test.to_details(),
            )
        )
    return replace(test, entry_id=entry.id)


def live_home(path: Path, *, mode: str = "shadow", share: float = 0.5) -> Settings:
    """Store 20 weeks of loans in ``path``, make a champion live and open a candidate."""
    settings = live_settings(path, mode=mode, share=share)
    with open_backend(settings) as backend:
        backend.source.write(loans(STORED_DAYS))
        steps.train_champion(backend, settings, actor="tester")
    open_a_candidate(settings)
    return settings


def new_loans(week: int, *, seed: int = 5, per_day: int = 10):
    """A week of loans after the stored ones (week 20 starts 2024-05-20), without outcomes.

    Ids continue from the stored loans', offset by the week so weeks never share an id.
    """
    import pandas as pd

    start = pd.Timestamp("2024-05-20") + pd.Timedelta(weeks=week - 20)
    rows = loans(7, per_day=per_day, start=start.date().isoformat(), seed=seed)
    rows["loan_id"] = [f"W{week}-{i:04d}" for i in range(len(rows))]
    return rows
