"""The credit-approval applications: the quickstart's generator and the schema check.

The generator reproduces notebook 1 of the Snowflake quickstart bit for bit for a
given seed: the same formulas and the same order of draws on NumPy's legacy
generator (``RandomState``, whose streams are frozen across NumPy releases). Week
``w`` is always drawn after weeks ``0..w-1``, so generating more weeks extends the
data set without changing the weeks already generated; that is how weekly runs see
new data. Unlike the notebook, rows are ordered with a *stable* sort by date, so
the row order is reproducible too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def generate_applications(n_weeks: int = 20, spec: GeneratorSpec | None = None) -> pd.DataFrame:
    """Generate weeks ``0..n_weeks-1`` of applications, as the quickstart's notebook 1 does.

    Args:
        n_weeks: Number of weeks to generate. Defaults to the quickstart's 20.
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
    if n_weeks < 1:
        raise DataValidationError(f"n_weeks must be at least 1; got {n_weeks}.")
    rng = np.random.RandomState(spec.seed)
    start = pd.Timestamp(spec.start_date)
    weeks = [_draw_week(rng, week, start, spec) for week in range(n_weeks)]
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


def validate_applications(
    data: pd.DataFrame, *, input_name: str = "applications", require_label: bool = True
) -> pd.DataFrame:
    """Check ``data`` against the applications schema and return it with canonical dtypes.

    Args:
        data: The table to check.
        input_name: What the table is, for the messages ("hold-out", "scoring input").
        require_label: Whether the ``approved`` label must be present (not for scoring).

    Returns:
        A copy with float features, integer week and label, and a datetime date.

    Raises:
        DataValidationError: naming the column, what was expected and what was found.
    """
    import pandas as pd

    required = [c for c in COLUMNS if require_label or c != LABEL_COLUMN]
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"{input_name} must be a pandas DataFrame; got {type(data).__name__}."
        )
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"{input_name} is missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"expected columns: {', '.join(required)}.",
            column=missing[0],
            expected=required,
            got=list(data.columns),
        )
    try:
        dates = data[DATE_COLUMN]
        if not pd.api.types.is_datetime64_any_dtype(dates):
            dates = pd.to_datetime(dates, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataValidationError(
            f"Column {DATE_COLUMN!r} in {input_name} must hold dates; {exc}.", column=DATE_COLUMN
        ) from exc
    if dates.isna().any():
        raise DataValidationError(
            f"Column {DATE_COLUMN!r} in {input_name} has missing dates.", column=DATE_COLUMN
        )
    # Plain arrays, assembled into one frame at the end: the table is copied once, however
    # many columns it has (a window of a million rows is read, then validated).
    columns: dict[str, Any] = {DATE_COLUMN: dates.array}
    for column in (c for c in required if c != DATE_COLUMN):
        columns[column] = _numeric_column(data[column], column, input_name)
    for column in (WEEK_COLUMN, *((LABEL_COLUMN,) if require_label else ())):
        values = columns[column]
        fractional = values != np.round(values)
        if fractional.any():
            raise DataValidationError(
                f"Column {column!r} in {input_name} must hold whole numbers; "
                f"got {values[fractional][0]!r}.",
                column=column,
            )
        columns[column] = values.astype("int64")
    weeks = columns[WEEK_COLUMN]
    if (weeks < 0).any():
        raise DataValidationError(
            f"Column {WEEK_COLUMN!r} in {input_name} must be non-negative; got {int(weeks.min())}.",
            column=WEEK_COLUMN,
        )
    if require_label:
        bad = ~np.isin(columns[LABEL_COLUMN], (0, 1))
        if bad.any():
            first_bad = columns[LABEL_COLUMN][bad][0].item()
            raise DataValidationError(
                f"Column {LABEL_COLUMN!r} in {input_name} must be 0 or 1; "
                f"got {first_bad} in {int(bad.sum())} row(s).",
                column=LABEL_COLUMN,
                expected={0, 1},
                got=first_bad,
            )
    return pd.DataFrame(columns)


def _numeric_column(values: pd.Series, column: str, input_name: str) -> np.ndarray:
    """``values`` as float64 (not copied if they are already), or raise at a non-finite one."""
    import pandas as pd

    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            raise DataValidationError(
                f"Column {column!r} in {input_name} must be numeric; got dtype {values.dtype} "
                f"(first bad value: {values[bad].iloc[0]!r}).",
                column=column,
                expected="numeric",
                got=str(values.dtype),
            )
        values = converted
    if isinstance(values.dtype, np.dtype):
        floats = values.to_numpy(dtype="float64")
    else:  # a nullable extension dtype: its missing values become NaN, refused below
        floats = values.astype("float64").to_numpy()
    not_finite = ~np.isfinite(floats)
    if not_finite.any():
        kind = "NaN" if np.isnan(floats).any() else "infinite"
        raise DataValidationError(
            f"Column {column!r} in {input_name} contains {kind} values in "
            f"{int(not_finite.sum())} row(s) (first at row {int(np.flatnonzero(not_finite)[0])}); "
            f"drop or impute them before loading.",
            column=column,
            expected="finite numbers",
            got=kind,
        )
    return floats
