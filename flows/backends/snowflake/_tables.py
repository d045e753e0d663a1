"""The Snowflake backend's own tables: one statement runner, and reads that need no setup."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Sql = Callable[[str, list[Any] | None], list[Any]]
"""Runs one statement with ``?`` bindings and returns its rows (the registry's session)."""
MISSING_OBJECT = 2003
"""Snowflake's error 002003 (SQLSTATE 42S02): the object does not exist or is not authorized."""


class ModelTable:
    """The rows of one model in a table shared by every model of the schema.

    Args:
        sql: Runs a statement (the registry's session).
        table: The qualified table.
        model_name: The model whose rows these are.
    """

    def __init__(self, sql: Sql, *, table: str, model_name: str) -> None:
        self._sql = sql
        self.table = table
        self.model_name = model_name

    def rows_or_none(self, query: str, params: list[Any]) -> list[Any] | None:
        """Rows of a read; None when the table is missing, so a read never needs a setup."""
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            return self._sql(query, params)
        except SnowparkSQLException as exc:
            if is_missing_object(exc):
                return None
            raise


def is_missing_object(exc: Exception) -> bool:
    """Whether Snowflake refused a statement because its table (or other object) is missing."""
    code = getattr(exc, "sql_error_code", None)
    return code == MISSING_OBJECT or "does not exist or not authorized" in str(exc)
