"""Packages depend one way (deployments → flows → ccpolicy), and registries know only their interface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports at run time, lazy imports included.

    Imports under ``if TYPE_CHECKING:`` name types for the reader and the type checker
    only; they are not dependencies, so they are left out.
    """
    modules: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(), filename=str(path))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
        pending.extend(ast.iter_child_nodes(node))
    return modules


def sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("flows", ("deployments",)), ("ccpolicy", ("flows", "deployments"))],
)
def test_no_package_imports_a_package_built_on_it(package, forbidden):
    offenders = {
        f"{path.relative_to(REPO)} imports {module}"
        for path in sources(package)
        for module in imported_modules(path)
        if module.split(".")[0] in forbidden
    }
    assert not offenders


def test_registries_and_sources_depend_only_on_their_interfaces():
    assembly = (
        "flows.backends",
        "flows.config",
        "flows.backends.snowflake.session",
        "flows.sources",
    )
    offenders = {
        f"{path.relative_to(REPO)} imports {module}"
        for path in sources("flows/registry")
        for module in imported_modules(path)
        if module.startswith(assembly)
    }
    offenders |= {
        f"{path.relative_to(REPO)} imports {module}"
        for path in sources("flows/sources")
        for module in imported_modules(path)
        if module.startswith(
            ("flows.backends", "flows.registry", "flows.backends.snowflake.session")
        )
    }
    assert not offenders


def test_no_source_file_is_over_500_lines():
    long = {
        f"{path.relative_to(REPO)}: {n} lines"
        for package in ("flows", "ccpolicy", "deployments")
        for path in sources(package)
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert not long
