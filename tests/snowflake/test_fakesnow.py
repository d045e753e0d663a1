"""A second opinion we did not write: the backend's plain SQL run by fakesnow.

fakesnow (DuckDB behind a Snowflake-compatible HTTP server) runs the statements of
the ledger, the lock and the row hashes exactly as the code sends them, through
real Snowpark sessions and the real connector, with ``?`` bindings (the sessions of
``snowpark_fakesnow.py``; the applications source runs there in ``test_source.py``).
The ML registry's statements (SHOW MODELS, ALTER MODEL …) are not emulated by
fakesnow; they stay with the recording session of ``test_registry.py``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from snowflake.snowpark import Session

from flows.backends.snowflake._ledger import (
    SnowflakeLedger,
    evidence_table,
    evidence_table_ddl,
    interrupted,
    ledger_table_ddl,
    utc_text,
)
from flows.backends.snowflake._lock import Lease, PromotionLock, lock_table_ddl
from flows.backends.snowflake._switch import Pointers
from flows.backends.snowflake._versions import RowHashes, hashes_table_ddl
from flows.errors import LockLostError, RegistryBusyError
from flows.records import Outcome
from tests.registry.contract import decision

pytest.importorskip("fakesnow")

DB = "CC_DB"
BEFORE = Pointers(
    champion="V_ONE", challenger="V_TWO", challenger_tag="V_TWO", default="V_ONE", live="V_ONE"
)
TARGET = Pointers(champion="V_TWO", default="V_TWO", live="V_TWO")


def _sql(session: Session):
    return lambda query, params=None: session.sql(query, params=params).collect()


def _qualified(connect, table: str) -> str:
    return f"{DB}.{connect.schema}.{table}"


class TestLedgerOnFakesnow:
    @pytest.fixture
    def ledger(self, connect) -> SnowflakeLedger:
        session = connect()
        ledger = SnowflakeLedger(
            _sql(session), table=_qualified(connect, "PROMOTION_LEDGER"), model_name="M"
        )
        ledger.lock = PromotionLock(
            _sql(session), table=_qualified(connect, "PROMOTION_LOCK"), name="M"
        )
        return ledger

    @staticmethod
    def ready(ledger) -> Lease:
        ledger._sql(ledger_table_ddl(ledger.table))
        ledger._sql(evidence_table_ddl(ledger.table))
        ledger._sql(lock_table_ddl(ledger.lock.table))
        return Lease(ledger.lock, ledger.lock.acquire())

    def test_fakesnow_reads_a_missing_ledger_as_empty(self, ledger):
        assert ledger.read(live=lambda: None, held=lambda: False) == []

    def test_fakesnow_keeps_a_pending_switch_and_settles_it(self, ledger):
        lease = self.ready(ledger)
        kept = ledger.insert(decision(Outcome.KEPT).stamped(), b"evidence", lease=lease)
        entry = decision(run_id="r1").stamped(live_before="V_ONE", live_after="V_TWO")
        pending = ledger.insert(entry, None, lease=lease, switch=(BEFORE, TARGET))
        assert (kept.id, pending.id) == (1, 2)
        (found,) = ledger.pending()
        assert (found.entry, found.before, found.target) == (pending, BEFORE, TARGET)
        # read next to LIVE_VERSION: committed reads as promoted; not committed, as in
        # flight while a live holder has the lock, and as failed once nobody does
        read = lambda live, held: ledger.read(live=lambda: live, held=lambda: held)[-1]  # noqa: E731
        assert read("V_TWO", True).outcome is Outcome.PROMOTED
        assert read("V_ONE", True).outcome is Outcome.IN_FLIGHT
        failed = read("V_ONE", False)
        assert failed.outcome is Outcome.FAILED and failed.live_after == "V_ONE"
        ledger.settle(interrupted(pending, "V_ONE"), lease=lease)
        assert ledger.pending() == []
        assert read("V_TWO", False).outcome is Outcome.FAILED  # now final
        assert ledger.evidence(kept.id, where="M") == b"evidence"
        assert [e.id for e in ledger.read(limit=1, live=lambda: None, held=lambda: False)] == [2]

    def test_fakesnow_rows_are_stamped_by_the_servers_clock(self, ledger):
        lease = self.ready(ledger)
        client_time = "1999-01-01T00:00:00.000000+00:00"  # a runner with a wrong clock
        entry = ledger.insert(replace(decision(), recorded_at=client_time), None, lease=lease)
        server = ledger._sql("SELECT CURRENT_TIMESTAMP() AS NOW")[0]["NOW"]
        assert entry.recorded_at[:10] == utc_text(server)[:10] != client_time[:10]
        stored = ledger._sql(f"SELECT RECORDED_AT FROM {ledger.table}")[0]["RECORDED_AT"]
        assert (
            stored == entry.recorded_at == ledger.read(live=lambda: None, held=bool)[0].recorded_at
        )

    def test_fakesnow_a_writer_that_lost_its_lock_writes_no_row(self, ledger, connect):
        lease = self.ready(ledger)
        ledger._sql(f"UPDATE {ledger.lock.table} SET HOLDER = 'thief'")
        with pytest.raises(LockLostError):
            ledger.insert(decision(), b"evidence", lease=lease)
        for table in (ledger.table, evidence_table(ledger.table)):
            assert ledger._sql(f"SELECT COUNT(*) AS N FROM {table}")[0]["N"] == 0

    def test_fakesnow_a_stale_writer_cannot_settle_a_row(self, ledger):
        lease = self.ready(ledger)
        entry = decision().stamped(live_before="V_ONE", live_after="V_TWO")
        pending = ledger.insert(entry, None, lease=lease, switch=(BEFORE, TARGET))
        ledger._sql(
            f"UPDATE {ledger.lock.table} SET EXPIRES_AT = DATEADD('second', -1, "
            "CURRENT_TIMESTAMP())"
        )  # expired: another run may take it any moment
        with pytest.raises(LockLostError):
            ledger.settle(pending, lease=lease)
        assert [p.entry.id for p in ledger.pending()] == [pending.id]


class TestLockOnFakesnow:
    def lock(self, connect, session=None, **options) -> PromotionLock:
        table = _qualified(connect, "PROMOTION_LOCK")
        return PromotionLock(_sql(session or connect()), table=table, name="M", **options)

    def test_fakesnow_a_held_lock_is_refused_with_its_holder_then_freed(self, connect):
        first, second = self.lock(connect), self.lock(connect, wait_seconds=0.0)
        first._sql(lock_table_ddl(first.table))
        holder = first.acquire()
        with pytest.raises(RegistryBusyError, match=f"held by {holder}") as caught:
            second.acquire()
        assert f"HOLDER = '{holder}'" in str(caught.value)  # the printed release statement
        first.release(holder)
        second.release(second.acquire())

    def test_fakesnow_expiry_is_read_on_the_servers_clock(self, connect):
        first, second = self.lock(connect), self.lock(connect, wait_seconds=0.0)
        first._sql(lock_table_ddl(first.table))
        crashed = first.acquire()
        first._sql(
            f"UPDATE {first.table} SET EXPIRES_AT = DATEADD('second', -1, CURRENT_TIMESTAMP())"
        )
        taker = second.acquire()  # no wait: the server says the lock has expired
        with pytest.raises(LockLostError, match="writes nothing more"):
            first.renew(crashed)
        second.renew(taker)

    def test_fakesnow_a_second_row_of_a_name_never_makes_two_holders(self, connect):
        first, second = self.lock(connect), self.lock(connect, wait_seconds=0.0)
        first._sql(lock_table_ddl(first.table))
        holder = first.acquire()
        first._sql(f"INSERT INTO {first.table} (NAME) VALUES (?)", ["M"])  # an old racing insert
        with pytest.raises(RegistryBusyError):
            second.acquire()
        rows = first._sql(f"SELECT HOLDER FROM {first.table} WHERE HOLDER IS NOT NULL")
        assert [row["HOLDER"] for row in rows] == [holder]


def test_fakesnow_row_hashes_are_stored_once_and_read_back(connect):
    hashes = RowHashes(
        _sql(connect()), table=_qualified(connect, "TRAIN_ROW_HASHES"), model_name="M"
    )
    assert hashes.read("V1") is None  # no table yet: a read needs no setup
    hashes._sql(hashes_table_ddl(hashes.table))
    values = np.array([1, 2**64 - 1, 42], dtype="<u8")
    hashes.store("V1", values)
    hashes.store("V1", values[:1])  # a retry of the same version changes nothing
    np.testing.assert_array_equal(hashes.read("V1"), values)
    assert hashes._sql(f"SELECT COUNT(*) AS N FROM {hashes.table}")[0]["N"] == 1


def test_fakesnow_pending_entries_carry_the_whole_decision(connect):
    """What a later run needs to settle a switch survives the round trip through the table."""
    session = connect()
    ledger = SnowflakeLedger(_sql(session), table=_qualified(connect, "L"), model_name="M")
    lock = PromotionLock(_sql(session), table=_qualified(connect, "K"), name="M")
    ledger._sql(ledger_table_ddl(ledger.table))
    lock._sql(lock_table_ddl(lock.table))
    entry = replace(decision(), holdout_weeks=(16, 19), metrics={"champion": {"auc": 0.8}})
    pending = ledger.insert(
        entry.stamped(live_before="V_ONE", live_after="V_TWO"),
        None,
        lease=Lease(lock, lock.acquire()),
        switch=(BEFORE, TARGET),
    )
    assert ledger.pending()[0].entry == pending
