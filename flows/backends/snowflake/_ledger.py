"""The Snowflake backend's promotion ledger: one row per decision, and the pending switch.

A switch of the live version is written twice. Before its first pointer statement
a ``pending`` row is inserted, holding the decision and the pointers before and
after the switch; once ``LIVE_VERSION`` has moved (the commit point) the row is
completed. A crash at any statement therefore leaves a row that, read next to the
``LIVE_VERSION`` tag, tells the truth: if the tag shows the row's new version the
switch happened; if not, it is in flight while its runner still holds the lock, and
it failed otherwise. Readers interpret a pending row that way (and issue no write);
the next run that takes the lock settles it for good. A settled row keeps its
``SWITCH``, so a later run can recognise a commit sent late by a runner that had
lost its lock.

Every write carries the writer's lease in its ``WHERE`` (a runner that lost the lock
inserts and updates nothing), and every row is stamped with the server's clock.
Evidence is stored base64-encoded, in parts of bounded size (:mod:`._parts`).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flows.backends.snowflake._parts import joined, parts
from flows.backends.snowflake._switch import Pointers
from flows.backends.snowflake._tables import ModelTable, first_number
from flows.errors import VersionNotFoundError
from flows.records import LedgerEntry, Outcome

if TYPE_CHECKING:
    from flows.backends.snowflake._lock import Lease

logger = logging.getLogger(__name__)

PENDING = "pending"
"""STATE of a row whose switch may or may not have passed its commit point."""
ADDED_COLUMNS = {"STATE": "VARCHAR", "SWITCH": "VARCHAR"}
"""Columns the previous release's ledger lacks; ``setup`` adds them in place."""
SWITCHED = tuple(outcome.value for outcome in Outcome if outcome.switched_live)
"""The outcomes that moved the live version."""


def evidence_table(ledger_table: str) -> str:
    """The table of each entry's evidence, in parts of bounded size: ``<ledger>_EVIDENCE``."""
    return f"{ledger_table}_EVIDENCE"


def ledger_table_ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the ledger (run by setup, never by a read).

    ``EVIDENCE_BASE64`` is read for entries of earlier releases only; evidence is now
    written to :func:`evidence_table`, one row per part.
    """
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (ID NUMBER NOT NULL, MODEL_NAME VARCHAR NOT NULL, "
        "RECORDED_AT VARCHAR NOT NULL, OUTCOME VARCHAR NOT NULL, CHAMPION_VERSION VARCHAR, "
        "CHALLENGER_VERSION VARCHAR, LIVE_BEFORE VARCHAR, LIVE_AFTER VARCHAR, "
        "ENTRY VARCHAR NOT NULL, EVIDENCE_BASE64 VARCHAR, STATE VARCHAR, SWITCH VARCHAR)"
    )


def evidence_table_ddl(ledger_table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the evidence parts of ``ledger_table``'s entries."""
    return (
        f"CREATE TABLE IF NOT EXISTS {evidence_table(ledger_table)} (MODEL_NAME VARCHAR NOT NULL, "
        "ENTRY_ID NUMBER NOT NULL, PART NUMBER NOT NULL, EVIDENCE_BASE64 VARCHAR NOT NULL)"
    )


@dataclass(frozen=True)
class PendingSwitch:
    """A ledger row written before a switch whose completion was not recorded."""

    entry: LedgerEntry
    """The decision as recorded (its outcome is what the switch does when it commits)."""
    before: Pointers
    """The pointers before the switch: what an uncommitted switch is restored to."""
    target: Pointers
    """The pointers after the switch."""

    def committed(self, live: str | None) -> bool:
        """Whether the switch passed its commit point, judged by the live version now."""
        return live == self.target.live != self.before.live


def interrupted(entry: LedgerEntry, live: str | None, *, restored: str = "") -> LedgerEntry:
    """A pending entry whose switch did not commit, as it reads: failed, nothing switched."""
    return replace(
        entry,
        outcome=Outcome.FAILED,
        live_after=entry.live_before,
        reason=(
            f"{entry.reason} — not applied: interrupted before LIVE_VERSION moved "
            f"(live version {live}).{restored}"
        ),
    )


def in_flight(entry: LedgerEntry) -> LedgerEntry:
    """A pending entry read while its runner still holds the lock: under way, nothing switched yet."""
    return replace(
        entry,
        outcome=Outcome.IN_FLIGHT,
        live_after=entry.live_before,
        reason=f"{entry.reason} — in flight: LIVE_VERSION has not moved yet.",
    )


def not_applied(entry: LedgerEntry, exc: Exception) -> LedgerEntry:
    """The pending entry of a switch that failed before its commit point, as it is recorded."""
    return replace(
        entry,
        outcome=Outcome.FAILED,
        live_after=entry.live_before,
        reason=f"{entry.reason} — not applied: {exc}",
    )


class SnowflakeLedger(ModelTable):
    """The ledger rows of one model."""

    added_columns = tuple(ADDED_COLUMNS)

    def insert(
        self,
        entry: LedgerEntry,
        evidence: bytes | None,
        *,
        lease: Lease,
        switch: tuple[Pointers, Pointers] | None = None,
    ) -> LedgerEntry:
        """Append ``entry`` with the next id, stamped by the server's clock.

        ``switch`` (before, target) makes the row pending. The insert carries the
        lease: a runner that lost the lock inserts nothing and gets ``LockLostError``.
        """
        rows = self._sql(
            f"SELECT COALESCE(MAX(ID), 0) + 1 AS NEXT_ID, CURRENT_TIMESTAMP() AS NOW "
            f"FROM {self.table} WHERE MODEL_NAME = ?",
            [self.model_name],
        )
        entry = replace(
            entry,
            id=int(rows[0]["NEXT_ID"]),
            recorded_at=utc_text(rows[0]["NOW"]),
            has_evidence=evidence is not None,
        )
        if evidence is not None:
            self._store_evidence(entry.id, evidence, lease=lease)
        state, pointers = None, None
        if switch is not None:
            state = PENDING
            pointers = json.dumps({"before": switch[0].to_dict(), "target": switch[1].to_dict()})
        fence, fence_params = lease.condition()
        try:
            inserted = self._sql(
                f"INSERT INTO {self.table} (ID, MODEL_NAME, RECORDED_AT, OUTCOME, "
                "CHAMPION_VERSION, CHALLENGER_VERSION, LIVE_BEFORE, LIVE_AFTER, ENTRY, "
                "EVIDENCE_BASE64, STATE, SWITCH) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
                f"WHERE {fence} AND NOT EXISTS (SELECT 1 FROM {self.table} "
                "WHERE MODEL_NAME = ? AND ID = ?)",
                [
                    entry.id,
                    self.model_name,
                    entry.recorded_at,
                    entry.outcome.value,
                    entry.champion_version,
                    entry.challenger_version,
                    entry.live_before,
                    entry.live_after,
                    json.dumps(entry.to_dict()),
                    None,
                    state,
                    pointers,
                    *fence_params,
                    self.model_name,
                    entry.id,
                ],
            )
        except Exception:
            if not self._holds(entry):  # a lost reply may hide a successful insert
                raise
            return entry
        if not first_number(inserted):
            raise lease.lost()
        return entry

    def insert_end(self, entry: LedgerEntry, *, lease: Lease) -> LedgerEntry | None:
        """Append ``entry`` as its run attempt's end, unless the attempt has an entry already.

        The caller holds the lock, which every ledger writer takes and whose lease
        fences the insert: nothing can be inserted between the look and the insert.
        """
        rows = self.read_rows(
            f"SELECT ID, ENTRY, STATE FROM {self.table} WHERE MODEL_NAME = ? AND OUTCOME <> ?",
            [self.model_name, Outcome.STARTED.value],
        )
        if any(entry.same_attempt(_entry(row)) for row in rows or []):
            return None
        return self.insert(entry, None, lease=lease)

    def settle(self, entry: LedgerEntry, *, lease: Lease) -> LedgerEntry:
        """Make the row of ``entry`` final as ``entry`` says (completed, or failed).

        The row keeps its ``SWITCH``: what the switch aimed at stays readable.
        """
        fence, fence_params = lease.condition()
        updated = self._sql(
            f"UPDATE {self.table} SET OUTCOME = ?, LIVE_AFTER = ?, ENTRY = ?, STATE = NULL "
            f"WHERE MODEL_NAME = ? AND ID = ? AND {fence}",
            [
                entry.outcome.value,
                entry.live_after,
                json.dumps(entry.to_dict()),
                self.model_name,
                entry.id,
                *fence_params,
            ],
        )
        if not first_number(updated):
            raise lease.lost()
        return entry

    def pending(self) -> list[PendingSwitch]:
        """The rows whose switch was not settled, oldest first."""
        rows = self.read_rows(
            f"SELECT ID, ENTRY, SWITCH FROM {self.table} WHERE MODEL_NAME = ? AND STATE = ? "
            "ORDER BY ID",
            [self.model_name, PENDING],
        )
        return [_pending(row) for row in rows or []]

    def read(
        self,
        *,
        limit: int | None = None,
        live: Callable[[], str | None],
        held: Callable[[], bool],
        started: bool = False,
    ) -> list[LedgerEntry]:
        """Recorded decisions and ends, oldest first; pending rows read as what happened.

        ``live`` gives the live version and ``held`` whether a live holder has the
        lock; both are asked only when a pending row is read. A missing table
        (nothing recorded yet, or no setup) reads as an empty ledger.
        ``started`` reads the runs' ``started`` rows instead.
        """
        compare = "=" if started else "<>"
        query = (
            f"SELECT ID, ENTRY, STATE FROM {self.table} WHERE MODEL_NAME = ? "
            f"AND OUTCOME {compare} ? ORDER BY ID DESC"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        rows = self.read_rows(query, [self.model_name, Outcome.STARTED.value]) or []
        entries = []
        for row in reversed(rows):
            entry = _entry(row)
            if row["STATE"] == PENDING and (now := live()) != entry.live_after:
                entry = in_flight(entry) if held() else interrupted(entry, now)
            entries.append(entry)
        return entries

    def stray_commit(self, live: str | None) -> LedgerEntry | None:
        """The newest switch, if it was recorded failed yet ``live`` is the version it aimed at.

        Such a ``LIVE_VERSION`` was set by a runner that lost its lock after another
        run had settled its switch as failed: a write the ledger does not stand for.
        """
        rows = self.read_rows(
            f"SELECT ID, ENTRY, SWITCH, OUTCOME FROM {self.table} WHERE MODEL_NAME = ? "
            f"AND STATE IS NULL AND (SWITCH IS NOT NULL OR OUTCOME IN ({_marks(SWITCHED)})) "
            "ORDER BY ID DESC LIMIT 1",
            [self.model_name, *SWITCHED],
        )
        if not rows or rows[0]["OUTCOME"] != Outcome.FAILED.value or rows[0]["SWITCH"] is None:
            return None
        last = _pending(rows[0])
        return last.entry if last.target.live == live != last.entry.live_after else None

    def last_live(self) -> str | None:
        """The live version the newest completed switch left, as the ledger says."""
        rows = self.read_rows(
            f"SELECT LIVE_AFTER FROM {self.table} WHERE MODEL_NAME = ? AND STATE IS NULL "
            f"AND OUTCOME IN ({_marks(SWITCHED)}) ORDER BY ID DESC LIMIT 1",
            [self.model_name, *SWITCHED],
        )
        return rows[0]["LIVE_AFTER"] if rows else None

    def entry(self, entry_id: int | None) -> LedgerEntry | None:
        """Entry ``entry_id`` as settled, or None while it is pending (or missing)."""
        rows = self.read_rows(
            f"SELECT ID, ENTRY, STATE FROM {self.table} WHERE MODEL_NAME = ? AND ID = ?",
            [self.model_name, entry_id],
        )
        return _entry(rows[0]) if rows and rows[0]["STATE"] is None else None

    def evidence(self, entry_id: int, *, where: str) -> bytes | None:
        """The evidence stored with entry ``entry_id``; raises ``VersionNotFoundError``."""
        rows = self.read_rows(
            f"SELECT EVIDENCE_BASE64 FROM {self.table} WHERE MODEL_NAME = ? AND ID = ?",
            [self.model_name, int(entry_id)],
        )
        if not rows:
            raise VersionNotFoundError(f"The ledger of {where} has no entry {entry_id}.")
        text = rows[0]["EVIDENCE_BASE64"]  # entries of earlier releases
        if text is not None:
            return base64.b64decode(text)
        stored = self.read_rows(
            f"SELECT EVIDENCE_BASE64 FROM {evidence_table(self.table)} "
            "WHERE MODEL_NAME = ? AND ENTRY_ID = ? ORDER BY PART",
            [self.model_name, int(entry_id)],
        )
        return joined(row["EVIDENCE_BASE64"] for row in stored) if stored else None

    def _store_evidence(self, entry_id: int, evidence: bytes, *, lease: Lease) -> None:
        """Write the evidence of entry ``entry_id`` (replacing parts a lost insert left).

        Every statement carries the lease, like the ledger row: a runner that lost the
        lock writes no part and gets ``LockLostError``.
        """
        table = evidence_table(self.table)
        fence, fence_params = lease.condition()
        self._sql(
            f"DELETE FROM {table} WHERE MODEL_NAME = ? AND ENTRY_ID = ? AND {fence}",
            [self.model_name, entry_id, *fence_params],
        )
        for number, part in enumerate(parts(evidence)):
            inserted = self._sql(
                f"INSERT INTO {table} (MODEL_NAME, ENTRY_ID, PART, EVIDENCE_BASE64) "
                f"SELECT ?, ?, ?, ? WHERE {fence}",
                [self.model_name, entry_id, number, part, *fence_params],
            )
            if not first_number(inserted):
                raise lease.lost()

    def _holds(self, entry: LedgerEntry) -> bool:
        try:
            rows = self._sql(
                f"SELECT ENTRY FROM {self.table} WHERE MODEL_NAME = ? AND ID = ?",
                [self.model_name, entry.id],
            )
        except Exception:
            return False
        return bool(rows) and json.loads(rows[0]["ENTRY"])["recorded_at"] == entry.recorded_at


def utc_text(moment: Any) -> str:
    """A server timestamp (a datetime, or ISO text) as ISO-8601 UTC with microseconds."""
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def _entry(row: Any) -> LedgerEntry:
    return replace(LedgerEntry.from_dict(json.loads(row["ENTRY"])), id=int(row["ID"]))


def _pending(row: Any) -> PendingSwitch:
    pointers = json.loads(row["SWITCH"])
    return PendingSwitch(
        entry=_entry(row),
        before=Pointers.from_dict(pointers["before"]),
        target=Pointers.from_dict(pointers["target"]),
    )
