"""How a run begins and ends in the ledger: its ``started`` row, and its one end per attempt.

A Prefect run writes a ``started`` row (run id and attempt) before anything else;
every end of an attempt, whoever notices it (the cycle itself, an end hook, the next
cycle, the task graph's finalizer), goes through :func:`record_end`: record it unless
that attempt has an entry already, the look and the insert in one transaction. The
next cycle records late only the attempts whose ``started`` row is in its own ledger
(:func:`unended_starts`), so a run never lands in a ledger that never saw it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows.cycle.promotion import default_actor
from flows.records import LedgerEntry, Outcome

if TYPE_CHECKING:
    from flows.backends import Backend
    from flows.data.plan import CyclePlan


def record_start(
    backend: Backend, *, run_id: str, run_count: int | None, what: str, actor: str | None = None
) -> LedgerEntry:
    """Write the ``started`` row of attempt ``run_count`` of run ``run_id``.

    Args:
        what: What began, for the row's reason (e.g. ``"Weekly cycle credit_approval-weekly"``).
    """
    attempt = f" (attempt {run_count})" if run_count and run_count > 1 else ""
    entry = LedgerEntry(
        outcome=Outcome.STARTED,
        reason=f"{what} started{attempt}.",
        actor=actor or default_actor(),
        champion_version=backend.registry.live_version(),
        run_id=run_id,
        run_count=run_count,
    )
    return backend.registry.append_ledger(entry)


def record_failure(backend: Backend, **details: Any) -> LedgerEntry:
    """Record that a cycle failed, whatever is recorded already.

    ``details`` are :func:`failure_entry`'s (``error``, ``plan``, ``run_id``,
    ``live_at_start``, ...).
    """
    return backend.registry.append_ledger(failure_entry(backend, **details))


def failure_entry(
    backend: Backend,
    *,
    error: str,
    plan: CyclePlan | None = None,
    actor: str | None = None,
    run_id: str | None = None,
    run_count: int | None = None,
    live_at_start: str | None = None,
    what: str = "Cycle",
) -> LedgerEntry:
    """The entry saying a cycle (or ``what`` ran) failed; "champion untouched" only when true.

    The champion was touched if the live version differs from ``live_at_start`` (the
    one the run began with, when known) or if this run's own ledger entries switched it.
    """
    registry = backend.registry
    live = registry.live_version()
    switched = [
        entry
        for entry in registry.ledger()
        if run_id is not None and entry.run_id == run_id and entry.outcome.switched_live
    ]
    start = switched[0].live_before if switched else live_at_start
    if switched or (live_at_start is not None and live != live_at_start):
        reason = (
            f"{what} failed after the live version moved from {start} to {live} during this "
            f"run; that switch stands (see the ledger). {error}"
        )
    else:
        reason = f"{what} failed before a decision; champion untouched. {error}"
    return LedgerEntry(
        outcome=Outcome.FAILED,
        reason=reason,
        actor=actor or default_actor(),
        champion_version=live,
        data_week=plan.data_period if plan else None,
        plan=plan.to_dict() if plan else {},
        run_id=run_id,
        run_count=run_count,
    )


def record_end(
    backend: Backend,
    *,
    run_id: str,
    error: str,
    plan: CyclePlan | None = None,
    actor: str | None = None,
    run_count: int | None = None,
    what: str = "Cycle",
) -> LedgerEntry | None:
    """Record that attempt ``run_count`` of run ``run_id`` failed, unless it has an entry already.

    The one rule for a run's end, whoever notices it. An attempt that recorded its
    decision (a failed one included) is left as it is, so each attempt has exactly one
    ending entry, even when its own failure, its end hook and the next cycle race.

    Args:
        what: What ran, for the reason (``Cycle``, ``Rollback``, ``Bootstrap``).

    Returns:
        The entry recorded, or None when the attempt had one already.
    """
    entry = failure_entry(
        backend,
        error=error,
        plan=plan,
        actor=actor,
        run_id=run_id,
        run_count=run_count,
        what=what,
    )
    return backend.registry.append_end(entry)


def unended_starts(backend: Backend, *, lookback: int) -> list[LedgerEntry]:
    """The ``started`` rows, among the newest ``lookback``, whose attempt has no end here."""
    ended = backend.registry.ledger()
    return [
        start
        for start in backend.registry.ledger(started=True, limit=lookback)
        if not any(start.same_attempt(entry) for entry in ended)
    ]


def started_here(backend: Backend, *, run_id: str, run_count: int | None, lookback: int) -> bool:
    """Whether this ledger holds the ``started`` row of that attempt, among the newest ``lookback``."""
    starts = backend.registry.ledger(started=True, limit=lookback)
    return any(start.run_id == run_id and run_count in (None, start.run_count) for start in starts)
