"""The quickstart's credit applications, and the hashes that identify stored rows.

The generator reproduces notebook 1 of the Snowflake quickstart bit for bit for a
given seed: the same formulas and the same order of draws on NumPy's legacy
generator (``RandomState``, whose streams are frozen across NumPy releases). Week
``w`` is always drawn after weeks ``0..w-1``, so generating more weeks extends the
data set without changing the weeks already generated; that is how weekly runs see
new data. Unlike the notebook, rows are ordered with a *stable* sort by date, so
the row order is reproducible too.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from flows.errors import DataValidationError
from flows.names import COLUMNS, DATE_COLUMN, LABEL_COLUMN, WEEK_COLUMN

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

ROWS_PER_WEEK = 400
FIRST_MONDAY = "2024-01-01"

_QUICKSTART_WEIGHTS = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
# After full concept drift, repayment capacity (debt-to-income, employment) and the
# formerly irrelevant education score decide, and the credit score barely matters.
_DRIFTED_WEIGHTS = np.array([0.05, 0.10, 0.35, 0.15, 0.05])
_DRIFTED_EDUCATION_WEIGHT = 0.30


@dataclass(frozen=True)
class GeneratorSpec:
    """How to draw the synthetic applications.

    Attributes:
        seed: Seed of the legacy NumPy generator; 42 reproduces the quickstart.
        rows_per_week: Applications per week (the quickstart's 400).
        start_date: Monday of week 0.
        concept_drift: Weekly speed at which the approval rule itself moves from the
            quickstart's rule to a different one (0 = never, the quickstart; 0.05 =
            fully moved after 20 weeks). The quickstart only shifts feature
            distributions, which is covariate shift, not concept drift.
    """

    seed: int = 42
    rows_per_week: int = ROWS_PER_WEEK
    start_date: str = FIRST_MONDAY
    concept_drift: float = 0.0

    def __post_init__(self) -> None:
        if self.rows_per_week < 1:
            raise DataValidationError(
                f"rows_per_week must be at least 1; got {self.rows_per_week}."
            )
        if not 0.0 <= self.concept_drift <= 1.0:
            raise DataValidationError(
                f"concept_drift must be in [0, 1] (share of the rule moved per week); "
                f"got {self.concept_drift}."
            )


def generate_applications(n_periods: int = 20, spec: GeneratorSpec | None = None) -> pd.DataFrame:
    """Generate weeks ``0..n_periods-1`` of applications, as the quickstart's notebook 1 does.

    Args:
        n_periods: Number of weeks to generate. Defaults to the quickstart's 20.
        spec: Generator settings. Defaults to the quickstart's (seed 42, 400 rows a week).

    Returns:
        The applications table with the columns of ``flows.names.COLUMNS``, stably
        sorted by application date.

    Example:
        >>> df = generate_applications()
        >>> len(df), int(df["approved"].sum())
        (8000, 4011)
    """
    import pandas as pd

    spec = spec or GeneratorSpec()
    if n_periods < 1:
        raise DataValidationError(f"n_periods must be at least 1; got {n_periods}.")
    rng = np.random.RandomState(spec.seed)
    start = pd.Timestamp(spec.start_date)
    weeks = [_draw_week(rng, week, start, spec) for week in range(n_periods)]
    data = pd.concat(weeks, ignore_index=True)
    return data.sort_values(DATE_COLUMN, kind="stable", ignore_index=True)


def generate_weeks(
    first_week: int, last_week: int, spec: GeneratorSpec | None = None
) -> pd.DataFrame:
    """Generate only weeks ``first_week..last_week`` (inclusive) of the same stream.

    The earlier weeks are drawn and discarded, so the result equals the same weeks
    of ``generate_applications(last_week + 1, spec)``.
    """
    data = generate_applications(last_week + 1, spec)
    return data[data[WEEK_COLUMN] >= first_week].reset_index(drop=True)


def _draw_week(
    rng: np.random.RandomState, week: int, start: pd.Timestamp, spec: GeneratorSpec
) -> pd.DataFrame:
    """Draw one week in exactly the notebook's order of draws."""
    import pandas as pd

    n = spec.rows_per_week
    drift = 1 + 0.02 * week
    seasonal = 1 + 0.3 * np.sin(2 * np.pi * week / 52)
    week_start = start + pd.Timedelta(weeks=week)
    offsets = rng.randint(0, 7, n)  # the same draws as n scalar calls, without a Python loop
    dates = week_start + pd.to_timedelta(offsets, unit="D")
    age = rng.uniform(18, 80, n)
    income = rng.uniform(20000, 200000, n) * seasonal
    credit = rng.uniform(300, 850, n)
    dti = rng.uniform(0, 1, n) * drift
    years = rng.uniform(0, 40, n)
    cards = rng.randint(0, 8, n)
    mortgage = rng.choice([0, 1], n, p=[0.6, 0.4])
    education = rng.uniform(1, 5, n)
    location = rng.uniform(0.1, 1.0, n) * drift
    noise = rng.normal(0, 0.05, n)

    moved = min(1.0, spec.concept_drift * week)
    w = (1 - moved) * _QUICKSTART_WEIGHTS + moved * _DRIFTED_WEIGHTS
    # Summed term by term in the notebook's order, so that without drift p is bit-identical.
    p = (
        w[0] * (credit - 300) / 550
        + w[1] * (income - 20000) / 180000
        + w[2] * (1 - dti)
        + w[3] * years / 40
        + w[4] * (1 - location)
        + noise
    )
    if moved:
        p = p + moved * _DRIFTED_EDUCATION_WEIGHT * (education - 1) / 4
    approved = rng.binomial(1, np.clip(p, 0, 1))

    return pd.DataFrame(
        {
            DATE_COLUMN: dates,
            WEEK_COLUMN: week,
            "applicant_age": age,
            "annual_income": income,
            "credit_score": credit,
            "debt_to_income": dti,
            "years_employed": years,
            "num_credit_cards": cards,
            "has_mortgage": mortgage,
            "education_score": education,
            "location_risk_score": location,
            LABEL_COLUMN: approved,
        },
        columns=list(COLUMNS),
    )


def row_hashes(data: pd.DataFrame) -> np.ndarray:
    """One uint64 hash per row of a canonical frame (``DataContract.validate``), over all its columns.

    Training rows and hold-out rows are both read as canonical frames of the stored
    data, so the same row hashes alike wherever it is read, whichever features a
    model uses; for the quickstart these are its ``COLUMNS`` in order.
    """
    import pandas as pd

    return pd.util.hash_pandas_object(data, index=False).to_numpy()


def hashes_fingerprint(hashes: np.ndarray) -> str:
    """SHA-256 of :func:`row_hashes` in order: equal for the same rows in the same order."""
    return hashlib.sha256(hashes.tobytes()).hexdigest()
