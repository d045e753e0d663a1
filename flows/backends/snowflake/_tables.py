"""The Snowflake backend's own tables: one statement runner, and reads that need no setup."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flows.errors import SetupRequiredError

Sql = Callable[[str, list[Any] | None], list[Any]]
"""Runs one statement with ``?`` bindings and returns its rows (the registry's session)."""
MISSING_OBJECT = 2003
"""Snowflake's error 002003 (SQLSTATE 42S02): the object does not exist or is not authorized."""
INVALID_IDENTIFIER = 904
"""Snowflake's error 000904: a column the statement names is not in the table."""
_UNKNOWN_COLUMN = re.compile(r"invalid identifier|no such column|column \S+ not found", re.I)
ROW_ID = "ROW_ID"
"""Column holding each row's position in the frame it was written (``SnowparkSource.write``)."""


class ModelTable:
    """The rows of one model in a table shared by every model of the schema.

    Args:
        sql: Runs a statement (the registry's session).
        table: The qualified table.
        model_name: The model whose rows these are.
    """

    added_columns: tuple[str, ...] = ()
    """Columns this release added to the table; an older table lacks them until ``setup``."""

    def __init__(self, sql: Sql, *, table: str, model_name: str) -> None:
        self._sql = sql
        self.table = table
        self.model_name = model_name

    def read_rows(self, query: str, params: list[Any]) -> list[Any] | None:
        """Rows of a read; None when the table is missing, so a read never needs a setup.

        Raises:
            SetupRequiredError: if the table predates a column this release reads.
        """
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            return self._sql(query, params)
        except SnowparkSQLException as exc:
            if is_missing_object(exc):
                return None
            missing = self.missing_column(exc)
            if missing is not None:
                raise SetupRequiredError(
                    f"{self.table} was created by an earlier release (it has no column "
                    f"{missing}); run `ccflows snowflake setup` to upgrade it in place."
                ) from exc
            raise

    def missing_column(self, exc: Exception) -> str | None:
        """The added column an error says the table lacks, if that is what it says."""
        text = str(exc)
        unknown = getattr(exc, "sql_error_code", None) == INVALID_IDENTIFIER or bool(
            _UNKNOWN_COLUMN.search(text)
        )
        if not unknown:
            return None
        return next((c for c in self.added_columns if re.search(rf"\b{c}\b", text)), None)


def first_number(rows: list[Any]) -> int:
    """The first number of a one-row answer (rows inserted or updated, or a COUNT)."""
    return int(rows[0][0]) if rows else 0


def is_missing_object(exc: Exception) -> bool:
    """Whether Snowflake refused a statement because its table (or other object) is missing."""
    code = getattr(exc, "sql_error_code", None)
    return code == MISSING_OBJECT or "does not exist or not authorized" in str(exc)
