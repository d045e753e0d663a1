"""One run at a time writes to a model's registry, on every path a run can take.

The weekly, bootstrap, rollback and review flows each hold the slot of the global concurrency
limit ``cc-registry-<MODEL>`` (limit 1) from before their first ledger write to their
end, whether a worker, ``ccflows serve`` or the CLI runs them, in whichever work pool.
A run that finds the slot taken waits for it, Running, and says so in its log.

The slot is a lease that the holding process renews: a run whose process dies frees
it within :data:`LEASE_SECONDS`, without waiting for anybody to mark the run Crashed.
``ccflows deploy`` creates the limit; a flow that finds it missing creates it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

LIMIT_PREFIX = "cc-registry-"
"""The limit of model ``M`` is named ``cc-registry-M``."""
LEASE_SECONDS = 60
"""How long a slot outlives its holder's last renewal (Prefect's minimum)."""

logger = logging.getLogger(__name__)


def limit_name(model_name: str) -> str:
    """The global concurrency limit that guards ``model_name``'s registry."""
    return f"{LIMIT_PREFIX}{model_name}"


def ensure_registry_limit(model_name: str) -> bool:
    """Create the limit of ``model_name`` (one slot) if it is missing; returns whether it was."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = limit_name(model_name)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return False
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:  # created by another run meanwhile
            return False
    return True


def _is_busy(name: str) -> bool:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(name)
    return limit.active_slots >= limit.limit


@contextmanager
def registry_slot(model_name: str) -> Iterator[None]:
    """Hold ``model_name``'s registry slot for the block, waiting for it if another run has it.

    A lease renewal that fails (the API briefly away) does not stop the run: the
    registry's compare-and-set still keeps two runs from switching over each other.
    """
    from prefect.concurrency.sync import concurrency

    name = limit_name(model_name)
    if ensure_registry_limit(model_name):
        logger.info("Created the concurrency limit %s (one run at a time)", name)
    if _is_busy(name):
        logger.info("Waiting for %s: another run is writing to %s's registry", name, model_name)
    with concurrency(
        name,
        occupy=1,
        strict=True,
        lease_duration=LEASE_SECONDS,
        raise_on_lease_renewal_failure=False,
    ):
        yield
