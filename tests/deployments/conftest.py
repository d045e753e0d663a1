"""Fixtures of the task-graph tests: the project's prefect.yaml, settings, a prepared embedded home."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deployments.snowflake_graph import GraphOptions, TaskGraph, load_graph
from flows.backends import open_backend
from flows.config import Settings, load_settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"
GOLDEN = Path(__file__).resolve().parent / "golden" / "graph.sql"
GOLDEN_OPTIONS = GraphOptions(warehouse="COMPUTE_WH")
"""The golden script's options: the quickstart's warehouse, every other default."""
FAST = {"n_estimators": 15}


def golden_graph(tmp_path: Path) -> TaskGraph:
    """The graph the golden script is rendered from: this project's prefect.yaml, default settings."""
    return load_graph(PREFECT_YAML, settings=Settings(home=tmp_path), options=GOLDEN_OPTIONS)


def _toml_table(name: str, spec: dict) -> str:
    lines = [f"[{name}]", f"estimator = {json.dumps(spec['estimator'])}", f"[{name}.params]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in spec["params"].items()]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def prepared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded home with the quickstart's data and a live champion (fast forests).

    Its config.toml makes champion and challenger small forests, so both the Prefect
    flow (through load_settings) and the task graph (through its CONFIG) train them.
    Copy it (``copy_home``) before changing it.
    """
    home = tmp_path_factory.mktemp("prepared") / "home"
    home.mkdir()
    specs = {
        "champion": {**CHAMPION_SPEC.to_dict(), "params": {**CHAMPION_SPEC.params, **FAST}},
        "challenger": {**CHALLENGER_SPEC.to_dict(), "params": {**CHALLENGER_SPEC.params, **FAST}},
    }
    (home / "config.toml").write_text(
        "\n\n".join(_toml_table(name, spec) for name, spec in specs.items()) + "\n"
    )
    settings = load_settings(home=home)
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec())
        steps.train_champion(backend, settings, actor="tester")
    return home


@pytest.fixture
def copy_home(prepared_home: Path, tmp_path: Path):
    """A fresh copy of the prepared home per call: ``copy_home("a")``."""

    def copy(name: str) -> Path:
        return Path(shutil.copytree(prepared_home, tmp_path / name))

    return copy
