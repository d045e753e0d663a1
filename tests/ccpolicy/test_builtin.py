"""The built-in policies: auc_greater (the quickstart's rule) and significance_margin."""

from __future__ import annotations

import pytest

from ccpolicy import Evidence, Verdict, load_policy
from ccpolicy.stats import delong_test


class TestAucGreater:
    def test_higher_challenger_auc_promotes_with_the_numbers(self, make_evidence) -> None:
        decision = load_policy("auc_greater")(make_evidence(gain=0.2, seed=1))
        assert decision.verdict is Verdict.PROMOTE
        assert set(decision.details) == {"champion_auc", "challenger_auc", "auc_delta"}
        d = decision.details
        assert d["auc_delta"] == pytest.approx(d["challenger_auc"] - d["champion_auc"])
        assert decision.reason == (
            f"auc: challenger {d['challenger_auc']:.3f} vs champion {d['champion_auc']:.3f} "
            f"({d['auc_delta']:+.3f}); strictly higher → promote"
        )

    def test_equal_auc_keeps_the_champion(self) -> None:
        evidence = Evidence([0, 0, 1, 1], [0.1, 0.3, 0.2, 0.4], [0.3, 0.1, 0.4, 0.2])
        decision = load_policy("auc_greater")(evidence)
        assert decision.details["auc_delta"] == 0.0
        assert decision.verdict is Verdict.KEEP
        assert decision.reason.endswith("(+0.000); not strictly higher → keep")


class TestSignificanceMargin:
    def test_clear_gain_promotes_with_p_below_alpha(self, make_evidence) -> None:
        evidence = make_evidence(1600, gain=0.3, seed=0)
        decision = load_policy("significance_margin")(evidence)
        assert decision.verdict is Verdict.PROMOTE
        assert decision.reason.startswith(
            "auc: challenger 0.792 vs champion 0.733 (+0.059, 90% CI ["
        )
        assert decision.reason.endswith("margin 0.000; p=6.8e-10 < alpha 0.05 → promote")

    def test_details_are_delongs_numbers_at_the_matching_confidence(self, make_evidence) -> None:
        evidence = make_evidence(800, gain=0.1, seed=2)
        decision = load_policy("significance_margin", alpha=0.025)(evidence)
        result = delong_test(
            evidence.y_true, evidence.champion_scores, evidence.challenger_scores, confidence=0.95
        )
        d = decision.details
        assert {
            "p_value",
            "auc_delta",
            "ci_low",
            "ci_high",
            "champion_auc",
            "challenger_auc",
        } <= set(d)
        assert (d["margin"], d["alpha"], d["confidence"]) == (0.0, 0.025, 0.95)
        assert (d["p_value"], d["ci_low"], d["ci_high"]) == (
            result.p_value,
            result.ci_low,
            result.ci_high,
        )
        assert (d["champion_auc"], d["challenger_auc"]) == (result.auc_a, result.auc_b)
        assert "95% CI" in decision.reason

    def test_significantly_worse_challenger_is_kept_out(self, make_evidence) -> None:
        decision = load_policy("significance_margin")(make_evidence(1600, gain=-0.5, seed=0))
        assert decision.verdict is Verdict.KEEP
        assert decision.reason.endswith("margin 0.000; CI upper end -0.116 ≤ margin → keep")

    def test_noise_level_difference_is_inconclusive(self, make_evidence) -> None:
        decision = load_policy("significance_margin")(make_evidence(1600, gain=0.0, seed=0))
        assert decision.verdict is Verdict.INCONCLUSIVE
        assert decision.reason == (
            "auc: challenger 0.726 vs champion 0.733 (-0.007, 90% CI [-0.024, +0.010]); "
            "margin 0.000; p=0.75 ≥ alpha 0.05 → inconclusive"
        )

    @pytest.mark.parametrize(
        ("margin", "verdict"),
        [(0.02, Verdict.PROMOTE), (0.05, Verdict.INCONCLUSIVE), (0.1, Verdict.KEEP)],
    )
    def test_the_margin_raises_the_bar(
        self, make_evidence, margin: float, verdict: Verdict
    ) -> None:
        # The gain is +0.059 with a 90% CI of [+0.043, +0.076].
        evidence = make_evidence(1600, gain=0.3, seed=0)
        assert load_policy("significance_margin", margin=margin)(evidence).verdict is verdict

    @pytest.mark.parametrize("margin", [0.0, 0.001, 0.01, 0.2])
    def test_identical_rankings_are_kept_whatever_the_margin(self, make_evidence, margin) -> None:
        evidence = make_evidence(200, seed=3)
        rescaled = 0.5 * evidence.champion_scores + 0.1  # same order: same ranking, same AUC
        same = Evidence(evidence.y_true, evidence.champion_scores, rescaled)
        decision = load_policy("significance_margin", margin=margin)(same)
        assert decision.verdict is Verdict.KEEP
        assert decision.reason.endswith(f"margin {margin:.3f}; CI upper end +0.000 ≤ margin → keep")
        assert (decision.details["auc_delta"], decision.details["se"]) == (0.0, 0.0)
        assert decision.details["min_detectable_gain"] == margin

    def test_states_the_gain_its_hold_out_could_detect(self, make_evidence) -> None:
        evidence = make_evidence(800, gain=0.05, seed=2)
        d = load_policy("significance_margin", margin=0.01, alpha=0.025)(evidence).details
        # z(0.975) = 1.959964, z(0.80) = 0.841621
        assert d["min_detectable_gain"] == pytest.approx(
            0.01 + (1.959964 + 0.841621) * d["se"], rel=1e-6
        )
        small = make_evidence(200, gain=0.05, seed=2)
        d_small = load_policy("significance_margin", margin=0.01, alpha=0.025)(small).details
        assert d_small["min_detectable_gain"] > d["min_detectable_gain"]  # fewer rows see less
