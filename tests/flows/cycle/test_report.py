"""The decision report states how much the hold-out could see."""

from __future__ import annotations

import numpy as np
import pytest

import ccpolicy
from flows.cycle.evaluation import Evaluation, classification_metrics
from flows.cycle.promotion import PromotionReport
from flows.cycle.report import decision_markdown
from flows.data.periods import PeriodRange
from flows.records import LedgerEntry, ModelVersion, Outcome


def report_on(n: int, *, gain: float, policy: str = "significance_margin") -> PromotionReport:
    """A recorded decision on simulated binormal scores of ``n`` hold-out rows."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, n)
    noise = rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], size=n)
    champion, challenger = 0.8 * y + noise[:, 0], (0.8 + gain) * y + noise[:, 1]
    to_prob = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    evaluation = Evaluation(
        champion=ModelVersion("M", "CHAMPION_V1", "", train_weeks=(0, 9)),
        challenger=ModelVersion("M", "CHALLENGER_V2", "", train_weeks=(3, 12)),
        holdout=PeriodRange(16, 19),
        holdout_fingerprint="f" * 64,
        data_period=19,
        y_true=y,
        champion_scores=to_prob(champion),
        challenger_scores=to_prob(challenger),
        champion_metrics=classification_metrics(y, to_prob(champion)),
        challenger_metrics=classification_metrics(y, to_prob(challenger)),
    )
    decision = ccpolicy.decide(policy, ccpolicy.Evidence(y, champion, challenger))
    entry = LedgerEntry(Outcome.INCONCLUSIVE, decision.reason, id=3, recorded_at="2026-11-27")
    return PromotionReport(entry=entry, decision=decision, evaluation=evaluation)


def test_an_inconclusive_decision_says_what_gain_the_hold_out_could_have_seen() -> None:
    report = report_on(400, gain=0.0)
    assert report.decision.verdict is ccpolicy.Verdict.INCONCLUSIVE
    gain = report.decision.details["min_detectable_gain"]
    text = decision_markdown(report)
    assert f"| Gain this hold-out detects (80 % power) | {gain:.4f} |" in text
    assert "## What the hold-out could see" in text
    assert f"A true AUC gain of {gain:+.4f} or more would be promoted in 80 % of hold-outs" in text
    assert f"no gain of {gain:+.4f} or more is likely" in text


def test_a_bigger_hold_out_sees_a_smaller_gain() -> None:
    small = report_on(400, gain=0.0).decision.details["min_detectable_gain"]
    large = report_on(6400, gain=0.0).decision.details["min_detectable_gain"]
    assert large == pytest.approx(small / 4, rel=0.25)  # se shrinks with sqrt(rows)


def test_a_clear_verdict_states_it_without_the_inconclusive_reading() -> None:
    text = decision_markdown(report_on(1600, gain=0.5))
    assert "would be promoted in 80 % of hold-outs like this one (1600 rows)" in text
    assert "inconclusive verdict" not in text


def test_a_policy_without_the_number_gets_no_such_section() -> None:
    text = decision_markdown(report_on(400, gain=0.0, policy="auc_greater"))
    assert "What the hold-out could see" not in text and "80 % power" not in text
