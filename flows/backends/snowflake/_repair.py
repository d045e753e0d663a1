"""Repairing a registry that disagrees with its ledger: the plan, and acting on it.

Every locked write already settles what crashed runs left pending and makes the
pointers agree with ``LIVE_VERSION``. What no write does on its own is move
``LIVE_VERSION`` itself back to what the ledger records (unless it was provably
set late by a runner that had lost its lock): an operator decides that, with
``ccflows snowflake repair``, which shows this plan and acts only with ``--yes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from flows.backends.snowflake._switch import (
    Change,
    Pointers,
    agreeing,
    existing_only,
    missing_versions,
    plan_switch,
)

if TYPE_CHECKING:
    from flows.backends.snowflake._ledger import SnowflakeLedger


@dataclass
class RepairPlan:
    """What a repair would do (or did): rows to settle, then pointer statements."""

    current: Pointers
    """The pointers as read."""
    target: Pointers
    """The pointers once repaired."""
    settle: list[str] = field(default_factory=list)
    """One line per pending ledger row: how it is settled."""
    changes: list[Change] = field(default_factory=list)
    """The pointer statements, ``LIVE_VERSION`` first."""
    notes: list[str] = field(default_factory=list)
    """What cannot be repaired, or why a pointer moves."""
    refused: list[str] = field(default_factory=list)
    """After acting: the statements that failed, with why."""
    statements: list[str] = field(default_factory=list)
    """``changes`` as the SQL sent for them."""

    @property
    def needed(self) -> bool:
        """Whether there is anything to do."""
        return bool(self.settle or self.changes)


def plan_repair(current: Pointers, existing: set[str], ledger: SnowflakeLedger) -> RepairPlan:
    """What a repair would do, from the pointers and the ledger (reads only)."""
    state, settle, live = current, [], None
    for pending in ledger.pending():
        if pending.committed(current.live):
            settle.append(f"ledger entry #{pending.entry.id}: completed (its switch committed)")
            live = pending.target.live
            continue
        line = f"ledger entry #{pending.entry.id}: closed as failed (its switch did not commit)"
        if current.live == pending.before.live:
            state = existing_only(pending.before, existing)
            line += f"; pointers restored to {state.describe()}"
            if missing := missing_versions(pending.before, existing):
                line += f" (deleted versions skipped: {', '.join(missing)})"
        settle.append(line)
    plan = target_of(state, existing, live or ledger.last_live())
    plan.current, plan.settle = current, settle
    return plan


def target_of(state: Pointers, existing: set[str], ledger_live: str | None) -> RepairPlan:
    """The pointers that agree with the ledger's live version, and the statements to get there."""
    notes = []
    live = state.live
    if ledger_live is not None and ledger_live != live:
        if ledger_live in existing:
            notes.append(
                f"LIVE_VERSION is {live}, but the ledger's last switch left {ledger_live}: "
                f"it goes back to {ledger_live}."
            )
            live = ledger_live
        else:
            notes.append(
                f"The ledger's last switch left {ledger_live}, which no longer exists; "
                f"LIVE_VERSION stays {live}."
            )
    target = existing_only(agreeing(replace(state, live=live), existing), existing)
    if missing := missing_versions(state, existing):
        notes.append(f"Pointers naming deleted versions are cleared: {', '.join(missing)}.")
    changes = plan_switch(state, target, commit_last=False)
    return RepairPlan(current=state, target=target, changes=changes, notes=notes)
