"""Fixtures for the ccpolicy tests: evidence builders and fake installed distributions."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from ccpolicy import Evidence


def paired_scores(
    n: int, *, gain: float, seed: int, correlation: float = 0.7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two correlated binormal score vectors; the second separates better by ``gain``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    noise = rng.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]], size=n)
    champion = 0.8 * y + noise[:, 0]
    challenger = (0.8 + gain) * y + noise[:, 1]
    return y, champion, challenger


@pytest.fixture
def make_scores() -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``make_scores(n, gain=, seed=, correlation=)`` -> labels, champion and challenger scores."""
    return paired_scores


@pytest.fixture
def make_evidence() -> Callable[..., Evidence]:
    """Build Evidence from simulated paired scores; keyword arguments go to Evidence."""

    def build(n: int = 400, *, gain: float = 0.0, seed: int = 0, **context: object) -> Evidence:
        return Evidence(*paired_scores(n, gain=gain, seed=seed), **context)

    return build


class FakeDistribution(importlib.metadata.Distribution):
    """A distribution that exists only in memory: its metadata and entry points are given."""

    def __init__(self, name: str, version: str, entry_points: dict[str, str]) -> None:
        self._files = {
            "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            "entry_points.txt": "[ccpolicy.policies]\n"
            + "".join(f"{k} = {v}\n" for k, v in entry_points.items()),
        }

    def read_text(self, filename: str) -> str | None:
        return self._files.get(filename)

    def locate_file(self, path: str) -> Path:
        return Path(path)


@pytest.fixture
def fake_installed(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Replace the installed distributions with in-memory fakes, as pluggy's tests do.

    Call ``fake_installed(dists, module_attrs)``: ``dists`` are ``(name, version,
    {entry point name: target})`` triples; ``module_attrs`` become the objects of the
    importable module ``fake_policies`` that targets may point at.
    """

    def install(
        dists: list[tuple[str, str, dict[str, str]]], module_attrs: dict[str, object]
    ) -> None:
        module = types.ModuleType("fake_policies")
        vars(module).update(module_attrs)
        monkeypatch.setitem(sys.modules, "fake_policies", module)
        fakes = [FakeDistribution(*dist) for dist in dists]
        monkeypatch.setattr(importlib.metadata, "distributions", lambda **_: iter(fakes))

    return install


def bench_script(name: str) -> Iterator[types.ModuleType]:
    """Import ``bench/<name>.py`` as module ``name`` for a test module's lifetime (a fixture body)."""
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def run_documented_command(study: types.ModuleType, tmp_path: Path) -> str:
    """Run a study's ``main`` on a doc with its markers; check only the marked part changed."""
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{study.BEGIN}\nold table\n{study.END}\noutro\n", encoding="utf-8")
    assert study.main(["--replications", "3", "--output", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith(f"{study.END}\noutro\n")
    assert "old table" not in text
    return text
