"""The embedded registry's ledger rows: decisions, ends, and the runs' ``started`` rows.

Each function runs inside a connection the registry opened, in its transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from flows.records import LedgerEntry, Outcome


def insert(
    conn: sqlite3.Connection, model: str, entry: LedgerEntry, evidence: bytes | None
) -> LedgerEntry:
    """Append ``entry`` (already stamped) with ``evidence``; returns it with its id."""
    entry = replace(entry, has_evidence=evidence is not None)
    cursor = conn.execute(
        "INSERT INTO ledger (model, recorded_at, outcome, entry, evidence) VALUES (?, ?, ?, ?, ?)",
        (model, entry.recorded_at, entry.outcome.value, json.dumps(entry.to_dict()), evidence),
    )
    return replace(entry, id=cursor.lastrowid)


def attempt_has_end(conn: sqlite3.Connection, model: str, entry: LedgerEntry) -> bool:
    """Whether the run attempt of ``entry`` has an entry other than its ``started`` row."""
    rows = conn.execute(
        "SELECT entry FROM ledger WHERE model=? AND outcome != ? "
        "AND json_extract(entry, '$.run_id') = ?",
        (model, Outcome.STARTED.value, entry.run_id),
    ).fetchall()
    return any(entry.same_attempt(LedgerEntry.from_dict(json.loads(row[0]))) for row in rows)


def read(
    conn: sqlite3.Connection, model: str, *, started: bool, limit: int | None
) -> list[LedgerEntry]:
    """The ``started`` rows, or every other entry, oldest first (the newest ``limit``)."""
    compare = "=" if started else "!="
    query = f"SELECT id, entry FROM ledger WHERE model=? AND outcome {compare} ? ORDER BY id DESC"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    rows = conn.execute(query, (model, Outcome.STARTED.value)).fetchall()
    return [replace(LedgerEntry.from_dict(json.loads(e)), id=i) for i, e in reversed(rows)]
