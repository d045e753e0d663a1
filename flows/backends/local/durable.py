"""Crash-safe file writes, and the checkpoints where a crash must leave the home consistent.

A file is written under a temporary name in its own folder, fsynced and only then
renamed (or hard-linked, when it must not replace an existing file) into place, so
a reader sees the old file, the new file or no file, never a partial one.

The file writes here, a store's period files once written but not yet published, and
each registry transaction, before and after its COMMIT, pass a named :func:`checkpoint`. It does nothing unless a test has installed a hook
(:func:`set_checkpoint_hook`); the crash-safety tests install one that kills the
process with SIGKILL at a chosen point, exactly as an OOM kill or a power cut would.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

Checkpoint = Callable[[str], None]
"""A hook called with the name of each checkpoint reached."""

TEMPORARY_SUFFIX = ".tmp"

_hook: Checkpoint | None = None


def set_checkpoint_hook(hook: Checkpoint | None) -> Checkpoint | None:
    """Call ``hook`` at every checkpoint from now on (None: no hook); returns the previous one."""
    global _hook
    previous, _hook = _hook, hook
    return previous


def checkpoint(name: str) -> None:
    """A point where a crash must leave the home consistent: the installed hook sees ``name``."""
    if _hook is not None:
        _hook(name)


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
    checkpoint("file-temporary-written")
    try:
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    checkpoint("file-in-place")
    return hashlib.sha256(payload).hexdigest()


def write_unpublished(path: Path, payload: bytes) -> None:
    """Write and fsync ``path``, a file no reader looks at until a manifest names it.

    Faster than :func:`write_atomically` (no rename, no folder sync): the one atomic
    step is the manifest's, written after every such file is on disk.
    """
    with open(path, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block; writers wait.

    The lock is the operating system's (``flock``): it is released when the process
    ends, however it ends, so a killed writer never leaves it held.
    """
    import fcntl

    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


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
