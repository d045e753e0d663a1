"""Reading and clearing the embedded registry's pointers inside an open SQLite transaction."""

from __future__ import annotations

import sqlite3

from flows.names import CHALLENGER, CHALLENGER_VERSION


def alias_of(conn: sqlite3.Connection, model: str, version: str) -> str | None:
    """The alias ``version`` holds, or None."""
    row = conn.execute(
        "SELECT alias FROM aliases WHERE model=? AND version=?", (model, version)
    ).fetchone()
    return row[0] if row else None


def tag_of(conn: sqlite3.Connection, model: str, tag: str) -> str | None:
    """The value of model tag ``tag``, or None."""
    row = conn.execute("SELECT value FROM tags WHERE model=? AND tag=?", (model, tag)).fetchone()
    return row[0] if row else None


def unset_challenger(conn: sqlite3.Connection, model: str, version: str) -> None:
    """Take the CHALLENGER alias and the CHALLENGER_VERSION tag off ``version``, if it holds them."""
    conn.execute(
        "DELETE FROM aliases WHERE model=? AND alias=? AND version=?", (model, CHALLENGER, version)
    )
    conn.execute(
        "DELETE FROM tags WHERE model=? AND tag=? AND value=?", (model, CHALLENGER_VERSION, version)
    )
