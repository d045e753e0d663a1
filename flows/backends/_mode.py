"""The two ways to open a backend: ``read`` (an existing home and model, nothing changed) or ``write``.

Both backends give the words the same meaning. Read mode refuses a home, a schema or a
model that does not exist, naming what exists instead, and never writes: no file, no
table, no DDL; a write asked of it raises :class:`~flows.errors.ReadModeError`. Write
mode creates what the registry needs to record (``Registry.setup``) before it writes.
"""

from __future__ import annotations

from typing import Literal, get_args

from flows.errors import ConfigError, ReadModeError

Mode = Literal["read", "write"]
"""How a backend, its registry and its source are opened."""
MODES: tuple[str, ...] = get_args(Mode)


def check_mode(mode: str) -> Mode:
    """``mode`` itself when it is one of :data:`MODES`.

    Raises:
        ConfigError: naming the mode given and the valid ones.
    """
    if mode not in MODES:
        raise ConfigError(f"Unknown backend mode {mode!r}. Valid modes are: {', '.join(MODES)}.")
    return mode  # type: ignore[return-value]


def refuse_in_read_mode(mode: Mode, what: str, where: object) -> None:
    """Raise :class:`ReadModeError` if ``mode`` is ``read``: ``what`` would write to ``where``."""
    if mode == "read":
        raise ReadModeError(f"{where} was opened read-only; nothing was changed ({what} refused).")
