"""The package archive the stored procedure imports: our packages and their entry points.

Snowflake puts a staged ``.zip`` import on ``sys.path``, so the procedure's handler
is imported from it by name; nothing is pickled, which sidesteps cloudpickle's
by-reference trap. Policies are found through entry points, which live in package
metadata rather than in code, so the archive also carries a ``.dist-info`` folder
with the distribution's ``entry_points.txt``; ``importlib.metadata`` reads it from
the zip like from any path entry. The archive is deterministic: the same sources
give the same bytes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import zipfile
from pathlib import Path
from typing import Final

DISTRIBUTION: Final = "champion-challenger"
_SUFFIXES: Final = (".py", ".sql", ".yaml")
"""Files shipped: modules and the package data pyproject.toml declares."""
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
    packages = (dist.read_text("top_level.txt") or "").split()
    info = f"{DISTRIBUTION.replace('-', '_')}-{dist.version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {dist.version}\n"
    target = Path(directory) / archive_name()
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in sorted(packages):
            root = _package_dir(package)
            for path in sorted(root.rglob("*")):
                if path.suffix in _SUFFIXES and "__pycache__" not in path.parts:
                    relative = path.relative_to(root.parent).as_posix()
                    _write(archive, relative, path.read_bytes())
        _write(archive, f"{info}/METADATA", metadata.encode())
        _write(
            archive, f"{info}/entry_points.txt", (dist.read_text("entry_points.txt") or "").encode()
        )
    return target


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"Package {package!r} of {DISTRIBUTION} cannot be found.")
    return Path(spec.origin).parent


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
