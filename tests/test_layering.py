"""The layering rules of DESIGN.md, read from the source: who imports whom, and who opens the stores.

Packages depend one way (deployments → flows → ccpolicy); inside ``flows`` the data
room is a leaf, prefect is imported at module level by the orchestration and the CLI
only, registries and sources know only their interfaces, and nothing outside the
cycle and the backends reaches a registry or a data source but through
``flows.cycle.steps``. Imports inside functions count like the others; imports under
``if TYPE_CHECKING:`` do not (they are read by the type checker only).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("flows", "ccpolicy", "deployments")
"""The product's packages."""


# -- reading the source ------------------------------------------------------------------


def sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _walk(tree: ast.AST, *, into_functions: bool = True) -> Iterator[ast.AST]:
    """Every node, skipping ``if TYPE_CHECKING:`` bodies (and function bodies if asked)."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        if not into_functions and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


def imports_of(tree: ast.Module, module: str, *, lazy: bool = True) -> set[str]:
    """The modules ``module`` imports at run time: lazy ones too unless ``lazy`` is false.

    ``from a import b`` names ``a.b`` when that is a module of ours, else ``a``;
    relative imports are resolved against ``module``'s package.
    """
    found: set[str] = set()
    for node in _walk(tree, into_functions=lazy):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return found


MODULES: dict[str, Path] = {module_name(p): p for pkg in PACKAGES for p in sources(pkg)}
IMPORTS: dict[str, set[str]] = {
    name: imports_of(_tree(path), name) for name, path in MODULES.items()
}


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def offenders(importers: Callable[[str], bool], forbidden: tuple[str, ...]) -> set[str]:
    """``<module> imports <module>`` for each importer that imports a forbidden module."""
    return {
        f"{name} imports {imported}"
        for name, imported_set in IMPORTS.items()
        if importers(name)
        for imported in imported_set
        if _under(imported, *forbidden)
    }


def within(*rooms: str) -> Callable[[str], bool]:
    return lambda name: _under(name, *rooms)


# -- the collector itself ----------------------------------------------------------------


def test_imports_inside_functions_count_and_type_checking_ones_do_not():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from flows.config import Settings\n"
        "def f():\n    from flows.cycle import steps\n    import prefect\n"
        "from . import names\n"
    )
    assert imports_of(tree, "flows.errors") == {
        "typing",
        "flows.cycle.steps",
        "prefect",
        "flows.names",
    }
    assert imports_of(tree, "flows.errors", lazy=False) == {"typing", "flows.names"}


# -- packages and rooms ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("importers", "forbidden"),
    [
        (("flows",), ("deployments",)),
        (("ccpolicy",), ("flows", "deployments")),
        (("flows.data",), ("flows.backends", "flows.cycle", "flows.orchestration", "flows.cli")),
        (("flows.backends", "flows.cycle", "flows.live"), ("flows.orchestration", "flows.cli")),
    ],
)
def test_no_module_imports_a_room_built_on_it(importers, forbidden):
    assert not offenders(within(*importers), forbidden)


def test_only_the_orchestration_and_the_cli_import_prefect_at_module_level():
    eager = {
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if not _under(name, "flows.orchestration", "flows.cli", "deployments")
        for imported in imports_of(_tree(path), name, lazy=False)
        if _under(imported, "prefect")
    }
    assert not eager


STORES = tuple(
    f"flows.backends.{backend}.{part}"
    for backend in ("local", "snowflake")
    for part in (
        "registry",
        "source",
        "_artifacts",
        "_home",
        "durable",
        "_ledger",
        "_lock",
        "_pointers",
    )
) + tuple(f"flows.backends.snowflake.{part}" for part in ("_switch", "_tables", "_versions", "_ml"))
"""The registries, the sources and the pieces they are made of."""


def test_registries_and_sources_know_only_their_interfaces():
    assembly = ("flows.backends.local.backend", "flows.backends.snowflake.backend")
    assembly += ("flows.backends.snowflake.session", "flows.config")
    found = offenders(STORES.__contains__, assembly)
    found |= {  # the package itself is the assembly: Backend and open_backend
        f"{name} imports flows.backends"
        for name in STORES
        if "flows.backends" in IMPORTS.get(name, ())
    }
    registries = ("flows.backends.registry", *(n for n in STORES if n.endswith(".registry")))
    found |= offenders(lambda name: name.endswith(".source"), registries)
    assert not found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_our_modules_lazy_imports_included():
    graph = {name: {m for m in imported if m in MODULES} for name, imported in IMPORTS.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# -- one door to the stores ----------------------------------------------------------------


DOOR_KEEPERS = ("flows.cycle", "flows.live", "flows.backends")
"""The steps and their pieces (the live test's among them), and the backends themselves."""


def test_only_the_steps_and_the_backends_reach_a_registry_or_a_source():
    """Everyone else goes through ``flows.cycle.steps``: no ``x.registry``, no ``x.source``."""
    reached = {
        f"{name}:{node.lineno} uses .{node.attr}"
        for name, path in MODULES.items()
        if not _under(name, *DOOR_KEEPERS)
        for node in _walk(_tree(path))
        if isinstance(node, ast.Attribute) and node.attr in ("registry", "source")
    }
    reached |= offenders(
        lambda name: not _under(name, *DOOR_KEEPERS),
        ("flows.backends.registry", "flows.backends.source", *STORES),
    ) - {"flows.cli.pipeline_cmds imports flows.backends.local._home"}  # the home, not the store
    assert not reached


# -- one place for backend names, and short files -----------------------------------------


def _backend_name_uses(tree: ast.Module, names: set[str]) -> Iterator[ast.AST]:
    """Constants used as backend names: compared to or passed as a backend, in a Literal or a list of them."""

    def named(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and node.value in names

    def about_backend(node: ast.AST) -> bool:
        text = ast.unparse(node)
        return text == "backend" or text.endswith((".backend", "'backend'", '"backend"'))

    for node in _walk(tree):
        if isinstance(node, ast.Compare) and about_backend(node.left):
            yield from filter(named, node.comparators)
        elif isinstance(node, ast.keyword) and node.arg == "backend" and named(node.value):
            yield node.value
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and about_backend(key) and named(value):
                    yield value
        elif isinstance(node, ast.AnnAssign) and about_backend(node.target):
            yield from filter(named, [node.value] if node.value else [])
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("Literal"):
            yield from filter(named, ast.walk(node.slice))
        elif (
            isinstance(node, ast.Tuple | ast.List | ast.Set)
            and {n.value for n in node.elts if named(n)} == names
        ):
            yield node
    for function in _walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            signature = function.args
            pairs = [
                *zip(signature.args[::-1], signature.defaults[::-1], strict=False),
                *zip(signature.kwonlyargs, signature.kw_defaults, strict=True),
            ]
            for argument, default in pairs:
                if argument.arg == "backend" and default is not None and named(default):
                    yield default


def test_backend_names_are_written_in_the_map_only():
    from flows.backends import BACKEND_NAMES

    home = "flows.backends"
    written = {
        f"{name}:{node.lineno}"
        for name, path in MODULES.items()
        if name != home
        for node in _backend_name_uses(_tree(path), set(BACKEND_NAMES))
    }
    assert not written
    planted = [
        "BACKENDS = ('local', 'snowflake')",
        "if settings.backend == 'local': pass",
        "def flow(backend: Literal['local', 'snowflake'] = 'local', *, k=1): pass",
        "def run(*, backend='snowflake'): open(backend='local', config={'backend': 'local'})",
        "backend: str = 'local'",
        "snowflake = {'snowflake': 'a [snowflake] table', 'home': 'local'}",  # not backend names
    ]
    found = _backend_name_uses(ast.parse("\n".join(planted)), set(BACKEND_NAMES))
    assert sorted(node.lineno for node in found) == [1, 2, 3, 3, 3, 3, 4, 4, 4, 5]


def test_no_source_file_is_over_500_lines():
    long = {
        f"{path.relative_to(REPO)}: {n} lines"
        for folder in (*PACKAGES, "tests", "bench")
        for path in sources(folder)
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert not long
