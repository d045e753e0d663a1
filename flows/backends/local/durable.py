"""Crash-safe file writes, and the named crash points that prove them.

A file is written under a temporary name in its own folder, fsynced and only then
renamed (or hard-linked, when it must not replace an existing file) into place, so
a reader sees the old file, the new file or no file, never a partial one.

``CC_CRASH_AT=<point>`` makes the process kill itself with SIGKILL the first time
it reaches that point, exactly as an OOM kill or a power cut would; the crash-safety
tests sweep every point in :data:`CRASH_POINTS`. Unset, a point costs one lookup.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
from pathlib import Path

CRASH_ENV = "CC_CRASH_AT"
"""Environment variable naming the crash point at which to die (tests only)."""

CRASH_POINTS = (
    "file-temporary-written",
    "file-in-place",
    "version-uncommitted",
    "version-committed",
    "challenger-uncommitted",
    "switch-uncommitted",
    "switch-committed",
    "ledger-uncommitted",
)
"""Every named point: a file write, then each registry transaction before and after COMMIT."""

TEMPORARY_SUFFIX = ".tmp"


def crash_point(name: str) -> None:
    """Die here, without any cleanup, if ``CC_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def write_atomically(path: Path, payload: bytes, *, exclusive: bool = False) -> str:
    """Write ``payload`` to ``path`` all at once and return its SHA-256.

    Args:
        path: The destination; its folder must exist.
        payload: The complete content.
        exclusive: Refuse to replace an existing file (``FileExistsError``), atomically,
            so two writers of the same name cannot both succeed.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_SUFFIX}")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    crash_point("file-temporary-written")
    try:
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    crash_point("file-in-place")
    return hashlib.sha256(payload).hexdigest()


def remove_temporaries(folder: Path) -> None:
    """Delete the temporary files a killed writer left in ``folder``.

    Call it only while no other process can be writing there (the registry holds its
    write lock); a stray temporary file is harmless otherwise, never read.
    """
    for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (a power cut after it keeps the new name)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
