"""The Snowflake backend's promotion ledger: one row per decision, and the pending switch.

A switch of the live version is written twice. Before its first pointer statement
a ``pending`` row is inserted, holding the decision and the pointers before and
after the switch; once ``LIVE_VERSION`` has moved (the commit point) the row is
completed. A crash at any statement therefore leaves a row that, read next to the
``LIVE_VERSION`` tag, tells the truth: if the tag shows the row's new version the
switch happened, otherwise it did not. Readers interpret a pending row that way
(and issue no write); the next run that takes the lock settles it for good.
Evidence is stored base64-encoded.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from flows.backends.snowflake._parts import joined, parts
from flows.backends.snowflake._switch import Pointers
from flows.backends.snowflake._tables import ModelTable
from flows.errors import VersionNotFoundError
from flows.records import LedgerEntry, Outcome

logger = logging.getLogger(__name__)

PENDING = "pending"
"""STATE of a row whose switch may or may not have passed its commit point."""


def evidence_table(ledger_table: str) -> str:
    """The table of each entry's evidence, in parts of bounded size: ``<ledger>_EVIDENCE``."""
    return f"{ledger_table}_EVIDENCE"


def ledger_table_ddl(table: str) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` for the ledger and its evidence (setup, never a read).

    ``EVIDENCE_BASE64`` of the ledger is read for entries of earlier releases only; the
    evidence is written to :func:`evidence_table`, one row per part.
    """
    return [
        f"CREATE TABLE IF NOT EXISTS {table} (ID NUMBER NOT NULL, MODEL_NAME VARCHAR NOT NULL, "
        "RECORDED_AT VARCHAR NOT NULL, OUTCOME VARCHAR NOT NULL, CHAMPION_VERSION VARCHAR, "
        "CHALLENGER_VERSION VARCHAR, LIVE_BEFORE VARCHAR, LIVE_AFTER VARCHAR, "
        "ENTRY VARCHAR NOT NULL, EVIDENCE_BASE64 VARCHAR, STATE VARCHAR, SWITCH VARCHAR)",
        f"CREATE TABLE IF NOT EXISTS {evidence_table(table)} (MODEL_NAME VARCHAR NOT NULL, "
        "ENTRY_ID NUMBER NOT NULL, PART NUMBER NOT NULL, EVIDENCE_BASE64 VARCHAR NOT NULL)",
    ]


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


def interrupted(entry: LedgerEntry, live: str | None) -> LedgerEntry:
    """A pending entry whose switch did not commit, as it reads: failed, nothing switched."""
    return replace(
        entry,
        outcome=Outcome.FAILED,
        live_after=entry.live_before,
        reason=(
            f"{entry.reason} — not applied: interrupted before LIVE_VERSION moved "
            f"(live version {live})."
        ),
    )


class SnowflakeLedger(ModelTable):
    """The ledger rows of one model."""

    def insert(
        self,
        entry: LedgerEntry,
        evidence: bytes | None,
        *,
        switch: tuple[Pointers, Pointers] | None = None,
    ) -> LedgerEntry:
        """Append ``entry`` with the next id; ``switch`` (before, target) makes it pending.

        The caller holds the promotion lock, so ids are dense and unique.
        """
        rows = self._sql(
            f"SELECT COALESCE(MAX(ID), 0) + 1 AS NEXT_ID FROM {self.table} WHERE MODEL_NAME = ?",
            [self.model_name],
        )
        entry = replace(entry, id=int(rows[0]["NEXT_ID"]), has_evidence=evidence is not None)
        if evidence is not None:
            self._store_evidence(entry.id, evidence)
        state, pointers = None, None
        if switch is not None:
            state = PENDING
            pointers = json.dumps({"before": switch[0].to_dict(), "target": switch[1].to_dict()})
        try:
            self._sql(
                f"INSERT INTO {self.table} (ID, MODEL_NAME, RECORDED_AT, OUTCOME, "
                "CHAMPION_VERSION, CHALLENGER_VERSION, LIVE_BEFORE, LIVE_AFTER, ENTRY, "
                "EVIDENCE_BASE64, STATE, SWITCH) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ],
            )
        except Exception:
            if not self._holds(entry):  # a lost reply may hide a successful insert
                raise
        return entry

    def settle(self, entry: LedgerEntry) -> LedgerEntry:
        """Make the row of ``entry`` final as ``entry`` says (completed, or failed)."""
        self._sql(
            f"UPDATE {self.table} SET OUTCOME = ?, LIVE_AFTER = ?, ENTRY = ?, STATE = NULL, "
            "SWITCH = NULL WHERE MODEL_NAME = ? AND ID = ?",
            [
                entry.outcome.value,
                entry.live_after,
                json.dumps(entry.to_dict()),
                self.model_name,
                entry.id,
            ],
        )
        return entry

    def pending(self) -> list[PendingSwitch]:
        """The rows whose switch was not settled, oldest first."""
        rows = self._sql(
            f"SELECT ID, ENTRY, SWITCH FROM {self.table} WHERE MODEL_NAME = ? AND STATE = ? "
            "ORDER BY ID",
            [self.model_name, PENDING],
        )
        found = []
        for row in rows:
            pointers = json.loads(row["SWITCH"])
            found.append(
                PendingSwitch(
                    entry=_entry(row),
                    before=Pointers.from_dict(pointers["before"]),
                    target=Pointers.from_dict(pointers["target"]),
                )
            )
        return found

    def read(
        self, *, limit: int | None = None, live: Callable[[], str | None]
    ) -> list[LedgerEntry]:
        """Recorded decisions, oldest first; pending rows read as what happened.

        ``live`` gives the live version, asked only when a pending row is read. A
        missing table (nothing recorded yet, or no setup) reads as an empty ledger.
        """
        query = f"SELECT ID, ENTRY, STATE FROM {self.table} WHERE MODEL_NAME = ? ORDER BY ID DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        rows = self.rows_or_none(query, [self.model_name]) or []
        entries = []
        for row in reversed(rows):
            entry = _entry(row)
            if row["STATE"] == PENDING and (now := live()) != entry.live_after:
                entry = interrupted(entry, now)
            entries.append(entry)
        return entries

    def evidence(self, entry_id: int, *, where: str) -> bytes | None:
        """The evidence stored with entry ``entry_id``; raises ``VersionNotFoundError``."""
        rows = self.rows_or_none(
            f"SELECT EVIDENCE_BASE64 FROM {self.table} WHERE MODEL_NAME = ? AND ID = ?",
            [self.model_name, int(entry_id)],
        )
        if not rows:
            raise VersionNotFoundError(f"The ledger of {where} has no entry {entry_id}.")
        text = rows[0]["EVIDENCE_BASE64"]  # entries of earlier releases
        if text is not None:
            return base64.b64decode(text)
        stored = self.rows_or_none(
            f"SELECT EVIDENCE_BASE64 FROM {evidence_table(self.table)} "
            "WHERE MODEL_NAME = ? AND ENTRY_ID = ? ORDER BY PART",
            [self.model_name, int(entry_id)],
        )
        return joined(row["EVIDENCE_BASE64"] for row in stored) if stored else None

    def _store_evidence(self, entry_id: int, evidence: bytes) -> None:
        """Write the evidence of entry ``entry_id`` (replacing parts a lost insert left)."""
        table = evidence_table(self.table)
        self._sql(
            f"DELETE FROM {table} WHERE MODEL_NAME = ? AND ENTRY_ID = ?",
            [self.model_name, entry_id],
        )
        for number, part in enumerate(parts(evidence)):
            self._sql(
                f"INSERT INTO {table} (MODEL_NAME, ENTRY_ID, PART, EVIDENCE_BASE64) "
                "VALUES (?, ?, ?, ?)",
                [self.model_name, entry_id, number, part],
            )

    def _holds(self, entry: LedgerEntry) -> bool:
        try:
            rows = self._sql(
                f"SELECT ENTRY FROM {self.table} WHERE MODEL_NAME = ? AND ID = ?",
                [self.model_name, entry.id],
            )
        except Exception:
            return False
        return bool(rows) and json.loads(rows[0]["ENTRY"])["recorded_at"] == entry.recorded_at


def _entry(row: Any) -> LedgerEntry:
    return replace(LedgerEntry.from_dict(json.loads(row["ENTRY"])), id=int(row["ID"]))


def not_applied(entry: LedgerEntry, exc: Exception) -> LedgerEntry:
    """The pending entry of a switch that failed before its commit point, as it is recorded."""
    return replace(
        entry,
        outcome=Outcome.FAILED,
        live_after=entry.live_before,
        reason=f"{entry.reason} — not applied: {exc}",
    )
