"""A second opinion we did not write: the backend's plain SQL run by fakesnow.

fakesnow (DuckDB behind a Snowflake-compatible HTTP server) runs the statements of
the ledger, the lock and the row hashes exactly as the code sends them, through
real Snowpark sessions and the real connector, with ``?`` bindings (the sessions of
``snowpark_fakesnow.py``; the applications source runs there in ``test_source.py``).
The ML registry's statements (SHOW MODELS, ALTER MODEL …) are not emulated by
fakesnow; they stay with the recording session of ``test_registry.py``.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import numpy as np
import pytest
from snowflake.snowpark import Session

from flows.backends.snowflake._ledger import SnowflakeLedger, interrupted, ledger_table_ddl
from flows.backends.snowflake._lock import PromotionLock, lock_table_ddl
from flows.backends.snowflake._switch import Pointers
from flows.backends.snowflake._versions import RowHashes
from flows.errors import LockLostError, RegistryBusyError
from flows.records import Outcome
from tests.registry.contract import decision

pytest.importorskip("fakesnow")

DB = "CC_DB"
BEFORE = Pointers(
    champion="V_ONE", challenger="V_TWO", challenger_tag="V_TWO", default="V_ONE", live="V_ONE"
)
TARGET = Pointers(champion="V_TWO", default="V_TWO", live="V_TWO")


@pytest.fixture
def connect(fakesnow_warehouse, fakesnow_schema):
    """Open Snowpark sessions on one fresh schema (several = several runners)."""
    opened: list[Session] = []

    def open_one() -> Session:
        opened.append(fakesnow_warehouse.session(DB, fakesnow_schema))
        return opened[-1]

    open_one.schema = fakesnow_schema
    yield open_one
    for session in opened:
        fakesnow_warehouse.close(session)


def _sql(session: Session):
    return lambda query, params=None: session.sql(query, params=params).collect()


def _qualified(connect, table: str) -> str:
    return f"{DB}.{connect.schema}.{table}"


class TestLedgerOnFakesnow:
    def ledger(self, connect, session=None) -> SnowflakeLedger:
        table = _qualified(connect, "PROMOTION_LEDGER")
        return SnowflakeLedger(_sql(session or connect()), table=table, model_name="M")

    def test_fakesnow_reads_a_missing_ledger_as_empty(self, connect):
        assert self.ledger(connect).read(live=lambda: None) == []

    def test_fakesnow_keeps_a_pending_switch_and_settles_it(self, connect):
        ledger = self.ledger(connect)
        for statement in ledger_table_ddl(ledger.table):
            ledger._sql(statement)
        kept = ledger.insert(decision(Outcome.KEPT).stamped(), b"evidence")
        entry = decision(run_id="r1").stamped(live_before="V_ONE", live_after="V_TWO")
        pending = ledger.insert(entry, None, switch=(BEFORE, TARGET))
        assert (kept.id, pending.id) == (1, 2)
        (found,) = ledger.pending()
        assert (found.entry, found.before, found.target) == (pending, BEFORE, TARGET)
        # read next to LIVE_VERSION: committed reads as promoted, not committed as failed
        assert ledger.read(live=lambda: "V_TWO")[-1].outcome is Outcome.PROMOTED
        failed = ledger.read(live=lambda: "V_ONE")[-1]
        assert failed.outcome is Outcome.FAILED and failed.live_after == "V_ONE"
        ledger.settle(interrupted(pending, "V_ONE"))
        assert ledger.pending() == []
        assert ledger.read(live=lambda: "V_TWO")[-1].outcome is Outcome.FAILED  # now final
        assert ledger.evidence(kept.id, where="M") == b"evidence"
        assert [e.id for e in ledger.read(limit=1, live=lambda: None)] == [2]


class TestLockOnFakesnow:
    def lock(self, connect, session=None, **options) -> PromotionLock:
        table = _qualified(connect, "PROMOTION_LOCK")
        return PromotionLock(_sql(session or connect()), table=table, name="M", **options)

    def test_fakesnow_two_connections_racing_never_both_hold_the_lock(self, connect):
        """The second runner takes its whole turn just before each statement of the first.

        Statements run one at a time here: fakesnow's server shares one DuckDB connection
        and fails statements sent to it from two threads at once, so the race is played
        as every interleaving of one runner's acquire into the other's instead.
        """
        setup = connect()
        setup.sql(lock_table_ddl(_qualified(connect, "PROMOTION_LOCK"))).collect()
        first_session, second_session = connect(), connect()
        length = None
        position = 0
        while length is None or position <= length:
            setup.sql(f"DELETE FROM {_qualified(connect, 'PROMOTION_LOCK')}").collect()
            second = self.lock(connect, second_session, wait_seconds=0.0)
            sent: list[str] = []
            got: list[str] = []

            def run(query, params=None, *, at=position, second=second, sent=sent, got=got):
                if len(sent) == at:
                    with contextlib.suppress(RegistryBusyError):
                        got.append(second.acquire())
                sent.append(query)
                return first_session.sql(query, params=params).collect()

            first = PromotionLock(run, table=second.table, name="M", wait_seconds=0.0)
            with contextlib.suppress(RegistryBusyError):
                got.append(first.acquire())
            length = len(sent) if length is None else length
            rows = setup.sql(f"SELECT NAME, HOLDER FROM {second.table}").collect()
            assert len(rows) == 1, position  # the MERGE never makes a second row
            assert len(got) == 1 and rows[0]["HOLDER"] == got[0], position
            position += 1

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
    hashes._sql(hashes.ddl())
    values = np.array([1, 2**64 - 1, 42], dtype="<u8")
    hashes.store("V1", values)
    hashes.store("V1", values[:1])  # a retry of the same version changes nothing
    np.testing.assert_array_equal(hashes.read("V1"), values)
    assert hashes._sql(f"SELECT COUNT(*) AS N FROM {hashes.table}")[0]["N"] == 1


def test_fakesnow_pending_entries_carry_the_whole_decision(connect):
    """What a later run needs to settle a switch survives the round trip through the table."""
    ledger = SnowflakeLedger(_sql(connect()), table=_qualified(connect, "L"), model_name="M")
    for statement in ledger_table_ddl(ledger.table):
        ledger._sql(statement)
    entry = replace(decision(), holdout_weeks=(16, 19), metrics={"champion": {"auc": 0.8}})
    pending = ledger.insert(
        entry.stamped(live_before="V_ONE", live_after="V_TWO"), None, switch=(BEFORE, TARGET)
    )
    assert ledger.pending()[0].entry == pending
