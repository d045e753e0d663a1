"""The built-in policies, registered under ``ccpolicy.policies`` in the project's pyproject.toml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ccpolicy._base import API_VERSION, Policy
from ccpolicy._decision import Decision, Verdict
from ccpolicy._evidence import Evidence
from ccpolicy._params import Interval, Parameter
from ccpolicy.stats import (
    DeLongResult,
    delong_test,
    delong_test_independent,
    min_detectable_gain,
    roc_auc,
)

DETECTION_POWER = 0.8
"""The power at which significance_margin states the gain its hold-out can detect."""


class AucGreater(Policy):
    """Promote iff the challenger's ROC AUC is strictly higher: the quickstart's rule.

    It reacts to noise: with two equally good models it promotes about half the
    time (see docs/decision-quality.md). Kept for parity with the quickstart. On
    independent evidence each AUC is computed on its own model's rows.
    """

    name = "auc_greater"
    description = (
        "Promote when the challenger's ROC AUC on the hold-out is strictly higher than the "
        "champion's (the quickstart's rule: no margin, no significance test)."
    )
    api_version = API_VERSION

    def decide(self, evidence: Evidence) -> Decision:
        """Compare the two AUCs, each on the rows its model scored."""
        champion = roc_auc(evidence.champion_y_true, evidence.champion_scores)
        challenger = roc_auc(evidence.challenger_y_true, evidence.challenger_scores)
        higher = challenger > champion
        verdict = Verdict.PROMOTE if higher else Verdict.KEEP
        rule = "strictly higher" if higher else "not strictly higher"
        return Decision(
            verdict,
            f"{auc_comparison(champion, challenger)}); {rule} → {verdict.value}",
            {
                "champion_auc": champion,
                "challenger_auc": challenger,
                "auc_delta": challenger - champion,
            },
        )


class SignificanceMargin(Policy):
    """Promote only when the challenger's AUC gain exceeds a margin and is significant.

    DeLong's test of H0 ``delta <= margin`` at level ``alpha`` (one-sided): paired
    for paired evidence, for independent samples (the two AUCs' variances added)
    when ``evidence.design == "independent"``.
    The reported interval is the two-sided (1 - 2·alpha) interval, whose lower end
    is the one-sided (1 - alpha) bound, so the verdict reads straight off it:
    promote when its lower end is above the margin (p < alpha), keep when its upper
    end is at or below the margin (the challenger significantly fails to clear it;
    two models ranking the rows identically are the exact case: gain 0, no
    variance), and inconclusive when it straddles the margin.

    Every decision states ``min_detectable_gain``: the true gain this hold-out
    would detect with 80 % power, so an inconclusive verdict reads as "no gain"
    or as "the hold-out is too small to tell".
    """

    name = "significance_margin"
    description = (
        "Promote when the challenger's ROC AUC exceeds the champion's by more than `margin` "
        "with one-sided DeLong p < `alpha`; keep when it significantly does not; else inconclusive."
    )
    api_version = API_VERSION
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "margin": Parameter(
            Interval("float", 0.0, 0.5, closed="left"),
            0.0,
            "AUC gain the challenger must exceed (null hypothesis: gain <= margin); "
            "0 asks only for a significant improvement.",
        ),
        "alpha": Parameter(
            Interval("float", 0.0, 0.5, closed="neither"),
            0.05,
            "One-sided significance level: the accepted rate of promoting a challenger "
            "whose true gain is at most the margin.",
        ),
    }

    def decide(self, evidence: Evidence) -> Decision:
        """Run DeLong's test and read the verdict off the p-value and interval."""
        margin, alpha = self._params["margin"], self._params["alpha"]
        result = evidence_delong(evidence, margin=margin, confidence=1 - 2 * alpha)
        p_text = f"p={result.p_value:.2g}"
        if result.p_value < alpha:
            verdict, rule = Verdict.PROMOTE, f"{p_text} < alpha {alpha:g}"
        elif result.ci_high <= margin:
            verdict, rule = Verdict.KEEP, f"CI upper end {result.ci_high:+.3f} ≤ margin"
        else:
            verdict, rule = Verdict.INCONCLUSIVE, f"{p_text} ≥ alpha {alpha:g}"
        interval = f"{1 - 2 * alpha:.0%} CI [{result.ci_low:+.3f}, {result.ci_high:+.3f}]"
        return Decision(
            verdict,
            f"{auc_comparison(result.auc_a, result.auc_b)}, {interval}); margin {margin:.3f}; "
            f"{rule} → {verdict.value}",
            {
                "champion_auc": result.auc_a,
                "challenger_auc": result.auc_b,
                "auc_delta": result.delta,
                "se": result.se,
                "z": result.z,
                "p_value": result.p_value,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
                "confidence": 1 - 2 * alpha,
                "margin": margin,
                "alpha": alpha,
                "min_detectable_gain": min_detectable_gain(
                    result.se, alpha=alpha, power=DETECTION_POWER, margin=margin
                ),
            },
        )


def evidence_delong(evidence: Evidence, *, margin: float, confidence: float) -> DeLongResult:
    """DeLong's one-sided test (H1: gain > margin) of the design the evidence declares."""
    options: dict[str, Any] = {"alternative": "greater", "margin": margin, "confidence": confidence}
    if evidence.design == "independent":
        return delong_test_independent(
            evidence.champion_y_true,
            evidence.champion_scores,
            evidence.challenger_y_true,
            evidence.challenger_scores,
            **options,
        )
    return delong_test(
        evidence.y_true, evidence.champion_scores, evidence.challenger_scores, **options
    )


def auc_comparison(champion: float, challenger: float) -> str:
    """The opening of every built-in reason: both AUCs and the difference (parenthesis open)."""
    return (
        f"auc: challenger {challenger:.3f} vs champion {champion:.3f} ({challenger - champion:+.3f}"
    )
