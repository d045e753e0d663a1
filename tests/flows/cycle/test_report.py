"""The decision report and the terminal state how strong the evidence is, whatever the policy."""

from __future__ import annotations

import numpy as np
import pytest

import ccpolicy
from flows.cycle.evaluation import Evaluation, classification_metrics
from flows.cycle.promotion import PromotionReport, decision_entry
from flows.cycle.report import decision_markdown
from flows.cycle.strength import evidence_strength
from flows.data.periods import PeriodRange
from flows.records import ModelVersion


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
    strength = evidence_strength(y, evaluation.champion_scores, evaluation.challenger_scores)
    entry = decision_entry(evaluation, decision, actor="tester", strength=strength)
    entry = entry.stamped(id=3, recorded_at="2026-11-27")
    return PromotionReport(entry=entry, decision=decision, evaluation=evaluation)


def test_an_inconclusive_decision_says_what_gain_the_hold_out_could_have_seen() -> None:
    report = report_on(400, gain=0.0)
    assert report.decision.verdict is ccpolicy.Verdict.INCONCLUSIVE
    gain = report.decision.details["min_detectable_gain"]
    assert report.entry.strength["min_detectable_gain"] == pytest.approx(gain)
    text = decision_markdown(report)
    assert f"| Gain this hold-out detects (80 % power) | {gain:.4f} |" in text
    assert "## What the hold-out could see" in text
    assert f"A true AUC gain of {gain:+.4f} or more would be detected in 80 % of hold-outs" in text
    assert f"no gain of {gain:+.4f} or more is likely" in text


def test_a_bigger_hold_out_sees_a_smaller_gain() -> None:
    small = report_on(400, gain=0.0).entry.strength["min_detectable_gain"]
    large = report_on(6400, gain=0.0).entry.strength["min_detectable_gain"]
    assert large == pytest.approx(small / 4, rel=0.25)  # se shrinks with sqrt(rows)


def test_a_clear_verdict_states_it_without_the_inconclusive_reading() -> None:
    report = report_on(1600, gain=0.5)
    text = decision_markdown(report)
    assert "would be detected in 80 % of hold-outs like this one (1600 rows)" in text
    assert "inconclusive verdict" not in text
    assert "| Paired DeLong test of no gain (two-sided) | p<0.0001 |" in text
    assert "0.0 |" not in text.split("## Metrics")[0]  # never a p-value of 0
    assert "| Parameters | margin=0, alpha=0.05, cooldown_weeks=0, max_metric_drop=(none) |" in text
    assert "| 95 % interval of the gain | [+0.08" in text and "excludes zero." in text


class TestEveryPolicyGetsTheEvidencesStrength:
    def test_the_quickstarts_rule_shows_the_same_numbers(self) -> None:
        report = report_on(400, gain=0.0, policy="auc_greater")
        assert "p_value" not in report.decision.details  # the policy states none itself
        text = decision_markdown(report)
        assert "## What the hold-out could see" in text and "80 % power" in text
        assert "| 95 % interval of the gain | [" in text

    def test_a_promotion_inside_the_noise_says_so_in_one_line(self) -> None:
        report = report_on(400, gain=0.08, policy="auc_greater")
        strength = report.entry.strength
        assert report.decision.verdict is ccpolicy.Verdict.PROMOTE
        assert strength["ci_low"] < 0 < strength["ci_high"]
        assert report.entry.reason.startswith(report.decision.reason)
        note = report.entry.reason[len(report.decision.reason) :]
        assert "is within the noise: its 95 % interval" in note and "\n" not in note

    def test_a_clear_promotion_has_no_such_note(self) -> None:
        report = report_on(1600, gain=0.5, policy="auc_greater")
        assert report.decision.verdict is ccpolicy.Verdict.PROMOTE
        assert report.entry.reason == report.decision.reason

    def test_the_terminal_shows_it(self) -> None:
        import io

        from rich.console import Console

        from flows.cli._render import print_decision

        buffer = io.StringIO()
        console = Console(file=buffer, width=200, color_system=None)
        print_decision(console, report_on(400, gain=0.0, policy="auc_greater").entry)
        evidence = next(line for line in buffer.getvalue().splitlines() if "evidence" in line)
        assert "paired DeLong p=" in evidence and "95 % CI [" in evidence
        assert "detects a gain of" in evidence
