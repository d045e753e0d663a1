"""The Snowflake backend's promotion lock: one row per model, with an expiry on the server's clock.

The row is created by a ``MERGE`` (never a second row for a name, whoever races),
taken by a conditional ``UPDATE`` that only a free or expired row satisfies, and
checked right after: if any other live holder of the name exists, this run lets
go and waits. Times come from ``CURRENT_TIMESTAMP()`` and ``DATEADD`` on the
server, so a runner with a wrong clock can neither steal a live lock nor keep a
dead one.

A held lock is a :class:`Lease`, and the lease fences every write of its holder:
writes to our own tables carry the lease's condition in their ``WHERE`` (the
statement itself refuses to write once the lock is lost), and every pointer
statement, which cannot carry a condition, is preceded by a renewal. A renewal or a
fenced write that finds the lock taken raises :class:`~flows.errors.LockLostError`,
and a runner that has lost its lock writes nothing more.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flows.backends.snowflake._tables import Sql, first_number
from flows.errors import LockLostError, RegistryBusyError
from flows.identifiers import sql_literal

logger = logging.getLogger(__name__)

LOCK_TTL_SECONDS = 600
"""A lock older than this is considered abandoned by a crashed holder and may be taken over."""
LOCK_WAIT_SECONDS = 120.0
"""How long to wait for another run's lock before giving up."""
LOCK_POLL_SECONDS = 2.0
"""Pause between two attempts to take a lock held by another run."""


def lock_table_ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the lock table (run by setup, never by a read)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (NAME VARCHAR NOT NULL, HOLDER VARCHAR, "
        "ACQUIRED_AT TIMESTAMP_LTZ, EXPIRES_AT TIMESTAMP_LTZ)"
    )


@dataclass(frozen=True)
class Lease:
    """The lock as one holder holds it: what fences that holder's writes."""

    lock: PromotionLock
    """The lock held."""
    holder: str
    """The holder id this run took it under."""

    def renew(self) -> None:
        """Extend the lock before a statement; raises ``LockLostError`` if it was taken."""
        self.lock.renew(self.holder)

    def condition(self) -> tuple[str, list[Any]]:
        """A ``WHERE`` condition true only while this lease holds, and its bindings."""
        return (
            f"EXISTS (SELECT 1 FROM {self.lock.table} WHERE NAME = ? AND HOLDER = ? "
            "AND EXPIRES_AT >= CURRENT_TIMESTAMP())",
            [self.lock.name, self.holder],
        )

    def lost(self) -> LockLostError:
        """The error for a write this lease no longer allows."""
        return self.lock.lost()


class PromotionLock:
    """The advisory lock of one model, held while its pointers or ledger change.

    Args:
        sql: Runs a statement (the registry's session).
        table: The qualified lock table.
        name: The model's name: the row's key.
        ttl_seconds: How long a taken or renewed lock lives without renewal.
        wait_seconds: How long :meth:`held` waits for another holder.
        sleep: Waits between attempts (injectable so tests do not wait).
        monotonic: Measures the wait; only the wait, never the lock's expiry.
    """

    def __init__(
        self,
        sql: Sql,
        *,
        table: str,
        name: str,
        ttl_seconds: int = LOCK_TTL_SECONDS,
        wait_seconds: float = LOCK_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sql = sql
        self.table = table
        self.name = name
        self.ttl_seconds = int(ttl_seconds)
        self.wait_seconds = wait_seconds
        self._sleep = sleep
        self._monotonic = monotonic

    @contextmanager
    def held(self) -> Iterator[Lease]:
        """Hold the lock for the block; yields the lease. Raises ``RegistryBusyError``."""
        holder = self.acquire()
        try:
            yield Lease(self, holder)
        finally:
            self.release(holder)

    def acquire(self) -> str:
        """Take the lock, waiting up to ``wait_seconds``; returns the holder id."""
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._sql(
            f"MERGE INTO {self.table} AS T USING (SELECT ? AS NAME) AS S ON T.NAME = S.NAME "
            "WHEN NOT MATCHED THEN INSERT (NAME) VALUES (S.NAME)",
            [self.name],
        )
        deadline = self._monotonic() + self.wait_seconds
        while True:
            try:
                if self._try_take(holder):
                    return holder
            except Exception:
                self.release(holder)  # the lost reply may have been a success
                raise
            if self._monotonic() >= deadline:
                raise RegistryBusyError(self._busy_message())
            self._sleep(LOCK_POLL_SECONDS)

    def _try_take(self, holder: str) -> bool:
        taken = self._sql(
            f"UPDATE {self.table} SET HOLDER = ?, ACQUIRED_AT = CURRENT_TIMESTAMP(), "
            "EXPIRES_AT = DATEADD('second', ?, CURRENT_TIMESTAMP()) "
            "WHERE NAME = ? AND (HOLDER IS NULL OR EXPIRES_AT < CURRENT_TIMESTAMP())",
            [holder, self.ttl_seconds, self.name],
        )
        if not first_number(taken):
            return False
        others = self._sql(
            f"SELECT COUNT(*) AS OTHERS FROM {self.table} WHERE NAME = ? AND HOLDER <> ? "
            "AND EXPIRES_AT >= CURRENT_TIMESTAMP()",
            [self.name, holder],
        )
        if first_number(others):  # a second row of the name, held: never two holders
            self.release(holder)
            return False
        return True

    def renew(self, holder: str) -> None:
        """Extend the lock before a write; raises ``LockLostError`` if another run took it."""
        renewed = self._sql(
            f"UPDATE {self.table} SET EXPIRES_AT = DATEADD('second', ?, CURRENT_TIMESTAMP()) "
            "WHERE NAME = ? AND HOLDER = ?",
            [self.ttl_seconds, self.name, holder],
        )
        if not first_number(renewed):
            raise self.lost()

    def lost(self) -> LockLostError:
        """The error of a holder whose lock expired and was taken by another run."""
        return LockLostError(
            f"The promotion lock of {self.name} expired and was taken by another run; "
            "this run writes nothing more."
        )

    def in_flight(self) -> bool:
        """Whether a live holder has the lock now: a switch may be under way (a read)."""
        rows = self._sql(
            f"SELECT COUNT(*) AS HELD FROM {self.table} WHERE NAME = ? AND HOLDER IS NOT NULL "
            "AND EXPIRES_AT >= CURRENT_TIMESTAMP()",
            [self.name],
        )
        return bool(first_number(rows))

    def release(self, holder: str) -> None:
        """Let go of the lock; a failure only delays the next run until the expiry."""
        try:
            self._sql(
                f"UPDATE {self.table} SET HOLDER = NULL, ACQUIRED_AT = NULL, EXPIRES_AT = NULL "
                "WHERE NAME = ? AND HOLDER = ?",
                [self.name, holder],
            )
        except Exception as exc:
            logger.warning(
                "Could not release the promotion lock of %s (%s); it expires within %d s, "
                "or free it with: %s;",
                self.name,
                exc,
                self.ttl_seconds,
                self.release_sql(holder),
            )

    def release_sql(self, holder: str) -> str:
        """The statement that frees the lock of ``holder``, for an operator to run."""
        return (
            f"UPDATE {self.table} SET HOLDER = NULL, ACQUIRED_AT = NULL, EXPIRES_AT = NULL "
            f"WHERE NAME = {sql_literal(self.name)} AND HOLDER = {sql_literal(holder)}"
        )

    def _busy_message(self) -> str:
        rows = self._sql(
            f"SELECT HOLDER, ACQUIRED_AT, EXPIRES_AT FROM {self.table} "
            "WHERE NAME = ? AND HOLDER IS NOT NULL",
            [self.name],
        )
        if not rows:
            return f"The promotion lock of {self.name} could not be taken; retry."
        row = rows[0]
        return (
            f"The promotion lock of {self.name} is held by {row['HOLDER']} since "
            f"{row['ACQUIRED_AT']} (expires {row['EXPIRES_AT']}); waited "
            f"{self.wait_seconds:.0f} s. Retry later; if that run is known to be dead, "
            f"free the lock with: {self.release_sql(row['HOLDER'])};"
        )
