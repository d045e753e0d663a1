"""Model registries with the Snowflake ML Registry's semantics.

``base`` holds the interface and its records; ``local`` and ``snowflake`` implement
it. ``flows.backends`` picks one by configuration, so the flows never branch on it.
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
