"""The tables as the previous release created them, for the upgrade tests.

Its ledger had no ``STATE`` and ``SWITCH``; its lock kept times from the client's
clock as text and seconds since the epoch.
"""

from __future__ import annotations

import json

from flows.records import Outcome
from tests.registry.contract import decision


def create_previous_tables(sql, schema: str) -> None:
    """Create the previous release's ledger and lock in ``schema``, with one row each."""
    sql(
        f"CREATE TABLE {schema}.PROMOTION_LEDGER (ID NUMBER NOT NULL, "
        "MODEL_NAME VARCHAR NOT NULL, RECORDED_AT VARCHAR NOT NULL, OUTCOME VARCHAR NOT NULL, "
        "CHAMPION_VERSION VARCHAR, CHALLENGER_VERSION VARCHAR, LIVE_BEFORE VARCHAR, "
        "LIVE_AFTER VARCHAR, ENTRY VARCHAR NOT NULL, EVIDENCE_BASE64 VARCHAR)",
        None,
    )
    sql(
        f"CREATE TABLE {schema}.PROMOTION_LOCK (NAME VARCHAR NOT NULL, "
        "HOLDER VARCHAR, ACQUIRED_AT VARCHAR, EXPIRES_AT NUMBER(38, 6))",
        None,
    )
    entry = decision(Outcome.BOOTSTRAPPED).stamped(live_after="V_ONE")
    entry_json = json.dumps({**entry.to_dict(), "id": 1})
    sql(
        f"INSERT INTO {schema}.PROMOTION_LEDGER (ID, MODEL_NAME, RECORDED_AT, OUTCOME, "
        "LIVE_AFTER, ENTRY) VALUES (1, ?, ?, ?, ?, ?)",
        ["CREDIT_APPROVAL", entry.recorded_at, entry.outcome.value, "V_ONE", entry_json],
    )
    sql(
        f"INSERT INTO {schema}.PROMOTION_LOCK (NAME, HOLDER, ACQUIRED_AT, EXPIRES_AT) "
        "VALUES (?, ?, ?, ?)",
        ["CREDIT_APPROVAL", "old-host:1:abc", "2026-01-01T00:00:00", 1767225600.0],
    )
