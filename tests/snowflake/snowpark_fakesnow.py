"""Real Snowpark sessions on fakesnow, in process: the warehouse for tests without an account.

fakesnow 0.12 answers Snowflake's wire protocol from DuckDB. Its server runs in this
process (uvicorn on a daemon thread); the sessions are Snowpark's own, over the real
connector, so the code under test sends its statements as it would to Snowflake.
``fakesnow.patch()`` cannot host Snowpark: its in-process connection lacks the
connector internals Snowpark reads when it creates a session (``_session_parameters``,
then ``_telemetry``, ...).

Runs unchanged (Snowpark 1.56, connector 4.8, fakesnow 0.12.1, DuckDB 2.0):
``session.sql(...).collect()`` with ``?`` bindings; ``session.table``, ``filter``,
``select``, ``group_by``, ``join``, ``union_all``, ``count``, ``distinct``, ``to_pandas``;
``DATEDIFF``, ``FLOOR``, ``TO_TIMESTAMP``; ``CREATE [OR REPLACE] TABLE … AS SELECT``;
``ALTER TABLE … RENAME TO``; ``save_as_table`` of a query (``overwrite``, ``append``,
``errorifexists``; permanent and transient); ``BEGIN``/``COMMIT``; ``CREATE STAGE``;
``USE WAREHOUSE`` (accepted, changes nothing); the PUT (Parquet over HTTP) and
``COPY INTO`` of ``write_pandas``, once gaps 4 and 5 are closed.

Gaps, and the narrowest seam that closes each. Statements are rewritten in the
connector (``cmd_query``) after Snowpark wrote them, so what a test records or meters
(:mod:`tests.snowflake.traffic`) is what Snowflake would receive:

1. Closing. fakesnow's login answer has no master token; without one the connector's
   ``close()`` stops before logging out and never marks itself closed, so Snowpark's
   exit hook closes every session again once the server is gone: connection-refused
   retries, thread tracebacks (or "Logging error") after pytest's summary, and about
   30 s of waiting at exit. Seam: after login the connection is given its session
   token as master token, so ``close()`` logs out for real.
2. ``SYSTEM$CANCEL_ALL_QUERIES`` (sent by ``Session.close``) does not exist in DuckDB.
   Rewritten to a constant query: nothing runs concurrently here to cancel.
3. Temporary tables. ``SCOPED`` does not parse, DuckDB keeps temporary tables
   unqualified, and Snowpark writes ``CREATE TEMPORARY TABLE t IF NOT EXISTS (…)``
   (its word order, which Snowflake accepts). Rewritten to ``CREATE TEMPORARY``, to a
   plain table when the name is qualified (it then outlives the session, in the
   test's schema), and to ``IF NOT EXISTS t``.
4. ``COPY INTO … FROM (SELECT $1:"A" … FROM '@"STAGE"')``, as ``write_pandas`` loads
   its Parquet: fakesnow accepts a stage only as a bare ``@STAGE``. Rewritten for the
   upper-case names Snowpark generates, where dropping the quotes changes nothing.
5. ``INFER_SCHEMA`` (``write_pandas`` with ``auto_create_table`` or ``overwrite``, so
   every ``create_dataframe`` of a pandas frame) does not parse, and a PUT to a stage
   qualified by quoted names finds no stage. Seam: the session's ``write_pandas``
   creates, drops or truncates the table itself, unqualified, with the types Snowflake
   infers from Parquet (:func:`snowflake_type`), then lets the connector upload and
   ``COPY INTO`` as usual. Writing into another schema than the session's is refused.
6. ``HASH`` is DuckDB's unsigned 64-bit hash (which fakesnow cannot even send back:
   HTTP 500 above 2**63) and ``HASH_AGG`` does not exist. Rewritten to a signed
   ``HASH`` and, for ``HASH_AGG``, the sum of the rows' hashes modulo 2**64: order-
   independent, counts duplicates, 0 for no rows, as Snowflake's. The values are not
   Snowflake's: compare fingerprints only with fingerprints from the same warehouse.
7. ``ALTER TABLE a SWAP WITH b`` does not parse. Emulated by three renames through a
   parked name: the same end state, but not atomic here.
8. ``SELECT $1 AS "A" … FROM VALUES (…)`` (``create_dataframe`` of Python rows): DuckDB
   reads ``$1`` as a bind parameter. Rewritten to Snowflake's other name, ``COLUMN1``.
9. ``CURRENT_WAREHOUSE()`` does not exist. Answered with the warehouse the session was
   opened with, then the last ``USE WAREHOUSE`` it ran (``NULL`` when none).
10. ``ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS`` is not implemented. Rewritten to a
   constant query: nothing here runs long enough to be timed out; a test reads the
   timeout each statement ran under from the statements sent.

Still out of reach on fakesnow, with no seam: ``SHOW MODELS`` and every other
statement of the ML registry (replace it at its boundary); ``MODEL(m, v)!METHOD(…)``;
``CREATE PROCEDURE``/``TASK``; ``SHOW TABLES`` lists no temporary table, so
``save_as_table(mode="errorifexists")`` does not see one; ``COPY INTO`` fails on a
column named by a DuckDB keyword (``AT``); two statements at once from two threads
(one DuckDB connection behind the server). fakesnow's own ``network_timeout`` of 1 s
is raised to :data:`NETWORK_TIMEOUT`: on a loaded machine a slower statement would
otherwise start a cancelling thread.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snowflake.snowpark import Session

from tests.snowflake.traffic import watch

if TYPE_CHECKING:
    import pandas as pd

NETWORK_TIMEOUT = 120
"""Seconds before the connector gives up on a statement (fakesnow's own is 1)."""

_TWO_64 = "CAST('18446744073709551616' AS NUMBER(37, 0))"
_TWO_63 = "CAST('9223372036854775808' AS NUMBER(37, 0))"


def _signed_hash(arguments: str) -> str:
    """DuckDB's unsigned ``HASH`` shifted into Snowflake's signed 64-bit range."""
    return f"(CAST(HASH({arguments}) AS NUMBER(37, 0)) - {_TWO_63})"


def _hash_agg(arguments: str) -> str:
    """An order-independent aggregate of the rows' hashes, 0 over no rows."""
    total = f"SUM(CAST(HASH({arguments}) AS NUMBER(37, 0)))"
    return f"COALESCE(MOD({total}, {_TWO_64}) - {_TWO_63}, 0)"


_HASH_CALL = re.compile(r"\b(HASH_AGG|HASH)\s*\(", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def _hash_call(sql: str, position: int) -> re.Match[str] | None:
    """The next ``HASH(`` or ``HASH_AGG(`` at or after ``position`` outside quoted text."""
    quoted = [m.span() for m in _QUOTED.finditer(sql)]
    for match in _HASH_CALL.finditer(sql, position):
        if not any(start <= match.start() < end for start, end in quoted):
            return match
    return None


def _closing_paren(sql: str, start: int) -> int:
    """The index of the ``)`` closing the ``(`` before ``start``, skipping quoted text."""
    depth = 1
    for match in re.finditer(rf"{_QUOTED.pattern}|[()]", sql[start:]):
        depth += {"(": 1, ")": -1}.get(match.group(), 0)
        if depth == 0:
            return start + match.start()
    raise ValueError(f"unbalanced parentheses in {sql!r}")


def rewrite_hashes(sql: str) -> str:
    """``HASH(…)`` and ``HASH_AGG(…)`` in ``sql`` as DuckDB computes them (gap 6)."""
    out, position = [], 0
    while match := _hash_call(sql, position):
        end = _closing_paren(sql, match.end())
        arguments = rewrite_hashes(sql[match.end() : end])
        build = _hash_agg if match.group(1).upper() == "HASH_AGG" else _signed_hash
        out += [sql[position : match.start()], build(arguments)]
        position = end + 1
    return "".join(out) + sql[position:]


_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*)){0,2}'
_SWAP = re.compile(rf"^\s*ALTER\s+TABLE\s+({_NAME})\s+SWAP\s+WITH\s+({_NAME})\s*;?\s*$", re.I)


def _swap(first: str, second: str) -> list[str]:
    """``ALTER TABLE first SWAP WITH second`` as three renames (gap 7)."""
    qualifier = first.rpartition(".")[0]
    parked = f"{qualifier}.SWAP_{uuid.uuid4().hex[:12].upper()}".lstrip(".")
    return [
        f"ALTER TABLE {first} RENAME TO {parked}",
        f"ALTER TABLE {second} RENAME TO {first}",
        f"ALTER TABLE {parked} RENAME TO {second}",
    ]


_TEMPORARY = r"(?:SCOPED\s+)?TEMP(?:ORARY)?"
_QUALIFIED = r"(IF\s+NOT\s+EXISTS\s+)?(?=[^\s(]+\.)"  # a qualified name follows
_TEXT_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(rf"\b(CREATE\s.*?\bTABLE)\s+({_NAME})\s+IF\s+NOT\s+EXISTS\b", re.I),
        r"\1 IF NOT EXISTS \2",
    ),
    (re.compile(r"^\s*select\s+system\$cancel_all_queries\(\w*\)\s*$", re.I), "SELECT 0 AS N"),
    (
        re.compile(rf"\bCREATE\s+(OR\s+REPLACE\s+)?{_TEMPORARY}\s+TABLE\s+{_QUALIFIED}", re.I),
        r"CREATE \1TABLE \2",
    ),
    (re.compile(rf"\bCREATE\s+(OR\s+REPLACE\s+)?{_TEMPORARY}\b", re.I), r"CREATE \1TEMPORARY"),
    (re.compile(r"""FROM '@"([A-Z_][A-Z0-9_$]*)"'"""), r"FROM @\1"),
    (
        re.compile(r"^\s*ALTER\s+SESSION\s+SET\s+STATEMENT_TIMEOUT_IN_SECONDS\s*=\s*\d+\s*$", re.I),
        "SELECT 0 AS N",
    ),
)


_VALUES_COLUMN = re.compile(r"\$(\d+)(?=\s+AS\s+\")")
_FROM_VALUES = re.compile(r"\bFROM\s+VALUES\s*\(", re.I)
_USE_WAREHOUSE = re.compile(rf"^\s*USE\s+WAREHOUSE\s+({_NAME})\s*;?\s*$", re.I)
_CURRENT_WAREHOUSE = re.compile(r"\bCURRENT_WAREHOUSE\(\s*\)", re.I)


def _unquoted(name: str) -> str:
    """An identifier as Snowflake stores it: quoted ones as written, others upper-cased."""
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.upper()


def fakesnow_statements(sql: str, *, warehouse: str | None = None) -> list[str]:
    """What fakesnow is sent for a statement Snowpark wrote for Snowflake (gaps 2–4, 6–10).

    Args:
        sql: The statement as Snowflake would receive it.
        warehouse: The session's warehouse, the answer to ``CURRENT_WAREHOUSE()``.
    """
    if swap := _SWAP.match(sql):
        return _swap(swap.group(1), swap.group(2))
    for pattern, replacement in _TEXT_REWRITES:
        sql = pattern.sub(replacement, sql)
    if _FROM_VALUES.search(sql):
        sql = _VALUES_COLUMN.sub(r"COLUMN\1", sql)
    current = "NULL" if warehouse is None else "'" + warehouse.replace("'", "''") + "'"
    return [rewrite_hashes(_CURRENT_WAREHOUSE.sub(current, sql))]


def snowflake_type(dtype: Any) -> str:
    """The column type Snowflake's ``INFER_SCHEMA`` gives a pandas dtype written as Parquet."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "NUMBER(38, 0)"
    if pd.api.types.is_float_dtype(dtype):
        return "FLOAT"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "TIMESTAMP_TZ"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP_NTZ"
    return "VARCHAR"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_pandas_without_infer_schema(session: Session, write_pandas: Callable[..., Any]):
    """``Session.write_pandas`` that prepares the table itself, then uploads as usual (gap 5)."""

    def prepared(
        df: pd.DataFrame,
        table_name: str,
        *,
        database: str | None = None,
        schema: str | None = None,
        quote_identifiers: bool = True,
        auto_create_table: bool = False,
        overwrite: bool = False,
        table_type: str = "",
        **kwargs: Any,
    ) -> Any:
        name = _quoted if quote_identifiers else str
        here = (session.connection.database, session.connection.schema)
        if (database or here[0], schema or here[1]) != here:
            raise NotImplementedError(
                "fakesnow cannot PUT to a temporary stage qualified by another schema; "
                "write_pandas into the session's own schema"
            )
        table = name(table_name)  # unqualified, so is the connector's stage, which fakesnow finds
        if auto_create_table:
            if overwrite:
                session.sql(f"DROP TABLE IF EXISTS {table}").collect()
            columns = ", ".join(f"{name(str(c))} {snowflake_type(t)}" for c, t in df.dtypes.items())
            kind = f"{table_type.upper()} " if table_type else ""
            session.sql(f"CREATE {kind}TABLE IF NOT EXISTS {table} ({columns})").collect()
        elif overwrite:
            session.sql(f"TRUNCATE TABLE {table}").collect()
        return write_pandas(
            df,
            table_name,
            quote_identifiers=quote_identifiers,
            auto_create_table=False,
            overwrite=False,
            table_type=table_type,
            **kwargs,
        )

    return prepared


def _send_as_fakesnow_reads(connection: Any, warehouse: str | None) -> None:
    """Route every statement of ``connection`` through :func:`fakesnow_statements`."""
    send = connection.cmd_query
    current = {"warehouse": None if warehouse is None else _unquoted(warehouse)}

    def cmd_query(sql: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        *before, last = fakesnow_statements(sql, warehouse=current["warehouse"])
        for statement in before:
            answer = send(statement, *args, **kwargs)
            if not answer.get("success"):
                return answer
        answer = send(last, *args, **kwargs)
        if (used := _USE_WAREHOUSE.match(sql)) and answer.get("success"):
            current["warehouse"] = _unquoted(used.group(1))
        return answer

    connection.cmd_query = cmd_query


class FakesnowWarehouse:
    """One fakesnow server and the Snowpark sessions opened on it; a context manager.

    Leaving closes every session it opened, then stops the server, in that order.
    The server's DuckDB is shared by the whole process: give each test its own schema.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._sessions: list[Session] = []
        self.connection: dict[str, Any] = {}

    def __enter__(self) -> FakesnowWarehouse:
        import fakesnow

        self.connection = {
            **self._stack.enter_context(fakesnow.server()),
            "network_timeout": NETWORK_TIMEOUT,
        }
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            while self._sessions:
                close(self._sessions.pop())
        finally:
            self._stack.close()

    def session(self, database: str, schema: str, **options: Any) -> Session:
        """A new Snowpark session on ``database.schema``, created if missing, and metered.

        Args:
            database: The session's current database.
            schema: The session's current schema.
            options: More ``Session.builder`` options (``warehouse``, ``role``, ...).
        """
        builder = Session.builder.configs(
            {**self.connection, "database": database, "schema": schema, **options}
        )
        session = builder.create()
        self._sessions.append(session)
        rest = session.connection.rest
        rest.update_tokens(rest.token, rest.token)  # gap 1: close() then logs out
        _send_as_fakesnow_reads(session.connection, options.get("warehouse"))
        session.write_pandas = _write_pandas_without_infer_schema(session, session.write_pandas)
        watch(session)
        session.sql(f"CREATE DATABASE IF NOT EXISTS {_quoted(database)}").collect()
        session.sql(f"CREATE SCHEMA IF NOT EXISTS {_quoted(database)}.{_quoted(schema)}").collect()
        session.sql(f"USE SCHEMA {_quoted(database)}.{_quoted(schema)}").collect()
        watch(session).transfers.clear()
        return session

    def close(self, session: Session) -> None:
        """Close one session now (before the test ends)."""
        if session in self._sessions:
            self._sessions.remove(session)
        close(session)


def close(session: Session) -> None:
    """Close ``session`` for good: logged out, and nothing left for Snowpark's exit hook."""
    session.close()
    if not session.connection.is_closed():
        raise AssertionError("the Snowpark session is still open after close()")
