"""Opening a backend: the data source and the registry that one configuration names.

The flows receive a :class:`Backend` and never branch on which one it is. Each
backend is assembled (source, registry, session) in a module of this package, and
looked up in :data:`OPENERS`, the one map from backend name to opener, so the
Snowflake code is imported only when the Snowflake backend is asked for. That map is
the only place backend names are written: configuration, the CLI's ``--backend`` and
the flows' ``backend`` parameter all take their choices from it. The registry and
source modules know only their interfaces; nothing there builds a backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from flows.backends._mode import Mode as Mode
from flows.backends._mode import check_mode
from flows.errors import ConfigError
from flows.live.settings import LiveSettings

if TYPE_CHECKING:
    from flows.backends.registry import Registry
    from flows.backends.source import DataSource
    from flows.config import Settings
    from flows.cycle.evaluation import Evaluation
    from flows.cycle.stages import ChallengerRef, Cycle
    from flows.data.plan import CyclePlan
    from flows.live.score_log import ScoreLog


class WarehouseStages(Protocol):
    """Runs the cycle's heavy stages where the data lives, for a backend that can."""

    def retrain(self, cycle: Cycle, plan: CyclePlan) -> ChallengerRef:
        """Train the challenger where the data is; return its reference."""

    def evaluate(self, cycle: Cycle, plan: CyclePlan, challenger: ChallengerRef) -> Evaluation:
        """Score both models where the data is; return the evidence to judge."""

    def score_to_table(
        self, *, source: str, target: str, run_id: str, actor: str | None = None
    ) -> dict[str, Any]:
        """Score a table or query with the live version into a table, where the data is."""


@dataclass(frozen=True)
class Backend:
    """The pair every step works against, and where the heavy stages run."""

    source: DataSource
    registry: Registry
    warehouse: WarehouseStages | None = None
    """The stages run in the warehouse (Snowflake's ``compute = "warehouse"``); None runs
    them in this process."""
    protected: tuple[Path, ...] = ()
    """Local folders only the backend writes (the embedded home): no output goes inside."""
    score_log: ScoreLog | None = None
    """Where live scores and outcomes are kept (``flows.live.score_log``); every opener
    gives one, whatever ``[live] mode`` says, so a test under way can still be reviewed."""
    live: LiveSettings = field(default_factory=LiveSettings)
    """``[live]`` of the settings the backend was opened with: whether scoring logs."""

    def close(self) -> None:
        """Close both; idempotent."""
        self.registry.close()
        self.source.close()


LOCAL = "local"
"""The embedded backend: Parquet files and a SQLite registry under a home directory."""
SNOWFLAKE = "snowflake"
"""Snowpark tables and the Snowflake ML registry."""
OPENERS: dict[str, str] = {
    LOCAL: "flows.backends.local.backend:open_local_backend",
    SNOWFLAKE: "flows.backends.snowflake.backend:open_snowflake_backend",
}
"""Backend name → ``module:function`` that assembles it, imported only when asked for."""
BACKEND_NAMES: tuple[str, ...] = tuple(OPENERS)
"""Every backend name, the default first."""
DEFAULT_BACKEND = LOCAL
BackendName = Literal[BACKEND_NAMES]  # type: ignore[valid-type]
"""The annotation of a ``backend`` parameter (a flow's), its choices taken from :data:`OPENERS`."""


def score_log_mode(settings: Settings, mode: Mode) -> Mode:
    """The score log's mode: writable whenever ``[live]`` is on, else the backend's.

    Scoring opens a backend read-only, yet under a live test logging what it decided is
    part of scoring; the registry and the data stay read-only all the same.
    """
    return "write" if settings.live.on else mode


def check_backend(name: str) -> str:
    """``name`` itself when a backend of that name exists.

    Raises:
        ConfigError: ``Unknown registry backend 'x'. Valid backends are: local, snowflake.``
    """
    if name not in OPENERS:
        raise ConfigError(
            f"Unknown registry backend {name!r}. Valid backends are: {', '.join(BACKEND_NAMES)}."
        )
    return name


@contextmanager
def open_backend(settings: Settings, *, mode: Mode = "write", **options: Any) -> Iterator[Backend]:
    """Open the backend that ``settings.backend`` names, and close it afterwards.

    Args:
        settings: Resolved settings.
        mode: ``read`` opens an existing home and model only and never writes (no file,
            no table, no DDL), refusing a missing one in one line that names what exists;
            ``write`` creates what the registry needs before it writes. The same on
            every backend (``flows.backends._mode``).
        **options: Passed to the backend's opener (e.g. ``session=`` for Snowflake,
            to reuse the session a stored procedure receives).

    Raises:
        ModelNotFoundError: in read mode, if the home, schema or model does not exist.
    """
    module_name, _, attribute = OPENERS[check_backend(settings.backend)].partition(":")
    opener: Callable[..., Backend] = getattr(importlib.import_module(module_name), attribute)
    backend = opener(settings, mode=check_mode(mode), **options)
    try:
        yield backend
    finally:
        backend.close()
