"""The package archive the procedure imports, tried in an environment shaped like Snowflake's."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deployments.code_archive import archive_name, build_archive
from deployments.snowflake_graph import PROCEDURE_PACKAGES

SITE_PACKAGES = Path(numpy.__file__).resolve().parents[1]
SNOWFLAKE_SIDE_MODULES = [
    "deployments.procedures",
    "flows.backends.snowflake.registry",
    "flows.backends.snowflake.source",
    "flows.backends.snowflake.session",
    "ccpolicy._builtin",
]
"""What the procedure imports inside Snowflake: its handler, the Snowflake backend, the policies."""


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return build_archive(tmp_path_factory.mktemp("archive"))


@pytest.fixture(scope="module")
def snowflake_like_site(tmp_path_factory) -> Path:
    """The venv's packages minus prefect and minus this project: what a procedure can import."""
    farm = tmp_path_factory.mktemp("site")
    for entry in SITE_PACKAGES.iterdir():
        name = entry.name.lower()
        if name.startswith(("prefect", "champion_challenger", "__editable__")) or name.endswith(
            ".pth"
        ):
            continue
        (farm / entry.name).symlink_to(entry)
    return farm


def test_the_archive_holds_the_packages_and_their_entry_points(archive):
    assert (
        archive.name
        == archive_name()
        == f"champion_challenger-{importlib.metadata.version('champion-challenger')}.zip"
    )
    names = zipfile.ZipFile(archive).namelist()
    assert {"deployments/procedures.py", "flows/cycle/steps.py", "ccpolicy/_builtin.py"} <= set(
        names
    )
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(archive).read(info).decode()
    assert "significance_margin = ccpolicy._builtin:SignificanceMargin" in text


def test_the_same_sources_give_the_same_bytes(archive, tmp_path):
    assert build_archive(tmp_path).read_bytes() == archive.read_bytes()


def _run_python(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_handler_and_the_policies_load_from_the_archive_without_prefect(
    archive, snowflake_like_site
):
    code = f"""
import importlib, json, sys
sys.path[:0] = [{str(archive)!r}, {str(snowflake_like_site)!r}]
try:
    import prefect
    has_prefect = True
except ModuleNotFoundError:
    has_prefect = False
for name in {SNOWFLAKE_SIDE_MODULES!r}:
    importlib.import_module(name)
import ccpolicy, deployments.procedures as procedures
policy = ccpolicy.load_policy("significance_margin", margin=0.0, alpha=0.05)
print(json.dumps({{
    "has_prefect": has_prefect,
    "handler_file": procedures.__file__,
    "policy_module_file": sys.modules[type(policy).__module__].__file__,
    "prefect_loaded": [m for m in sys.modules if m.split(".")[0] == "prefect"],
}}))
"""
    seen = _run_python(code)
    assert seen["has_prefect"] is False
    assert seen["handler_file"].startswith(str(archive))
    assert seen["policy_module_file"].startswith(str(archive))
    assert seen["prefect_loaded"] == []


def _requirement_closure(names: list[str]) -> set[str]:
    """Every distribution the declared packages pull in here (no extras), transitively."""
    seen: set[str] = set()
    stack = [canonicalize_name(n) for n in names]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                stack.append(canonicalize_name(requirement.name))
    return seen


def test_every_library_the_procedure_imports_comes_with_its_declared_packages():
    code = f"""
import importlib, json, sys
before = set(sys.modules)
for name in {SNOWFLAKE_SIDE_MODULES!r}:
    importlib.import_module(name)
print(json.dumps(sorted({{m.split(".")[0] for m in set(sys.modules) - before}})))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    top_level = json.loads(result.stdout.strip().splitlines()[-1])
    providers = importlib.metadata.packages_distributions()
    ours = {"flows", "ccpolicy", "deployments"}
    distributions = {
        canonicalize_name(dist)
        for module in top_level
        if module not in ours and module not in sys.stdlib_module_names
        for dist in providers.get(module, [])
    }
    declared = [pin.partition("==")[0] for pin in PROCEDURE_PACKAGES]
    assert distributions, "nothing third-party was imported: the check would be vacuous"
    assert distributions <= _requirement_closure(declared)
