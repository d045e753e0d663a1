"""A small, seeded version of bench/study_sequential.py: the error rate holds over repeated looks."""

from __future__ import annotations

import pytest

from tests.ccpolicy.conftest import bench_script, run_documented_command

REPLICATIONS = 200
UPPER = 21
"""Binomial(200, 0.05) exceeds 21 with probability below 0.0005."""


@pytest.fixture(scope="module")
def study():
    yield from bench_script("study_sequential")


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
    text = run_documented_command(study, tmp_path)
    assert "**Shadow** (paired evidence; max_rows 200" in text
    assert "| 0 (A/A: false promotion) | 0.5 |" in text and "3 simulated live tests" in text
