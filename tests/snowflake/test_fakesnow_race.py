"""The promotion lock raced for real: two connections to one DuckDB file, through fakesnow.

Each runner has its own connection (fakesnow in-process, ``?`` bindings, one DuckDB
database file), so every statement, the ``MERGE`` included, is run by DuckDB, and
a statement sees what its snapshot saw. Runner B sends its statements one by one;
at each, runner A takes its whole turn at acquiring the lock, either just before
B's statement or *inside* it: B's statement runs in a transaction that stays open
while A goes, and commits after (what a statement that overlaps another's does).
Whatever the interleaving, at most one runner holds the lock.

The harness can fail: run over the previous release's lock (``INSERT … WHERE NOT
EXISTS``, then a take with no check for other holders) it finds two holders.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from snowflake.snowpark import Row

from flows.backends.snowflake._lock import PromotionLock, lock_table_ddl
from flows.backends.snowflake._tables import first_number
from flows.errors import RegistryBusyError

fakesnow_instance = pytest.importorskip("fakesnow.instance")

TABLE = "CC_DB.CC_SCHEMA.PROMOTION_LOCK"


def duck(connection) -> Callable[..., list[Any]]:
    """A statement runner on one fakesnow connection, answering Snowpark-like rows."""

    def run(query: str, params: list[Any] | None = None) -> list[Any]:
        cursor = connection.cursor()
        cursor.execute(query, params)
        names = [d[0] for d in cursor.description] if cursor.description else []
        return [Row(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    return run


class PreviousReleaseLock:
    """The lock as the previous release took it: the reference this harness must catch."""

    def __init__(self, sql, *, table: str, name: str, **_: Any) -> None:
        self._sql, self.table, self.name = sql, table, name

    def acquire(self) -> str:
        holder = uuid.uuid4().hex[:8]
        self._sql(
            f"INSERT INTO {self.table} (NAME) SELECT ? WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.table} WHERE NAME = ?)",
            [self.name, self.name],
        )
        taken = self._sql(
            f"UPDATE {self.table} SET HOLDER = ?, EXPIRES_AT = DATEADD('second', 600, "
            "CURRENT_TIMESTAMP()) WHERE NAME = ? AND HOLDER IS NULL",
            [holder, self.name],
        )
        if not first_number(taken):
            raise RegistryBusyError("busy")
        return holder


class Interleaved:
    """Runner B's statement runner: at position ``at`` runner A takes its whole turn.

    ``inside``: B's statement runs in a transaction left open during A's turn. fakesnow
    cannot open a transaction around its own ``MERGE`` (it writes bookkeeping to a
    second database), so for that statement the harness does what snapshot isolation
    does: the row's absence is read on the snapshot before A's turn, and the insert
    lands after it.
    """

    def __init__(self, connection, *, at: int, inside: bool, turn: Callable[[], None]) -> None:
        self._run = duck(connection)
        self.at, self.inside, self.turn = at, inside, turn
        self.sent = 0

    def __call__(self, query: str, params: list[Any] | None = None) -> list[Any]:
        position, self.sent = self.sent, self.sent + 1
        if position != self.at:
            return self._run(query, params)
        if not self.inside:
            self.turn()
            return self._run(query, params)
        if query.startswith("MERGE"):
            absent = not self._run(f"SELECT 1 FROM {TABLE} WHERE NAME = ?", [params[0]])
            self.turn()
            if absent:
                self._run(f"INSERT INTO {TABLE} (NAME) VALUES (?)", [params[0]])
            return [Row(**{"number of rows inserted": int(absent)})]
        self._run("BEGIN TRANSACTION")
        rows = self._run(query, params)
        self.turn()
        self._run("COMMIT")
        return rows


@pytest.fixture
def connections(tmp_path):
    """Two connections (A and B) to one DuckDB database file, and a third to look."""
    snow = fakesnow_instance.FakeSnow(db_path=tmp_path)
    opened = [
        snow.connect(database="CC_DB", schema="CC_SCHEMA", paramstyle="qmark") for _ in range(3)
    ]
    duck(opened[2])(lock_table_ddl(TABLE))
    yield opened
    for connection in opened:
        connection.close()
    snow.duck_conn.close()


def race(connections, lock_type, *, at: int, inside: bool) -> tuple[list[str], list[Any]]:
    """One interleaving; returns who got the lock and the lock rows held afterwards."""
    first, second, look = connections
    duck(look)(f"DELETE FROM {TABLE}")
    got: list[str] = []

    def take(lock) -> None:
        with contextlib.suppress(Exception):  # busy, or a write conflict: not taken
            got.append(lock.acquire())

    a = lock_type(duck(first), table=TABLE, name="M", wait_seconds=0.0)
    b_sql = Interleaved(second, at=at, inside=inside, turn=lambda: take(a))
    take(lock_type(b_sql, table=TABLE, name="M", wait_seconds=0.0))
    held = duck(look)(
        f"SELECT HOLDER FROM {TABLE} WHERE HOLDER IS NOT NULL AND EXPIRES_AT >= CURRENT_TIMESTAMP()"
    )
    return got, held


def statements_of(connections, lock_type) -> int:
    """How many statements runner B sends when nobody races it."""
    duck(connections[2])(f"DELETE FROM {TABLE}")
    counter = Interleaved(connections[1], at=-1, inside=False, turn=lambda: None)
    lock_type(counter, table=TABLE, name="M", wait_seconds=0.0).acquire()
    return counter.sent


def double_holders(connections, lock_type) -> list[str]:
    """Every interleaving in which more than one runner got the lock."""
    found = []
    for at in range(statements_of(connections, lock_type)):
        for inside in (False, True):
            got, held = race(connections, lock_type, at=at, inside=inside)
            if len(got) > 1 or len(held) > 1 or {r["HOLDER"] for r in held} - set(got):
                found.append(f"A's turn {'inside' if inside else 'before'} B's statement {at}")
    return found


def test_fakesnow_two_connections_racing_for_real_never_both_hold_the_lock(connections):
    assert double_holders(connections, PromotionLock) == []


def test_fakesnow_the_race_catches_the_previous_releases_lock(connections):
    """The same race over the old SQL finds two holders: the race test can fail."""
    assert "A's turn inside B's statement 0" in double_holders(connections, PreviousReleaseLock)
