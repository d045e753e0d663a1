"""Our own tables (ledger, lock, row hashes) for the recording session, on SQLite.

Each statement runs with the same text and ``?`` bindings the code sends, the
``DB.SCHEMA.`` qualifier stripped and our few non-portable spellings translated;
results have Snowflake's shape (``number of rows updated``). The server's clock,
read by ``CURRENT_TIMESTAMP()``, runs with this machine's and can be moved forward.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from snowflake.snowpark import Row
from snowflake.snowpark.exceptions import SnowparkSQLException

STATEMENT = re.compile(
    r"(CREATE TABLE IF NOT EXISTS|CREATE TABLE|ALTER TABLE|INSERT INTO|UPDATE|SELECT|DELETE FROM|MERGE) "
)
"""The statements answered here (everything else belongs to the ML registry)."""
_MERGE_ROW = re.compile(
    r"MERGE INTO (\S+) AS T USING \(SELECT \? AS (\w+)\) AS S ON T\.\2 = S\.\2 "
    r"WHEN NOT MATCHED THEN INSERT \(\2\) VALUES \(S\.\2\)"
)


class SqliteTables:
    """The tables of one schema, ``qualifier`` (``DB.SCHEMA.``) stripped from names."""

    def __init__(self, qualifier: str) -> None:
        self.qualifier = qualifier
        self.clock_offset = timedelta(0)
        """How far the server's clock is ahead of this machine's (tests move it forward)."""
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.create_function("SF_NOW", 0, lambda: self.server_time().isoformat())
        self.db.create_function("DATEADD", 3, _dateadd)

    def server_time(self) -> datetime:
        """The server's clock (UTC, naive), read by ``CURRENT_TIMESTAMP()``."""
        return datetime.now(UTC).replace(tzinfo=None) + self.clock_offset

    def run(self, q: str, params: tuple[Any, ...]) -> list[Row]:
        """Answer ``q`` as Snowflake would."""
        local = _sqlite_dialect(q.replace(self.qualifier, ""))
        try:
            cursor = self.db.execute(local, params)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise SnowparkSQLException(
                    f"SQL compilation error: Object does not exist or not authorized ({exc})."
                ) from exc
            column = re.search(r"no such column: (\w+)", str(exc))
            if column:
                raise SnowparkSQLException(
                    f"SQL compilation error: invalid identifier '{column[1]}'"
                ) from exc
            raise
        verb = {"MERGE": "INSERT"}.get(q.split(" ", 1)[0], q.split(" ", 1)[0])
        if verb == "SELECT":
            names = [d[0] for d in cursor.description]
            return [Row(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
        if verb in ("CREATE", "ALTER"):
            return [Row(status="Statement executed successfully.")]
        counted = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted"}[verb]
        return [Row(**{f"number of rows {counted}": cursor.rowcount})]

    def columns(self, table: str) -> list[Row]:
        """``INFORMATION_SCHEMA.COLUMNS`` of ``table``: name and declared type, as Snowflake names it."""
        found = self.db.execute(f"PRAGMA table_info({table})").fetchall()
        return [Row(COLUMN_NAME=name, DATA_TYPE=_data_type(kind)) for _, name, kind, *_ in found]

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table``, as dicts."""
        cursor = self.db.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _sqlite_dialect(q: str) -> str:
    """Snowflake's spelling of our few non-portable statements, in SQLite's.

    ``MERGE … WHEN NOT MATCHED THEN INSERT`` becomes the equivalent ``INSERT … WHERE
    NOT EXISTS`` (one statement, as atomic on SQLite); ``CURRENT_TIMESTAMP()`` reads
    the server clock; ``DATEADD`` is a registered function.
    """
    merge = _MERGE_ROW.fullmatch(q)
    if merge:
        table, column = merge.groups()
        q = (
            f"INSERT INTO {table} ({column}) SELECT S.{column} FROM (SELECT ? AS {column}) AS S "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS T WHERE T.{column} = S.{column})"
        )
    return q.replace("CURRENT_TIMESTAMP()", "SF_NOW()")


def _data_type(declared: str) -> str:
    """Snowflake's DATA_TYPE for a declared type (``VARCHAR`` is ``TEXT``, ``NUMBER(38, 6)`` ``NUMBER``)."""
    base = declared.split("(")[0].strip().upper()
    return "TEXT" if base == "VARCHAR" else base


def _dateadd(unit: str, amount: float, moment: str) -> str:
    assert unit == "second", unit
    return (datetime.fromisoformat(moment) + timedelta(seconds=amount)).isoformat()
