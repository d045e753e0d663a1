"""Creating and upgrading the Snowflake backend's tables and tags: the one place DDL is issued.

``setup`` looks at each table first (``INFORMATION_SCHEMA.COLUMNS``) and changes only
what is missing or outdated, so it can run again safely and says what it changed:
a missing table is created (the ledger's evidence parts and the live test's score log
and outcomes included); the previous
release's ledger gets its ``STATE`` and ``SWITCH`` columns added in place; the previous
release's lock, whose times were numbers, gets ``TIMESTAMP_LTZ`` columns instead (it holds no history: any holder of
the old release is released, so stop those runs before upgrading). The tags are
created if missing.

Reads never run it. Writes run it once per process and location (:func:`ensure`),
so a run's writes issue no DDL after the first.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass

from flows.backends.snowflake._ledger import (
    ADDED_COLUMNS,
    evidence_table,
    evidence_table_ddl,
    ledger_table_ddl,
)
from flows.backends.snowflake._lock import lock_table_ddl
from flows.backends.snowflake._tables import Sql
from flows.backends.snowflake._versions import hashes_table_ddl
from flows.backends.snowflake.score_log import score_log_ddl
from flows.identifiers import sql_literal
from flows.names import CHALLENGER_VERSION, LIVE_VERSION

logger = logging.getLogger(__name__)

TAG_COMMENTS = {
    LIVE_VERSION: "Version of the model that inference reads (champion-challenger).",
    CHALLENGER_VERSION: "Version of the model currently challenging the champion.",
}
LOCK_TIMES = ("ACQUIRED_AT", "EXPIRES_AT")
"""The lock's times: numbers (the client's clock) before this release, ``TIMESTAMP_LTZ`` now."""
_SET_UP: set[Hashable] = set()
"""The locations this process has set up (see :func:`ensure`)."""


@dataclass(frozen=True)
class Location:
    """Where the backend's objects live: the schema and its three tables (all qualified)."""

    database: str
    schema: str
    ledger_table: str
    lock_table: str
    hashes_table: str

    @property
    def qualified_schema(self) -> str:
        """``DATABASE.SCHEMA``."""
        return f"{self.database}.{self.schema}"


class SetupReport(list[str]):
    """What a setup did: the statements it ran, in order (the list), and each change in words.

    A list, as ``Registry.setup`` returns the statements that ran; ``changes`` says per
    object whether it was created, upgraded (and how) or left unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[str] = []

    @property
    def statements(self) -> list[str]:
        """Every DDL or DML statement run, in order."""
        return list(self)


def setup(sql: Sql, location: Location) -> SetupReport:
    """Create what is missing and upgrade what the previous release left; idempotent."""
    report = SetupReport()

    def run(statement: str) -> None:
        sql(statement, None)
        report.append(statement)

    ledger = _columns(sql, location, location.ledger_table)
    if not ledger:
        run(ledger_table_ddl(location.ledger_table))
        report.changes.append(f"created {location.ledger_table}")
    else:
        added = [c for c in ADDED_COLUMNS if c not in ledger]
        for column in added:
            run(f"ALTER TABLE {location.ledger_table} ADD COLUMN {column} {ADDED_COLUMNS[column]}")
        report.changes.append(
            f"upgraded {location.ledger_table}: added columns {', '.join(added)}"
            if added
            else f"{location.ledger_table} unchanged"
        )
    lock = _columns(sql, location, location.lock_table)
    if not lock:
        run(lock_table_ddl(location.lock_table))
        report.changes.append(f"created {location.lock_table}")
    elif any(not lock.get(c, "").startswith("TIMESTAMP") for c in LOCK_TIMES):
        for column in LOCK_TIMES:
            if column in lock:
                run(f"ALTER TABLE {location.lock_table} DROP COLUMN {column}")
            run(f"ALTER TABLE {location.lock_table} ADD COLUMN {column} TIMESTAMP_LTZ")
        run(f"UPDATE {location.lock_table} SET HOLDER = NULL")
        report.changes.append(
            f"upgraded {location.lock_table}: {' and '.join(LOCK_TIMES)} are TIMESTAMP_LTZ on "
            "the server's clock (any lock of the previous release was released)"
        )
    else:
        report.changes.append(f"{location.lock_table} unchanged")
    for table, ddl in (
        (evidence_table(location.ledger_table), evidence_table_ddl(location.ledger_table)),
        (location.hashes_table, hashes_table_ddl(location.hashes_table)),
        *score_log_ddl(location.qualified_schema).items(),
    ):
        if not _columns(sql, location, table):
            run(ddl)
            report.changes.append(f"created {table}")
        else:
            report.changes.append(f"{table} unchanged")
    for tag, comment in TAG_COMMENTS.items():
        run(
            f"CREATE TAG IF NOT EXISTS {location.qualified_schema}.{tag} "
            f"COMMENT = {sql_literal(comment)}"
        )
    report.changes.append(
        f"tags {', '.join(TAG_COMMENTS)} created where missing in {location.qualified_schema}"
    )
    return report


def ensure(sql: Sql, location: Location, *, key: Hashable, force: bool = False) -> SetupReport:
    """Run :func:`setup` unless this process already did for ``key`` (the account and location).

    ``force`` runs it anyway (``ccflows snowflake setup``). Returns what it did (nothing
    when skipped).
    """
    if key in _SET_UP and not force:
        return SetupReport()
    report = setup(sql, location)
    for change in report.changes:
        if not change.endswith("unchanged"):
            logger.info("Setup of %s: %s", location.qualified_schema, change)
    _SET_UP.add(key)
    return report


def forget() -> None:
    """Forget which locations were set up (the next write sets up again)."""
    _SET_UP.clear()


def _columns(sql: Sql, location: Location, table: str) -> dict[str, str]:
    """Column name → Snowflake data type of ``table``; empty when it does not exist."""
    name = table.rsplit(".", 1)[-1]
    rows = sql(
        f"SELECT COLUMN_NAME, DATA_TYPE FROM {location.database}.INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
        [location.schema, name],
    )
    return {str(row["COLUMN_NAME"]).upper(): str(row["DATA_TYPE"]).upper() for row in rows}
