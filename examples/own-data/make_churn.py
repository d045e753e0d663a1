"""Write the "Your own data" example: a subscription churn table, nothing like the quickstart's.

Usage (from the repository root):

    python examples/own-data/make_churn.py OUT_DIR

It writes, into OUT_DIR:

- ``history.csv``: 16 weeks of observed customers, one row each, labelled;
- ``next-week.csv``: the week after, labelled (arrives later: ``ingest --append``);
- ``to-score.csv``: customers of the week after that, unlabelled, to score; some are
  on a plan the models never saw (``enterprise``);
- ``config.toml``: the ``[data]`` contract, windows and model specs for this table.

The table has an id (``customer_id``), a timestamp (``observed_at``), string
categories with missing values (``plan``, ``country``), numeric features with
missing values, an old model's score to ignore, and a string label (``churned``,
``"yes"``/``"no"``). Rows are drawn from a fixed seed, so the files are the same on
every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

FIRST_DAY = "2025-01-06"
"""A Monday: week 0 of the stored data."""
HISTORY_WEEKS = 16
ROWS_PER_WEEK = 250
PLANS = ("basic", "plus", "pro")
COUNTRIES = ("DE", "FR", "NL", "US")

CONFIG = """\
# The registered model: run names, artifact keys and the report carry it.
model_name = "CHURN"

# The shape of the churn table (see docs/data.md).
[data]
time_column = "observed_at"
period = "week"
label = "churned"
positive_label = "yes"
id_column = "customer_id"
ignore = ["old_score"]
categorical = ["plan", "country"]

# Sizes in periods (weeks here): train on 8, test on 2, judge on the newest 3.
[windows]
train = 8
test = 2
holdout = 3

[champion]
estimator = "sklearn.linear_model.LogisticRegression"
params = { max_iter = 500 }

[challenger]
estimator = "sklearn.ensemble.RandomForestClassifier"
params = { n_estimators = 60, max_depth = 8, min_samples_leaf = 5, random_state = 7 }
"""


def churn_rows(first_week: int, last_week: int, *, seed: int = 2025) -> pd.DataFrame:
    """Weeks ``first_week..last_week`` of customers; each week drawn from its own stream."""
    weeks = [_week(week, seed) for week in range(first_week, last_week + 1)]
    return pd.concat(weeks, ignore_index=True)


def _week(week: int, seed: int) -> pd.DataFrame:
    rng = np.random.RandomState(seed * 1_000 + week)
    n = ROWS_PER_WEEK
    start = pd.Timestamp(FIRST_DAY) + pd.Timedelta(weeks=week)
    observed = start + pd.to_timedelta(np.sort(rng.randint(0, 7 * 86_400, n)), "s")
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2]).astype(object)
    plan[rng.rand(n) < 0.04] = None
    country = rng.choice(COUNTRIES, n).astype(object)
    country[rng.rand(n) < 0.06] = None
    tenure = rng.randint(1, 60, n)
    spend = np.round(rng.gamma(2.0, 15.0, n) * (1 + (plan == "pro")), 2)
    spend[rng.rand(n) < 0.05] = np.nan
    calls = rng.poisson(1.0 + 0.05 * week, n)
    idle = rng.exponential(6.0, n)
    idle[rng.rand(n) < 0.08] = np.nan
    risk = (
        -1.2
        + 0.5 * calls
        + 0.08 * np.nan_to_num(idle, nan=6.0)
        - 0.03 * tenure
        + 0.6 * (plan == "basic")
        + 0.4 * (country == "US")
    )
    # From week 6 on, customers long idle leave far more often: the old rule goes stale.
    drift = min(max((week - 6) / 6, 0.0), 1.0)
    risk = risk + drift * (4.0 * (np.nan_to_num(idle, nan=6.0) > 9) - 1.0)
    churned = rng.rand(n) < 1 / (1 + np.exp(-risk))
    return pd.DataFrame(
        {
            "customer_id": [f"C{week:03d}{i:04d}" for i in range(n)],
            "observed_at": observed.strftime("%Y-%m-%dT%H:%M:%S"),
            "plan": plan,
            "country": country,
            "tenure_months": tenure,
            "monthly_spend": spend,
            "support_calls": calls,
            "days_since_login": np.round(idle, 1),
            "old_score": np.round(rng.rand(n), 3),
            "churned": np.where(churned, "yes", "no"),
        }
    )


def write_example(out: Path) -> list[Path]:
    """Write the three CSV files and config.toml into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    to_score = churn_rows(HISTORY_WEEKS + 1, HISTORY_WEEKS + 1).drop(columns=["churned"])
    to_score.loc[to_score.index[::10], "plan"] = "enterprise"  # a category never trained on
    files = {
        "history.csv": churn_rows(0, HISTORY_WEEKS - 1),
        "next-week.csv": churn_rows(HISTORY_WEEKS, HISTORY_WEEKS),
        "to-score.csv": to_score,
    }
    for name, frame in files.items():
        frame.to_csv(out / name, index=False)
    (out / "config.toml").write_text(CONFIG)
    return [out / name for name in (*files, "config.toml")]


def main(argv: list[str]) -> int:
    """``make_churn.py OUT_DIR``."""
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for path in write_example(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
