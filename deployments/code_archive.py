"""The package archive the stored procedure imports: our packages and their entry points.

Snowflake puts a staged ``.zip`` import on ``sys.path``, so the procedure's handler
is imported from it by name; nothing is pickled, which sidesteps cloudpickle's
by-reference trap. Policies are found through entry points, which live in package
metadata rather than in code, so the archive also carries a ``.dist-info`` folder
with the distribution's ``entry_points.txt``; ``importlib.metadata`` reads it from
the zip like from any path entry. The archive is deterministic: the same sources
give the same bytes. It carries its identity (the release and a hash of its files,
:mod:`flows.package_identity`) for the flow to check against its own before a
cycle runs in the warehouse.
"""

from __future__ import annotations

import importlib.metadata
import json
import zipfile
from pathlib import Path
from typing import Final

from flows.package_identity import DISTRIBUTION, IDENTITY_FILE, local_identity, shipped_files

_TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)


def archive_name() -> str:
    """``champion_challenger-<version>.zip``: what the procedure imports from the stage."""
    return f"champion_challenger-{importlib.metadata.version(DISTRIBUTION)}.zip"


def build_archive(directory: str | Path) -> Path:
    """Write the archive into ``directory`` (created if needed) and return its path.

    Raises:
        importlib.metadata.PackageNotFoundError: if the distribution is not installed.
    """
    dist = importlib.metadata.distribution(DISTRIBUTION)
    info = f"{DISTRIBUTION.replace('-', '_')}-{dist.version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {dist.version}\n"
    target = Path(directory) / archive_name()
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in shipped_files():
            _write(archive, name, path.read_bytes())
        _write(archive, f"{info}/METADATA", metadata.encode())
        identity = json.dumps(local_identity().to_dict(), sort_keys=True)
        _write(archive, f"{info}/{IDENTITY_FILE}", identity.encode())
        _write(
            archive, f"{info}/entry_points.txt", (dist.read_text("entry_points.txt") or "").encode()
        )
    return target


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
