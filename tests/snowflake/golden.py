"""Golden SQL files: the statements a scenario issues, with random names made stable.

Set ``CC_UPDATE_GOLDEN=1`` to rewrite the files from the current code, then review
the diff: every changed line is a changed statement sent to Snowflake.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"

_STABLE = [
    (re.compile(r"SNOWPARK_TEMP_STAGE_[A-Z0-9]+"), "SNOWPARK_TEMP_STAGE_<ID>"),
    (
        re.compile(r"SNOWPARK_ML_MODEL_INFERENCE_INPUT_[A-Z0-9]+"),
        "SNOWPARK_ML_MODEL_INFERENCE_INPUT_<ID>",
    ),
    (re.compile(r"TMP_RESULT_[A-Z0-9]+"), "TMP_RESULT_<ID>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00"), "<TIME>"),
    # measured metrics: their last digits may differ between platforms' float arithmetic
    (re.compile(r"\b\d+\.\d{6,}(e-?\d+)?\b"), "<FLOAT>"),
]


def stable(statements: list[str]) -> list[str]:
    """The statements with generated names and timestamps replaced by placeholders."""
    out = []
    for statement in statements:
        for pattern, placeholder in _STABLE:
            statement = pattern.sub(placeholder, statement)
        out.append(statement)
    return out


def assert_golden(name: str, statements: list[str]) -> None:
    """Compare ``statements`` (made stable) with ``golden/<name>.sql``, line by line."""
    path = GOLDEN / f"{name}.sql"
    lines = stable(statements)
    if os.environ.get("CC_UPDATE_GOLDEN"):
        path.write_text("\n".join(lines) + "\n")
    expected = path.read_text().splitlines()
    assert lines == expected, f"SQL differs from {path}; rerun with CC_UPDATE_GOLDEN=1 and review"
