"""The lease fences every write: a runner stalled past its lock's expiry at any statement.

The runner under test pauses just before one of its statements; meanwhile its lock
expires and another run takes it and records a decision (settling whatever the first
left pending). Then the first runner goes on. Whatever it sends late, after a third
run has taken the lock, the pointers agree with each other and with the ledger.
"""

from __future__ import annotations

import contextlib

import pytest

from flows.backends.snowflake._lock import LOCK_TTL_SECONDS
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.conftest import AFTER, BEFORE, MODEL, NEW, OLD, recording_session
from tests.snowflake.faults import ProcessCrash

OPERATIONS = {
    "promotion": lambda registry: registry.promote_if_champion_is(OLD, NEW, decision()),
    "set_challenger": lambda registry: registry.set_challenger(NEW),
    "append_ledger": lambda registry: registry.append_ledger(decision(Outcome.KEPT)),
}
START = {"promotion": "contest", "set_challenger": "logged", "append_ledger": "contest"}


def _prepared(session, logged_state, make_registry, operation: str) -> SnowflakeRegistry:
    session.restore(logged_state)
    if START[operation] == "contest":
        make_registry().set_challenger(NEW)
    return make_registry()


@pytest.fixture(scope="module")
def lengths(logged_state, snowflake_settings):
    """How many statements each operation sends from a fresh registry."""
    found = {}
    for operation in OPERATIONS:
        with pytest.MonkeyPatch.context() as patch:
            fake = recording_session(patch)
            fake.restore(logged_state)
            SnowflakeRegistry(fake, snowflake_settings, model_name=MODEL).setup()  # done once
            if START[operation] == "contest":
                SnowflakeRegistry(fake, snowflake_settings, model_name=MODEL).set_challenger(NEW)
            runner = SnowflakeRegistry(fake, snowflake_settings, model_name=MODEL)
            mark = len(fake.statements)
            OPERATIONS[operation](runner)
            found[operation] = len(fake.statements) - mark
    return found


def _agree(pointers: dict[str, str | None]) -> bool:
    return (
        pointers["CHAMPION"] == pointers["default"] == pointers["LIVE_VERSION"]
        and pointers["CHALLENGER"] == pointers["CHALLENGER_VERSION"]
    )


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_runner_stalled_past_its_lock_at_any_statement_leaves_pointers_and_ledger_agreeing(
    session, logged_state, make_registry, lengths, operation
):
    make_registry().setup()  # this process has set up: the operation sends no DDL
    for position in range(lengths[operation]):
        runner = _prepared(session, logged_state, make_registry, operation)
        other = make_registry()
        resumed = []

        def takeover(other=other, resumed=resumed) -> None:
            session.advance(LOCK_TTL_SECONDS + 1)  # the stalled runner's lock expires
            other.append_ledger(decision(Outcome.KEPT))
            resumed.append(len(session.statements))

        session.stall(position, takeover)
        with contextlib.suppress(
            Exception, ProcessCrash
        ):  # a runner that lost its lock stops, one way or another
            OPERATIONS[operation](runner)
        assert resumed, f"{operation} sent fewer than {position + 1} statements"
        session.revive()
        late = session.statements[resumed[0]].sql
        where = f"{operation} stalled before statement {position} ({late})"
        session.advance(LOCK_TTL_SECONDS + 1)
        follower = make_registry()
        follower.append_ledger(decision(Outcome.KEPT))  # the next locked run
        pointers = session.pointers(MODEL)
        assert _agree(pointers), f"{where}: {pointers}"
        if operation == "promotion":
            assert pointers in (BEFORE, AFTER), where
        assert all(row["STATE"] is None for row in session.rows("PROMOTION_LEDGER")), where
        switched = [e.live_after for e in follower.ledger() if e.outcome.switched_live]
        assert switched[-1] == pointers["LIVE_VERSION"], where
        assert follower.status().consistent, where


def test_a_stray_default_version_is_repaired_by_the_next_locked_run(
    session, contest, make_registry
):
    """The issue's reproduction: CHAMPION=V_ONE, LIVE=V_ONE, default=V_TWO after a late statement."""
    session.sql(f"ALTER MODEL CC_DB.CC_SCHEMA.{MODEL} SET DEFAULT_VERSION = {NEW}").collect()
    assert not make_registry().status().consistent
    make_registry().append_ledger(decision(Outcome.KEPT))
    assert session.pointers(MODEL) == BEFORE


def test_set_challenger_renews_the_lock_before_each_pointer(session, logged_state, make_registry):
    session.restore(logged_state)
    registry = make_registry()
    mark = len(session.statements)
    registry.set_challenger(NEW)
    sent = session.sql_log(since=mark)
    for index, statement in enumerate(sent):
        if statement.startswith("ALTER MODEL"):
            assert "SET EXPIRES_AT = DATEADD" in sent[index - 1], statement
