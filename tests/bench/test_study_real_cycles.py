"""The decision-quality study's real mode: one tiny replication of every contest, for real."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import ccpolicy

BENCH = Path(__file__).resolve().parents[2] / "bench"
TINY = {"rows_per_week": 100, "truth_rows_per_week": 300}
"""Small enough to train every forest in a blink, big enough for two classes in every window."""


@pytest.fixture(scope="module")
def real():
    sys.path.insert(0, str(BENCH))  # the bench scripts import their siblings by name
    import study_real_cycles

    yield study_real_cycles
    sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def cycles(real):
    return real.real_cycles(real.CONTESTS, replications=1, seed=7, **TINY)


def test_every_contest_yields_evidence_on_the_hold_out_weeks(real, cycles) -> None:
    assert list(cycles) == list(real.CONTESTS)
    for contest, (cycle,) in cycles.items():
        evidence = cycle.evidence
        assert evidence.n_rows == 4 * TINY["rows_per_week"] and evidence.data_week == 19
        assert 0 < evidence.n_positive < evidence.n_rows
        assert evidence.champion_window == (0, 9)
        assert evidence.challenger_window == ((0, 9) if contest.null else (3, 12))
        assert -1 < cycle.true_gain < 1
        assert set(evidence.champion_metrics) >= {"roc_auc", "brier_loss"}


def test_contests_on_the_same_data_share_the_hold_out_and_the_champion(real, cycles) -> None:
    same_rows, other_sample, quickstart, drifting = (cycles[c][0].evidence for c in real.CONTESTS)
    for evidence in (other_sample, quickstart):
        np.testing.assert_array_equal(evidence.y_true, same_rows.y_true)
        np.testing.assert_array_equal(evidence.champion_scores, same_rows.champion_scores)
    assert not np.array_equal(same_rows.challenger_scores, same_rows.champion_scores)
    assert not np.array_equal(drifting.y_true, same_rows.y_true)  # drift moves the labels


def test_a_challenger_trained_on_another_sample_is_scored_on_the_champions_rows(
    real, cycles
) -> None:
    # Scores of two forests on the same rows agree; on different rows they would not.
    other_sample = cycles[real.CONTESTS[1]][0].evidence
    assert real.within_class_correlation(other_sample) > 0.3


def test_the_same_seed_reproduces_the_same_evidence(real, cycles) -> None:
    contest = real.CONTESTS[0]
    again = real.real_cycles([contest], replications=1, seed=7, **TINY)[contest][0]
    np.testing.assert_array_equal(
        again.evidence.challenger_scores, cycles[contest][0].evidence.challenger_scores
    )
    assert again.true_gain == cycles[contest][0].true_gain


def test_run_rewrites_only_the_real_results_section(real, tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    simulated = "<!-- results:begin -->\nsimulated table\n<!-- results:end -->\n"
    doc.write_text(f"{simulated}{real.BEGIN}\nstale table\n{real.END}\nend\n", encoding="utf-8")
    policies = {name: ccpolicy.load_policy(name) for name in real.study.POLICIES}
    real.run(policies, replications=1, seed=3, output=doc, **TINY)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith(simulated) and text.endswith(f"{real.END}\nend\n")
    assert "stale table" not in text and "400 rows" in text and "1,200 independent rows" in text
    for contest in real.CONTESTS:
        assert f"| {contest.label} |" in text
