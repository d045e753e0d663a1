"""Model registries with the Snowflake ML Registry's semantics.

``open_registry`` picks the backend by name; the flows never branch on it.
"""

from __future__ import annotations

from flows.registry.base import (
    LedgerEntry,
    ModelVersion,
    Outcome,
    Registry,
    RegistryStatus,
)

__all__ = ["LedgerEntry", "ModelVersion", "Outcome", "Registry", "RegistryStatus"]
