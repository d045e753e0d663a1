"""A table shaped nothing like the quickstart's: timestamps, string categories and label, gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.config import Settings
from flows.data.contract import DataContract
from flows.data.periods import WindowSpec
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec

LOANS_CONTRACT = DataContract(
    time_column="opened_at",
    period="week",
    label="outcome",
    positive_label="default",
    id_column="loan_id",
    ignore=("legacy_score",),
)
"""``[data]`` for :func:`loans`: every other column is a feature, ``region`` categorical."""


def loans(n_days: int = 140, *, per_day: int = 30, start: str = "2024-01-03", seed: int = 0):
    """``n_days`` days of loans from ``start`` (a Wednesday: the first week is partial)."""
    rng = np.random.RandomState(seed)
    n = n_days * per_day
    opened = pd.Timestamp(start) + pd.to_timedelta(np.arange(n) // per_day, "D")
    opened = opened + pd.to_timedelta(rng.randint(0, 86_400, n), "s")
    region = rng.choice(["north", "south", "east", "west"], n).astype(object)
    region[rng.rand(n) < 0.05] = None
    income = rng.lognormal(10, 0.5, n)
    income[rng.rand(n) < 0.05] = np.nan
    amount = rng.uniform(1_000, 50_000, n)
    risk = 0.8 * (region == "north") + amount / 40_000 - np.nan_to_num(income, nan=22_000) / 40_000
    outcome = np.where(risk + rng.normal(0, 0.4, n) > 0.4, "default", "repaid")
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:06d}" for i in range(n)],
            "opened_at": opened.strftime("%Y-%m-%dT%H:%M:%S"),
            "region": region,
            "income": income,
            "amount": amount,
            "legacy_score": rng.rand(n),
            "outcome": outcome,
        }
    )


FAST = {"n_estimators": 15}
WINDOWS = WindowSpec(6, 2, 3)


def own_settings(home, contract=LOANS_CONTRACT, windows=WINDOWS) -> Settings:
    return Settings(
        home=home,
        contract=contract,
        windows=windows,
        champion_spec=ModelSpec(CHAMPION_SPEC.estimator, {**CHAMPION_SPEC.params, **FAST}),
        challenger_spec=ModelSpec(CHALLENGER_SPEC.estimator, {**CHALLENGER_SPEC.params, **FAST}),
    )
