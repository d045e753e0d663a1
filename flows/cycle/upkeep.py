"""The registry's upkeep: its objects created ahead of use, and a switch that stopped half-way repaired.

Listed by :mod:`flows.cycle.steps` with the other operations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.errors import ConfigError

if TYPE_CHECKING:
    from flows.backends import Backend
    from flows.backends.snowflake._repair import RepairPlan


def setup(backend: Backend) -> list[str]:
    """Create what the registry needs to record, if missing; the statements that ran.

    Writes do it themselves before their first change; ``ccflows snowflake setup`` runs
    it ahead, so an operator can grant a role that only reads and writes rows afterwards.
    """
    return backend.registry.setup()


def repair(backend: Backend, *, act: bool = False) -> RepairPlan:
    """What would bring a registry back in line with its ledger; done only when ``act``.

    Only the Snowflake registry, whose switch is a sequence of statements, can disagree
    with its ledger; the embedded one switches in one transaction.

    Raises:
        ConfigError: for a registry that has nothing to repair by construction.
    """
    registry = backend.registry
    if not hasattr(registry, "repair_plan"):
        raise ConfigError(
            f"The {type(registry).__name__} switches its pointers and its ledger in one "
            "transaction; there is nothing to repair."
        )
    return registry.repair() if act else registry.repair_plan()
