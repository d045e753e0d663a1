"""Settling always finishes: a pending switch never wedges the registry, and repair shows the rest.

The wedge: a crash leaves a promotion half done (CHAMPION already on V_TWO,
LIVE_VERSION still on V_ONE), then the half-promoted V_TWO is deleted, as a
clean-up might (it is neither live nor default). Every write must still work, the
pending row must be closed as failed saying what could not be restored, and no
repair may name the deleted version.
"""

from __future__ import annotations

import pytest

from flows.backends import Backend
from flows.backends.snowflake._lock import LOCK_TTL_SECONDS
from flows.cycle import steps
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.conftest import BEFORE, MODEL, NEW, OLD, QUALIFIED, log
from tests.snowflake.faults import ProcessCrash

THIRD = "V_THREE"


def crash_before_default(session, registry) -> None:
    """Promote NEW over OLD and crash the process just before ``SET DEFAULT_VERSION``."""
    session.before(r"SET DEFAULT_VERSION", lambda: session.fail(crash=True))
    with pytest.raises(ProcessCrash):
        registry.promote_if_champion_is(OLD, NEW, decision())
    session.revive()
    session.advance(LOCK_TTL_SECONDS + 1)  # the dead runner's lock has expired


@pytest.fixture
def wedged(session, contest, fitted, data, make_registry):
    """The crash, then V_TWO deleted; V_THREE logged for the writes that need a version."""
    log(make_registry(), THIRD, fitted, data)
    crash_before_default(session, contest)
    assert session.pointers(MODEL)["CHAMPION"] == NEW
    session.sql(f"ALTER MODEL {QUALIFIED} DROP VERSION {NEW}").collect()
    return session


WRITES = {
    "set_challenger": lambda registry: registry.set_challenger(THIRD),
    "promotion": lambda registry: registry.promote_if_champion_is(OLD, THIRD, decision()),
    "append_ledger": lambda registry: registry.append_ledger(decision(Outcome.KEPT)),
    "record_failure": lambda registry: steps.record_failure(
        Backend(source=None, registry=registry), error="boom", run_id="r9", live_at_start=OLD
    ),
    "rollback": lambda registry: steps.rollback(
        Backend(source=None, registry=registry), to_version=THIRD, reason="test"
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_a_pending_switch_whose_version_was_deleted_blocks_no_write(wedged, make_registry, write):
    registry = make_registry()
    WRITES[write](registry)
    rows = wedged.rows("PROMOTION_LEDGER")
    assert all(row["STATE"] is None for row in rows)
    settled = registry.ledger()[1]  # the crashed promotion, after the bootstrap
    assert settled.outcome is Outcome.FAILED and settled.live_after == OLD
    assert f"not restored (version deleted): CHALLENGER={NEW}" in settled.reason
    pointers = wedged.pointers(MODEL)
    assert pointers["CHAMPION"] == pointers["default"] == pointers["LIVE_VERSION"]
    assert NEW not in pointers.values()
    assert registry.repair_plan().needed is False


def test_a_failure_is_recorded_even_when_settling_fails(wedged, make_registry):
    wedged.before(r"STATE = \?", lambda: wedged.fail())  # reading the pending rows fails
    entry = steps.record_failure(
        Backend(source=None, registry=make_registry()), error="boom", run_id="r9"
    )
    assert entry.outcome is Outcome.FAILED and entry.id == 3
    assert wedged.rows("PROMOTION_LEDGER")[-1]["OUTCOME"] == "failed"


def test_a_refused_restore_closes_the_row_and_names_only_what_is_left(
    session, contest, make_registry
):
    crash_before_default(session, contest)
    session.sql(f"ALTER MODEL {QUALIFIED} VERSION {OLD} SET ALIAS = PROD").collect()  # foreign
    registry = make_registry()
    registry.append_ledger(decision(Outcome.KEPT))
    settled = registry.ledger()[1]
    assert settled.outcome is Outcome.FAILED and "refused" in settled.reason
    # everything else was restored; only the refused statement is left to run
    left = settled.reason.split("to finish, run: ")[1]
    assert left == f"ALTER MODEL {QUALIFIED} VERSION {OLD} SET ALIAS = CHAMPION."
    assert all(row["STATE"] is None for row in session.rows("PROMOTION_LEDGER"))
    assert session.pointers(MODEL) == {**BEFORE, "CHAMPION": None}
    # once the foreign alias is gone, repair finishes the job
    plan = registry.repair_plan()
    assert [c.sql(QUALIFIED, "CC_DB.CC_SCHEMA") for c in plan.changes] == [left[:-1]]
    session.sql(f"ALTER MODEL {QUALIFIED} VERSION PROD UNSET ALIAS").collect()
    done = registry.repair()
    assert not done.refused
    assert session.pointers(MODEL) == BEFORE


def test_repair_shows_the_plan_and_changes_nothing_without_acting(session, contest, make_registry):
    crash_before_default(session, contest)
    registry = make_registry()
    mark = len(session.statements)
    plan = registry.repair_plan()
    assert not any(
        s.startswith(("ALTER", "INSERT", "UPDATE", "MERGE")) for s in session.sql_log(since=mark)
    )
    assert plan.settle == [
        "ledger entry #2: closed as failed (its switch did not commit); pointers restored to "
        "CHAMPION=V_ONE, CHALLENGER=V_TWO, CHALLENGER_VERSION=V_TWO, default=V_ONE, "
        "LIVE_VERSION=V_ONE"
    ]
    assert plan.target.describe() == BEFORE_TEXT
    registry.repair()
    assert session.pointers(MODEL) == BEFORE
    assert registry.ledger()[-1].outcome is Outcome.FAILED
    assert registry.repair_plan().needed is False


def test_repair_returns_live_version_to_what_the_ledger_records(session, contest, make_registry):
    """A LIVE_VERSION moved outside the ledger (by hand, or an older release) is shown, then undone."""
    session.sql(
        f"ALTER MODEL {QUALIFIED} SET TAG CC_DB.CC_SCHEMA.LIVE_VERSION = $${NEW}$$"
    ).collect()
    registry = make_registry()
    plan = registry.repair_plan()
    assert any(f"the ledger's last switch left {OLD}" in note for note in plan.notes)
    assert plan.changes[0].name == "LIVE_VERSION" and plan.changes[0].version == OLD
    registry.repair()
    assert session.pointers(MODEL) == BEFORE


BEFORE_TEXT = (
    f"CHAMPION={OLD}, CHALLENGER={NEW}, CHALLENGER_VERSION={NEW}, default={OLD}, LIVE_VERSION={OLD}"
)
