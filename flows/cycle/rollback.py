"""Rolling back: the previous champion (or a named version) live again, as a compare-and-set.

Listed in ``flows.cycle.steps`` with the other steps; its body lives here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flows.cycle.promotion import default_actor, switch_live
from flows.errors import AlreadyLiveError, NoChampionError
from flows.records import LedgerEntry, Outcome

if TYPE_CHECKING:
    from flows.backends import Backend

logger = logging.getLogger(__name__)


def rollback(
    backend: Backend,
    *,
    to_version: str | None = None,
    if_live: str | None = None,
    reason: str = "",
    actor: str | None = None,
    run_id: str | None = None,
) -> LedgerEntry:
    """Make the previous champion (or ``to_version``) live again, as a compare-and-set.

    The previous champion is the one the live version replaced, walking back past
    earlier rollbacks (:meth:`Registry.previous_champion`), so rolling back twice
    undoes two promotions. The target's artifact is checked before anything switches.

    Args:
        to_version: The version to make live; defaults to the previous champion.
        if_live: Act only while this version is live; defaults to the version live now.
            If another version is live, nothing changes and the ledger records the
            refusal (``Outcome.STALE_CHAMPION``) naming both.
        reason: Why, recorded in the ledger.
        actor: Who, recorded in the ledger; defaults to :func:`default_actor`.
        run_id: The orchestrator run, if any.

    Returns:
        The recorded ledger entry (``ROLLED_BACK``, or ``STALE_CHAMPION`` if it lost).

    Raises:
        NoChampionError: if nothing is live, or there is no earlier champion to return to.
        AlreadyLiveError: if the target is the live version (nothing is recorded).
        VersionNotFoundError: if the target is not a version of the model.
        ArtifactIntegrityError: if the target's artifact is missing or altered.
    """
    registry = backend.registry
    live = registry.live_version()
    if live is None:
        raise NoChampionError(f"Model {registry.model_name} has no live version to roll back from.")
    if to_version is not None:
        registry.get_version(to_version)
    actor = actor or default_actor()
    if if_live is not None and if_live != live:
        return _refuse_stale_rollback(
            backend, expected=if_live, live=live, target=to_version, actor=actor, run_id=run_id
        )
    target = to_version or registry.previous_champion()
    if target is None:
        raise NoChampionError(
            f"Model {registry.model_name} has no earlier champion in the ledger to roll back "
            f"to from {live}; name a version with --to."
        )
    if target == live:
        raise AlreadyLiveError(
            f"Version {target} is already live; nothing to roll back.", version=target
        )
    entry = LedgerEntry(
        outcome=Outcome.ROLLED_BACK,
        reason=f"Rolled back from {live} to {target}" + (f": {reason}" if reason else "."),
        actor=actor,
        champion_version=live,
        challenger_version=target,
        run_id=run_id,
    )
    recorded = switch_live(registry, live, target, entry)
    logger.info("%s", recorded.reason)
    return recorded


def _refuse_stale_rollback(
    backend: Backend,
    *,
    expected: str,
    live: str,
    target: str | None,
    actor: str,
    run_id: str | None,
) -> LedgerEntry:
    """Record a rollback guarded by ``expected`` that found ``live`` instead; nothing moves."""
    towards = f" to {target}" if target else ""
    entry = LedgerEntry(
        outcome=Outcome.STALE_CHAMPION,
        reason=(
            f"Rollback{towards} not applied: it was to act only while {expected} was live, "
            f"but the live version is {live} (another run switched it first); nothing changed."
        ),
        actor=actor,
        champion_version=expected,
        challenger_version=target,
        run_id=run_id,
    )
    recorded = backend.registry.append_ledger(entry)
    logger.warning("%s", recorded.reason)
    return recorded
