"""The decision-quality study script: its simulation, its intervals and its documented command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ccpolicy
from ccpolicy.stats import roc_auc
from tests.ccpolicy.conftest import bench_script, run_documented_command


@pytest.fixture(scope="module")
def study():
    yield from bench_script("study_decision_quality")


def test_wilson_interval_matches_the_textbook_values(study) -> None:
    assert study.Rate(0, 10).wilson() == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert study.Rate(50, 100).wilson() == pytest.approx((0.40383, 0.59617), abs=1e-5)
    assert str(study.Rate(5, 100)) == "5.0% [2.2%, 11.2%]"


def test_simulated_hold_outs_have_the_intended_true_aucs(study) -> None:
    rng = np.random.default_rng(0)
    evidence = list(study.binormal_evidence(gain=0.05, correlation=0.85, replications=40, rng=rng))
    assert len(evidence) == 40 and evidence[0].n_rows == study.HOLDOUT_ROWS
    champion = np.mean([roc_auc(e.y_true, e.champion_scores) for e in evidence])
    challenger = np.mean([roc_auc(e.y_true, e.challenger_scores) for e in evidence])
    assert champion == pytest.approx(study.CHAMPION_AUC, abs=0.005)
    assert challenger == pytest.approx(study.CHAMPION_AUC + 0.05, abs=0.005)
    within_class = evidence[0].y_true == 0
    logit = np.log(evidence[0].champion_scores / (1 - evidence[0].champion_scores))
    logit_b = np.log(evidence[0].challenger_scores / (1 - evidence[0].challenger_scores))
    assert np.corrcoef(logit[within_class], logit_b[within_class])[0, 1] == pytest.approx(
        0.85, abs=0.03
    )


def test_promotion_rates_count_promote_verdicts(study, make_evidence) -> None:
    policies = {"auc_greater": ccpolicy.load_policy("auc_greater")}
    evidence = [make_evidence(gain=1.0, seed=1), make_evidence(gain=-1.0, seed=2)]
    rates = study.promotion_rates(policies, evidence)
    assert (rates["auc_greater"].promotions, rates["auc_greater"].trials) == (1, 2)


def test_the_documented_command_rewrites_only_the_marked_table(study, tmp_path: Path) -> None:
    text = run_documented_command(study, tmp_path)
    assert "| 0 (false promotion) |" in text
    assert "**Score correlation 0.85**" in text and "3 simulated hold-outs" in text


def test_a_doc_without_markers_is_refused(study, tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="lacks the markers"):
        study.write_results(doc, "table")
