"""Opening a backend: the data source and the registry that one configuration names.

The flows receive a :class:`Backend` and never branch on which one it is. Each
backend is assembled (source, registry, session) in a module of this package, and
looked up in a name → opener map, so the Snowflake code is imported only when the
Snowflake backend is asked for. The registry and source modules know only their
interfaces; nothing there builds a backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.backends.registry import Registry
    from flows.backends.source import DataSource
    from flows.config import Settings


@dataclass(frozen=True)
class Backend:
    """The pair every step works against."""

    source: DataSource
    registry: Registry

    def close(self) -> None:
        """Close both; idempotent."""
        self.registry.close()
        self.source.close()


_OPENERS: dict[str, str] = {
    "local": "flows.backends.local.backend:open_local_backend",
    "snowflake": "flows.backends.snowflake.backend:open_snowflake_backend",
}


@contextmanager
def open_backend(settings: Settings, **options: Any) -> Iterator[Backend]:
    """Open the backend that ``settings.backend`` names, and close it afterwards.

    Args:
        settings: Resolved settings.
        **options: Passed to the backend's opener (e.g. ``session=`` for Snowflake,
            to reuse the session a stored procedure receives).
    """
    module_name, _, attribute = _OPENERS[settings.backend].partition(":")
    opener: Callable[..., Backend] = getattr(importlib.import_module(module_name), attribute)
    backend = opener(settings, **options)
    try:
        yield backend
    finally:
        backend.close()
