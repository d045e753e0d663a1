"""The names that the registry, the data and the ledger agree on, defined once.

They mirror the Snowflake quickstart: one model ``CREDIT_APPROVAL`` whose versions
carry the aliases ``CHAMPION`` / ``CHALLENGER`` and whose model-level tags
``LIVE_VERSION`` / ``CHALLENGER_VERSION`` say what inference reads.
"""

from __future__ import annotations

from typing import Final

DEFAULT_MODEL_NAME: Final = "CREDIT_APPROVAL"

CHAMPION: Final = "CHAMPION"
"""Version alias of the model in production."""
CHALLENGER: Final = "CHALLENGER"
"""Version alias of the newest retrained contestant."""
LIVE_VERSION: Final = "LIVE_VERSION"
"""Model tag naming the version that inference reads."""
CHALLENGER_VERSION: Final = "CHALLENGER_VERSION"
"""Model tag naming the current challenger version."""

DATE_COLUMN: Final = "application_date"
WEEK_COLUMN: Final = "week_number"
LABEL_COLUMN: Final = "approved"
FEATURE_COLUMNS: Final = (
    "applicant_age",
    "annual_income",
    "credit_score",
    "debt_to_income",
    "years_employed",
    "num_credit_cards",
    "has_mortgage",
    "education_score",
    "location_risk_score",
)
"""The nine model inputs: every column except the date, the week and the label."""
COLUMNS: Final = (DATE_COLUMN, WEEK_COLUMN, *FEATURE_COLUMNS, LABEL_COLUMN)
"""The applications table's columns, in the quickstart's order."""
