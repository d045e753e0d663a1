"""``setup`` upgrades the previous release's tables in place, on fakesnow's SQL.

Before the upgrade a read names ``setup`` in one line; after it the old rows read
back, the lock works on the server's clock, and a second setup changes nothing.
"""

from __future__ import annotations

import pytest

from flows.backends.snowflake._ledger import SnowflakeLedger
from flows.backends.snowflake._lock import Lease, PromotionLock
from flows.backends.snowflake._setup import Location, setup
from flows.backends.snowflake._switch import Pointers
from flows.errors import SetupRequiredError
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.previous_release import create_previous_tables

pytest.importorskip("fakesnow")


@pytest.fixture
def old_schema(connect):
    """A schema whose ledger and lock the previous release created, and its location."""
    session = connect()
    schema = f"CC_DB.{connect.schema}"

    def sql(query, params=None):
        return session.sql(query, params=params).collect()

    create_previous_tables(sql, schema)
    location = Location(
        database="CC_DB",
        schema=connect.schema,
        ledger_table=f"{schema}.PROMOTION_LEDGER",
        lock_table=f"{schema}.PROMOTION_LOCK",
        hashes_table=f"{schema}.TRAIN_ROW_HASH_PARTS",
    )
    ledger = SnowflakeLedger(sql, table=location.ledger_table, model_name="CREDIT_APPROVAL")
    lock = PromotionLock(sql, table=location.lock_table, name="CREDIT_APPROVAL")
    return sql, location, ledger, lock


def test_fakesnow_reading_an_old_ledger_names_setup_in_one_line(old_schema):
    _, _, ledger, _ = old_schema
    with pytest.raises(SetupRequiredError, match="ccflows snowflake setup") as caught:
        ledger.read(live=lambda: None, held=lambda: False)
    assert "\n" not in str(caught.value) and "no column STATE" in str(caught.value)


def test_fakesnow_setup_upgrades_in_place_and_says_what_it_changed(old_schema):
    sql, location, ledger, lock = old_schema
    report = setup(sql, location)
    assert report.changes[:4] == [
        f"upgraded {location.ledger_table}: added columns STATE, SWITCH",
        f"upgraded {location.lock_table}: ACQUIRED_AT and EXPIRES_AT are TIMESTAMP_LTZ on the "
        "server's clock (any lock of the previous release was released)",
        f"created {location.ledger_table}_EVIDENCE",
        f"created {location.hashes_table}",
    ]
    (old,) = ledger.read(live=lambda: "V_ONE", held=lambda: False)
    assert old.outcome is Outcome.BOOTSTRAPPED and old.live_after == "V_ONE"
    lease = Lease(lock, lock.acquire())  # the old holder was released; times are the server's
    entry = decision().stamped(live_before="V_ONE", live_after="V_TWO")
    before, target = Pointers(live="V_ONE"), Pointers(live="V_TWO")
    pending = ledger.insert(entry, None, lease=lease, switch=(before, target))
    assert pending.id == 2 and [p.entry.id for p in ledger.pending()] == [2]


def test_fakesnow_setup_again_changes_nothing(old_schema):
    sql, location, _, _ = old_schema
    setup(sql, location)
    again = setup(sql, location)
    assert not any(s.startswith(("ALTER", "UPDATE", "CREATE TABLE")) for s in again.statements)
    assert all(c.endswith("unchanged") for c in again.changes[:4])


def test_fakesnow_setup_creates_what_is_missing(connect):
    session = connect()
    schema = f"CC_DB.{connect.schema}"
    location = Location("CC_DB", connect.schema, f"{schema}.L", f"{schema}.K", f"{schema}.H")
    report = setup(lambda q, p=None: session.sql(q, params=p).collect(), location)
    assert report.changes[:4] == [
        f"created {schema}.L",
        f"created {schema}.K",
        f"created {schema}.L_EVIDENCE",
        f"created {schema}.H",
    ]
