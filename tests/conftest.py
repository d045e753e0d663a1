"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _pip_install_into(project: Path, target: Path) -> Path:
    """Really pip-install ``project`` into ``target`` (not into the venv) and return ``target``.

    The project is copied first so the build's egg-info and build/ folders never land
    in the working tree; no index and no build isolation keep it offline.
    """
    source = target.with_name(f"{target.name}-src")
    shutil.copytree(project, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
        "--no-build-isolation", "--disable-pip-version-check", "--target", str(target), str(source),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"pip install of {project.name} failed:\n{result.stdout}\n{result.stderr}")
    return target


@pytest.fixture(scope="session")
def example_plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed example policy plugin (``minimum_lift``).

    Put it on ``sys.path`` (``monkeypatch.syspath_prepend``) or ``PYTHONPATH`` to make
    the policy discoverable through its real entry point.
    """
    project = REPO / "examples" / "ccpolicy-plugin-example"
    return _pip_install_into(project, tmp_path_factory.mktemp("example-plugin") / "site")


@pytest.fixture(scope="session")
def broken_plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding an installed plugin whose two policy entry points are broken."""
    project = REPO / "tests" / "resources" / "ccpolicy-broken-plugin"
    return _pip_install_into(project, tmp_path_factory.mktemp("broken-plugin") / "site")
