"""A fault at every statement of every registry write, in four modes each.

The promotion has its own (``test_registry.py``); here the other writes: setting
the challenger, a ledger append, settling a crashed switch, and the restore that
follows a failed promotion. Each statement in turn fails without effect, takes
effect with its reply lost, takes the connection down, or kills the process. Then
the next run takes the lock: nothing stays pending, the pointers agree with each
other and with the ledger.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from flows.backends.snowflake._lock import LOCK_TTL_SECONDS
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.conftest import AFTER, BEFORE, MODEL, NEW, OLD, recording_session
from tests.snowflake.faults import ProcessCrash

MODES = ("fails", "lost reply", "connection dies", "process dies")


def _mode(mode: str) -> dict[str, bool]:
    return {
        "applied": mode == "lost reply",
        "then_dead": mode == "connection dies",
        "crash": mode == "process dies",
    }


def _crash_before_default(session, registry) -> None:
    session.before(r"SET DEFAULT_VERSION", lambda: session.fail(crash=True))
    with pytest.raises(ProcessCrash):
        registry.promote_if_champion_is(OLD, NEW, decision())
    session.revive()
    session.advance(LOCK_TTL_SECONDS + 1)


@dataclass(frozen=True)
class Write:
    """A registry write, the state it starts from, and the pointers it may leave."""

    prepare: Callable[[object, Callable[[], SnowflakeRegistry]], None]
    run: Callable[[object, SnowflakeRegistry, int, str], None]
    outcomes: tuple[dict[str, str | None], ...]


def _contest(session, make) -> None:
    make().set_challenger(NEW)


def _half_switched(session, make) -> None:
    _contest(session, make)
    _crash_before_default(session, make())


def _plain(call: Callable[[SnowflakeRegistry], object]):
    def run(session, registry, position, mode):
        session.fail(position, **_mode(mode))
        call(registry)

    return run


def _restore_fails(session, registry, position, mode):
    """The promotion fails at SET DEFAULT_VERSION; a second fault hits its restore."""

    def inject() -> None:
        session.fail(0)
        session.fail(position + 1, **_mode(mode))

    session.before(r"SET DEFAULT_VERSION", inject)
    registry.promote_if_champion_is(OLD, NEW, decision())


CHALLENGED = {**BEFORE}
UNCHALLENGED = {**BEFORE, "CHALLENGER": None, "CHALLENGER_VERSION": None}
WRITES = {
    "set_challenger": Write(
        prepare=lambda session, make: None,
        run=_plain(lambda registry: registry.set_challenger(NEW)),
        outcomes=(CHALLENGED, UNCHALLENGED),
    ),
    "append_ledger": Write(
        prepare=_contest,
        run=_plain(lambda registry: registry.append_ledger(decision(Outcome.KEPT))),
        outcomes=(BEFORE,),
    ),
    "settling": Write(
        prepare=_half_switched,
        run=_plain(lambda registry: registry.append_ledger(decision(Outcome.KEPT))),
        outcomes=(BEFORE,),
    ),
    "restore": Write(prepare=_contest, run=_restore_fails, outcomes=(BEFORE, AFTER)),
}


@pytest.fixture(scope="module")
def lengths(logged_state, snowflake_settings):
    """How many statements each write sends when nothing (more) fails."""
    found = {}
    for name, write in WRITES.items():
        with pytest.MonkeyPatch.context() as patch:
            fake = recording_session(patch)
            fake.restore(logged_state)

            def make(fake=fake) -> SnowflakeRegistry:
                return SnowflakeRegistry(fake, snowflake_settings, model_name=MODEL)

            make().setup()
            write.prepare(fake, make)
            mark = len(fake.statements)
            if name == "restore":  # count from the statement after the first failure
                fake.before(r"SET DEFAULT_VERSION", lambda fake=fake: fake.fail(0))
                with pytest.raises(Exception, match="restored"):
                    make().promote_if_champion_is(OLD, NEW, decision())
                sent = fake.sql_log(since=mark)
                mark += 1 + next(i for i, s in enumerate(sent) if "SET DEFAULT_VERSION" in s)
            else:
                write.run(fake, make(), 10**6, "fails")  # a fault that never comes
            found[name] = len(fake.statements) - mark
    return found


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(WRITES))
def test_a_fault_at_any_statement_of_a_write_leaves_the_registry_agreeing(
    session, logged_state, make_registry, lengths, name, mode
):
    write = WRITES[name]
    assert lengths[name] > 3
    make_registry().setup()
    for position in range(lengths[name]):
        session.restore(logged_state)
        write.prepare(session, make_registry)
        mark = len(session.statements)
        with contextlib.suppress(
            Exception, ProcessCrash
        ):  # every failure is the caller's to classify
            write.run(session, make_registry(), position, mode)
        where = f"{name}, {mode} at its statement {position}: "
        where += " | ".join(session.sql_log(since=mark)[position : position + 2])
        session.revive()
        session.advance(LOCK_TTL_SECONDS + 1)  # a dead runner's lock has expired
        follower = make_registry()
        follower.append_ledger(decision(Outcome.KEPT))  # the next run that takes the lock
        assert all(r["STATE"] is None for r in session.rows("PROMOTION_LEDGER")), where
        pointers = session.pointers(MODEL)
        assert pointers in write.outcomes, f"{where}: {pointers}"
        switched = [e.live_after for e in follower.ledger() if e.outcome.switched_live]
        assert switched[-1] == pointers["LIVE_VERSION"], where
