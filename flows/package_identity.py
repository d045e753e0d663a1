"""Which code this is: the package's version and a hash of its shipped files.

The stage procedure imports the package from an archive on a stage; the flow that
calls it must run the same code, or a cycle would train with one release and judge
with another. Both sides compute the same identity from the same file list: the
archive builder writes it into the archive (:data:`IDENTITY_FILE` in the
``.dist-info`` folder), the procedure answers it, the flow compares.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

DISTRIBUTION: Final = "champion-challenger"
SHIPPED_SUFFIXES: Final = (".py", ".sql", ".yaml")
"""Files shipped: modules and the package data pyproject.toml declares."""
IDENTITY_FILE: Final = "ARCHIVE.json"
"""The archive's identity, beside its METADATA."""


@dataclass(frozen=True)
class PackageIdentity:
    """A release and the exact content of its shipped files."""

    version: str
    content_hash: str
    """SHA-256 over every shipped file's archive name and bytes, in name order."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the procedure's answer, the archive's file)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PackageIdentity:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["version"]), str(data["content_hash"]))


def shipped_files() -> Iterator[tuple[str, Path]]:
    """``(name in the archive, path)`` of every shipped file, in name order.

    Raises:
        importlib.metadata.PackageNotFoundError: if the distribution is not installed.
    """
    dist = importlib.metadata.distribution(DISTRIBUTION)
    for package in sorted((dist.read_text("top_level.txt") or "").split()):
        root = _package_dir(package)
        for path in sorted(root.rglob("*")):
            if path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts:
                yield path.relative_to(root.parent).as_posix(), path


def local_identity() -> PackageIdentity:
    """The identity of the code installed here, as the archive built from it would carry."""
    digest = hashlib.sha256()
    for name, path in shipped_files():
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return PackageIdentity(importlib.metadata.version(DISTRIBUTION), digest.hexdigest())


@cache
def package_version() -> str | None:
    """The installed release, for the ledger's provenance; None where no metadata is installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def running_identity() -> PackageIdentity:
    """The identity of the code running now: the archive's own file when imported from one."""
    text = importlib.metadata.distribution(DISTRIBUTION).read_text(IDENTITY_FILE)
    return PackageIdentity.from_dict(json.loads(text)) if text else local_identity()


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"Package {package!r} of {DISTRIBUTION} cannot be found.")
    return Path(spec.origin).parent
