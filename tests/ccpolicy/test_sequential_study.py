"""A small, seeded version of bench/study_sequential.py: the error rate holds over repeated looks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "study_sequential.py"
REPLICATIONS = 200
UPPER = 21
"""Binomial(200, 0.05) exceeds 21 with probability below 0.0005."""


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("study_sequential", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.mark.parametrize("mode", ["shadow", "split"])
def test_an_aa_candidate_is_promoted_at_most_at_alpha_over_repeated_looks(study, mode) -> None:
    plan = study.Plan(mode, 400, (0.5,))
    summary = study.scenario(
        plan, gain=0.0, correlation=0.5, replications=REPLICATIONS, looks=4, seed=11
    )
    assert summary.sequential.promotions <= UPPER
    # The fixed test repeated at every look inflates the same error: the study can tell.
    assert summary.naive.promotions > summary.sequential.promotions + 5
    assert summary.mean_looks > 3.6  # an A/A test runs to the end unless it promotes


def test_the_documented_command_rewrites_only_the_marked_table(
    study, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(
        study, "PLANS", (study.Plan("shadow", 200, (0.5,)), study.Plan("split", 400, (0.5,)))
    )
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{study.BEGIN}\nold\n{study.END}\noutro\n", encoding="utf-8")
    assert study.main(["--replications", "3", "--output", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith(f"{study.END}\noutro\n")
    assert "old" not in text and "**Shadow** (paired evidence; max_rows 200" in text
    assert "| 0 (A/A: false promotion) | 0.5 |" in text and "3 simulated live tests" in text
