"""The embedded backend's home directory: refused when missing, checked before it is written.

Only commands that create data (``ccflows generate``, the demo) create a home; every
other one opens an existing home, so a mistyped ``--home`` or ``--model-name`` is
named in one line instead of silently becoming a new, empty home.
"""

from __future__ import annotations

import os
from pathlib import Path

from flows.errors import ModelNotFoundError, RegistryError


def require_home(home: Path) -> None:
    """Refuse a home directory that does not exist, rather than create it.

    Raises:
        ModelNotFoundError: naming the directory and the command that creates one.
    """
    if not home.is_dir():
        raise ModelNotFoundError(
            f"no home directory {home}; `ccflows generate --home {home}` creates one with data"
        )


def ensure_writable(home: Path) -> None:
    """Create ``home`` if needed and check that files can be written there.

    Raises:
        RegistryError: naming the directory and how to choose another.
    """
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RegistryError(
            f"Home directory {home} is not writable ({exc.strerror}); "
            "choose another with --home or CC_HOME."
        ) from exc
