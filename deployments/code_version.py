"""Which code a deployment runs: the package version and the source checkout's git commit.

``prefect deploy`` runs :func:`code_version_step` as the build step of ``prefect.yaml``
and gives every deployment its result as ``version``; ``ccflows serve`` calls
:func:`deployment_version` itself. A weekly run stamps that version on every ledger
entry and decision report, so a decision names the code that made it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from flows.package_identity import package_version

UNKNOWN_PACKAGE = "0+unknown"
"""The package part when no distribution metadata is installed."""


def _git(folder: Path, *args: str) -> str | None:
    """``git -C folder args`` stripped, or None where there is no git or no repository."""
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def deployment_version(source: Path | None = None) -> str:
    """``<package version>+g<commit>`` (``.dirty`` when the checkout has changes), as PEP 440.

    Args:
        source: The checkout deployed from; defaults to the current folder. Without
            git, or outside a repository, the version is the package's alone.
    """
    folder = Path(source or Path.cwd())
    version = package_version() or UNKNOWN_PACKAGE
    commit = _git(folder, "rev-parse", "--short=12", "HEAD")
    if commit is None:
        return version
    dirty = ".dirty" if _git(folder, "status", "--porcelain", "--untracked-files=no") else ""
    return f"{version}{'.' if '+' in version else '+'}g{commit}{dirty}"


def code_version_step() -> dict[str, str]:
    """``prefect.yaml`` build step: ``{{ code-version.version }}`` is :func:`deployment_version`.

    ``{{ code-version.image_tag }}`` is the same as an image tag, which allows no ``+``.
    """
    version = deployment_version()
    return {"version": version, "image_tag": version.replace("+", "-")}
