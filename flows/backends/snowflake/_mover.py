"""Moving the Snowflake model's pointers under a lease: forward, back, and settling what was left.

Every pointer statement is preceded by a renewal of the lease, so a runner that lost
its lock sends nothing more (the statement itself cannot carry a condition, so a
runner that stalls between its renewal and its statement may still send one; the
next locked run repairs that, see :meth:`PointerMover.reconcile`).

Restoring is best effort: each pointer is put back on its own, versions that no
longer exist are skipped, and a refused statement does not stop the others. Settling
a switch that a crashed run left pending therefore always finishes: the row is
closed as failed, saying what was and was not restored, and only what is left is
printed as repair SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from flows.backends.snowflake._ledger import SnowflakeLedger, interrupted
from flows.backends.snowflake._switch import (
    Change,
    Pointers,
    agreeing,
    existing_only,
    incomplete_error,
    missing_versions,
    plan_switch,
    restore_sql,
)
from flows.errors import LockLostError, SwitchFailedError

if TYPE_CHECKING:
    from flows.backends.snowflake._lock import Lease

logger = logging.getLogger(__name__)


class ModelPointers(Protocol):
    """What the mover needs of the registry: read the pointers, send one statement."""

    def snapshot(self) -> tuple[Pointers, set[str]]:
        """The pointers now, and the names of the versions that exist."""
        ...

    def run(self, change: Change) -> None:
        """Send ``change`` through the Snowflake ML client."""
        ...


@dataclass
class Restored:
    """What a best-effort restore did."""

    state: Pointers
    """The pointers as last known."""
    goal: Pointers
    """What they were restored towards (deleted versions left out)."""
    done: list[Change] = field(default_factory=list)
    """The statements that took effect."""
    refused: list[tuple[Change, Exception]] = field(default_factory=list)
    """The statements that failed, with why."""
    skipped: list[str] = field(default_factory=list)
    """``FIELD=VERSION`` of each pointer left out because its version no longer exists."""


class PointerMover:
    """The pointer statements of one run holding the lock.

    Args:
        model: Reads the pointers and sends the statements.
        lease: The lock as this run holds it; renewed before every statement.
        qualified_model: ``DB.SCHEMA.MODEL``, for messages and repair SQL.
        schema: ``DB.SCHEMA`` of the tags.
    """

    def __init__(
        self, model: ModelPointers, lease: Lease, *, qualified_model: str, schema: str
    ) -> None:
        self.model = model
        self.lease = lease
        self.qualified_model = qualified_model
        self.schema = schema
        self.current: Pointers | None = None
        """The pointers as :meth:`reconcile` left them (read under the lock)."""

    def send(self, change: Change) -> None:
        """Renew the lease, then send ``change``: a run that lost its lock sends nothing."""
        self.lease.renew()
        self.model.run(change)

    def switch(self, before: Pointers, target: Pointers, *, what: str) -> None:
        """Move the pointers from ``before`` to ``target``, ``LIVE_VERSION`` last.

        Before the commit point a failure restores ``before`` (best effort) and raises
        ``SwitchFailedError``, or ``PromotionIncompleteError`` with the SQL for what
        could not be restored; once ``LIVE_VERSION`` has moved nothing is undone.
        """
        state, in_flight = before, None
        try:
            for change in plan_switch(before, target):
                self.lease.renew()  # a run that lost its lock sends nothing more
                in_flight = change
                self.model.run(change)
                state, in_flight = change.applied_to(state), None
        except Exception as exc:
            if in_flight is not None and in_flight.is_commit and self._live_is(target.live):
                logger.warning("%s: the reply to the commit was lost, but it took effect.", what)
            else:
                step = in_flight.sql(self.qualified_model, self.schema) if in_flight else "the lock"
                logger.error(
                    "%s failed at `%s`: %s. Restoring %s.", what, step, exc, before.describe()
                )
                failed = f"{what} failed at `{step}` ({exc})"
                self.restore(before, state, in_flight, what=failed, cause=exc)
                raise SwitchFailedError(
                    f"{what} failed at `{step}`: {exc}. The previous pointers were restored "
                    f"({before.describe()}); nothing was switched."
                ) from exc
        logger.info("%s: done (%s).", what, target.describe())

    def restore(
        self,
        before: Pointers,
        believed: Pointers,
        in_flight: Change | None,
        *,
        what: str,
        cause: Exception | None = None,
    ) -> Restored:
        """Return the pointers to ``before`` (``LIVE_VERSION`` first), or raise with the repair.

        ``in_flight`` may or may not have taken effect, so the pointers are read back
        before anything is undone. Raises ``PromotionIncompleteError`` if the read, the
        lease or any statement failed, with the SQL for what is left.
        """
        try:
            self.lease.renew()
            pointers, existing = self.model.snapshot()
        except Exception as failure:
            raise self._incomplete(before, believed, in_flight, what, failure) from (
                cause or failure
            )
        restored = self.restore_best_effort(before, pointers, existing)
        if restored.refused:
            failure = restored.refused[0][1]
            raise self._incomplete(restored.goal, restored.state, None, what, failure) from (
                cause or failure
            )
        return restored

    def restore_best_effort(
        self, before: Pointers, current: Pointers, existing: set[str]
    ) -> Restored:
        """Put each pointer back on its own; skip deleted versions, carry on past refusals.

        Raises ``LockLostError`` (a run that lost its lock writes nothing more).
        """
        goal = existing_only(before, existing)
        restored = Restored(state=current, goal=goal, skipped=missing_versions(before, existing))
        for change in plan_switch(current, goal, commit_last=False):
            try:
                self.send(change)
            except LockLostError:
                raise
            except Exception as exc:
                logger.warning("Could not restore with `%s`: %s", self.sql(change), exc)
                restored.refused.append((change, exc))
                continue
            restored.done.append(change)
            restored.state = change.applied_to(restored.state)
        return restored

    def settle_pending(self, ledger: SnowflakeLedger) -> None:
        """Settle the switches a crashed run left pending: finished if committed, else undone.

        Always finishes unless the lease or the connection is lost: an uncommitted
        switch is restored as far as it can be and its row closed as failed, saying
        what was and was not restored.
        """
        for pending in ledger.pending():
            current, existing = self.model.snapshot()
            logger.warning("Settling ledger entry #%s, left pending.", pending.entry.id)
            if pending.committed(current.live):
                ledger.settle(pending.entry, lease=self.lease)
                continue
            note = ""
            if current.live == pending.before.live:
                note = self._describe(self.restore_best_effort(pending.before, current, existing))
            ledger.settle(interrupted(pending.entry, current.live, restored=note), lease=self.lease)

    def reconcile(self, ledger: SnowflakeLedger) -> Pointers:
        """Make the pointers agree again after a late statement; returns them as they are.

        A run that stalled between renewing its lease and sending a statement may send
        it after another run settled its switch. The commit itself, sent that late
        (``LIVE_VERSION`` on a switch the ledger records as failed), is undone; then
        CHAMPION and the default follow ``LIVE_VERSION``, and the challenger's alias and
        tag agree. Best effort: a refused statement is logged and skipped.
        """
        current, existing = self.model.snapshot()
        stray = ledger.stray_commit(current.live)
        wanted = current
        if stray is not None:
            logger.warning(
                "%s was set to %s after ledger entry #%s had been settled as failed (a run "
                "that had lost its lock); restoring %s.",
                "LIVE_VERSION",
                current.live,
                stray.id,
                stray.live_after,
            )
            wanted = Pointers(**{**current.to_dict(), "live": stray.live_after})
        target = agreeing(wanted, existing)
        if target == current:
            return current
        logger.warning(
            "Pointers disagree (%s); making them agree: %s.", current.describe(), target.describe()
        )
        restored = self.restore_best_effort(target, current, existing)
        if restored.refused:
            logger.warning("%s", self._describe(restored))
        return restored.state

    def _live_is(self, version: str | None) -> bool:
        try:
            return self.model.snapshot()[0].live == version
        except Exception:
            return False

    def sql(self, change: Change) -> str:
        """``change`` as the statement sent for it."""
        return change.sql(self.qualified_model, self.schema)

    def _describe(self, restored: Restored) -> str:
        """`` Restored: …; not restored: …; to finish, run: …`` for a settled row's reason."""
        parts = []
        if restored.done:
            parts.append(f"restored with {len(restored.done)} statement(s)")
        if restored.skipped:
            parts.append(f"not restored (version deleted): {', '.join(restored.skipped)}")
        if restored.refused:
            left = restore_sql(
                restored.state, restored.goal, model=self.qualified_model, schema=self.schema
            )
            refusals = "; ".join(f"`{self.sql(c)}`: {e}" for c, e in restored.refused)
            parts.append(f"not restored, refused: {refusals}; to finish, run: {'; '.join(left)}")
        return f" Pointers {'; '.join(parts)}." if parts else ""

    def _incomplete(
        self,
        before: Pointers,
        state: Pointers,
        in_flight: Change | None,
        what: str,
        failure: Exception,
    ) -> Exception:
        return incomplete_error(
            before,
            state,
            in_flight,
            what=what,
            failure=failure,
            model=self.qualified_model,
            schema=self.schema,
            lock_ttl_seconds=self.lease.lock.ttl_seconds,
        )
