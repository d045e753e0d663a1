"""The Policy template method: evidence checks, NaN handling, guardrails and stamping."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import pytest

from ccpolicy import (
    Decision,
    Evidence,
    EvidenceError,
    Options,
    Parameter,
    Policy,
    PolicyDecisionError,
    PolicyParameterError,
    PolicyValidationError,
    Verdict,
)


class Fixed(Policy):
    """Returns the verdict it is configured with, so the template's effect is visible."""

    name = "fixed"
    description = "Always returns the configured verdict."
    api_version = "1"
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "verdict": Parameter(
            Options(frozenset(v.value for v in Verdict)), "promote", "The verdict to return."
        ),
    }

    def decide(self, evidence: Evidence) -> Decision:
        verdict = self.params["verdict"]
        return Decision(verdict, f"configured → {verdict}", {"rows": evidence.n_rows})


class NanDetail(Fixed):
    name = "nan_detail"

    def decide(self, evidence: Evidence) -> Decision:
        return Decision(Verdict.PROMOTE, "p=nan → promote", {"p_value": math.nan, "n": 3})


class ReturnsString(Fixed):
    name = "returns_string"

    def decide(self, evidence: Evidence):  # type: ignore[override]
        return "promote"


def evidence(**context: object) -> Evidence:
    return Evidence([0, 1, 0, 1], [0.1, 0.6, 0.4, 0.7], [0.2, 0.8, 0.3, 0.9], **context)


class TestTemplate:
    def test_stamps_policy_name_and_effective_params(self) -> None:
        decision = Fixed(verdict="keep")(evidence())
        assert decision.policy == "fixed"
        assert decision.params == {"verdict": "keep", "cooldown_weeks": 0, "max_metric_drop": {}}
        assert decision.verdict is Verdict.KEEP and decision.details == {"rows": 4}

    def test_one_class_hold_out_is_inconclusive_without_calling_decide(self) -> None:
        decision = ReturnsString()(Evidence([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1]))
        assert decision.verdict is Verdict.INCONCLUSIVE
        assert decision.reason == (
            "hold-out labels hold one class only (3 rows, all 1); ROC AUC is undefined → inconclusive"
        )

    def test_nan_in_the_details_makes_it_inconclusive(self) -> None:
        decision = NanDetail()(evidence())
        assert decision.verdict is Verdict.INCONCLUSIVE
        assert decision.reason.startswith("p_value undefined (NaN)")
        assert decision.details["n"] == 3

    def test_anything_but_evidence_is_refused(self) -> None:
        with pytest.raises(EvidenceError, match=r"fixed needs a ccpolicy.Evidence; got dict"):
            Fixed()({"y_true": [0, 1]})

    def test_decide_must_return_a_decision(self) -> None:
        policy = ReturnsString()
        with pytest.raises(
            PolicyValidationError,
            match=r"returns_string.decide returned str, not a ccpolicy.Decision \(policy "
            r"'returns_string' = 'tests.ccpolicy.test_policy:ReturnsString', not registered "
            r"under ccpolicy.policies\)",
        ) as raised:
            policy(evidence())
        assert raised.value.plugin is policy

    @pytest.mark.parametrize("failure", [KeyError("p_value"), SystemExit(1)])
    def test_a_failure_inside_decide_is_a_policy_decision_error(self, failure) -> None:
        class Raises(Fixed):
            name = "raises"

            def decide(self, evidence: Evidence) -> Decision:
                raise failure

        with pytest.raises(
            PolicyDecisionError, match=r"^policy 'raises' = .* failed while deciding: "
        ) as raised:
            Raises()(evidence())
        assert raised.value.__cause__ is failure

    def test_params_are_a_copy(self) -> None:
        policy = Fixed(max_metric_drop={"f1": 0.01})
        policy.params["max_metric_drop"]["f1"] = 1.0
        assert policy.params["max_metric_drop"] == {"f1": 0.01}

    def test_parameters_are_validated_at_construction(self) -> None:
        with pytest.raises(
            PolicyParameterError,
            match=r"The 'cooldown_weeks' parameter of fixed must be an int in the range \[0, inf\)\. Got -1 instead\.",
        ):
            Fixed(cooldown_weeks=-1)

    def test_repr_shows_the_parameters(self) -> None:
        assert repr(Fixed()) == "Fixed(verdict='promote', cooldown_weeks=0, max_metric_drop={})"


class TestCooldown:
    def test_promotion_within_the_cooldown_is_kept(self) -> None:
        decision = Fixed(cooldown_weeks=4)(evidence(data_week=19, last_promotion_week=17))
        assert decision.verdict is Verdict.KEEP
        assert decision.reason == (
            "configured → promote, but cool-down: last promotion at data week 17, 2 week(s) "
            "before week 19, within the 4-week cool-down → keep"
        )
        assert decision.details["guardrails"] == [
            decision.reason.split(", but ")[1][: -len(" → keep")]
        ]

    @pytest.mark.parametrize("last", [15, None])
    def test_promotion_after_the_cooldown_or_without_history_passes(self, last: int | None) -> None:
        decision = Fixed(cooldown_weeks=4)(evidence(data_week=19, last_promotion_week=last))
        assert decision.verdict is Verdict.PROMOTE

    def test_cooldown_needs_the_data_week(self) -> None:
        with pytest.raises(
            EvidenceError, match=r"fixed has cooldown_weeks=4 but the evidence has no data_week"
        ):
            Fixed(cooldown_weeks=4)(evidence())

    def test_zero_cooldown_needs_nothing(self) -> None:
        assert Fixed()(evidence(last_promotion_week=3)).verdict is Verdict.PROMOTE


class TestMetricDropLimits:
    def metrics(self, champion: dict, challenger: dict) -> Evidence:
        return evidence(champion_metrics=champion, challenger_metrics=challenger)

    def test_a_drop_beyond_the_limit_keeps_the_champion(self) -> None:
        decision = Fixed(max_metric_drop={"f1": 0.02})(self.metrics({"f1": 0.70}, {"f1": 0.67}))
        assert decision.verdict is Verdict.KEEP
        assert (
            "f1 fell by 0.030 (champion 0.700, challenger 0.670), more than the allowed 0.020"
            in decision.reason
        )

    def test_a_drop_exactly_at_the_limit_is_allowed(self) -> None:
        decision = Fixed(max_metric_drop={"f1": 0.02})(self.metrics({"f1": 0.70}, {"f1": 0.68}))
        assert decision.verdict is Verdict.PROMOTE

    def test_loss_metrics_may_not_rise(self) -> None:
        limits = {"log_loss": 0.01}
        worse = Fixed(max_metric_drop=limits)(self.metrics({"log_loss": 0.50}, {"log_loss": 0.55}))
        better = Fixed(max_metric_drop=limits)(self.metrics({"log_loss": 0.50}, {"log_loss": 0.40}))
        assert worse.verdict is Verdict.KEEP and "log_loss rose by 0.050" in worse.reason
        assert better.verdict is Verdict.PROMOTE

    def test_an_undefined_guarded_metric_is_inconclusive(self) -> None:
        decision = Fixed(max_metric_drop={"f1": 0.02})(self.metrics({"f1": 0.7}, {"f1": math.nan}))
        assert decision.verdict is Verdict.INCONCLUSIVE
        assert "f1 is undefined (champion 0.700, challenger nan)" in decision.reason

    def test_a_violation_outweighs_an_undefined_metric(self) -> None:
        policy = Fixed(max_metric_drop={"f1": 0.0, "accuracy": 0.0})
        decision = policy(
            self.metrics({"f1": 0.7, "accuracy": 0.8}, {"f1": math.nan, "accuracy": 0.7})
        )
        assert decision.verdict is Verdict.KEEP and len(decision.details["guardrails"]) == 2

    def test_a_guarded_metric_missing_from_the_evidence_is_an_error(self) -> None:
        with pytest.raises(
            EvidenceError,
            match=r"limits the drop of 'f1' but evidence.challenger_metrics has no 'f1' \(it has: auc\)",
        ):
            Fixed(max_metric_drop={"f1": 0.02})(self.metrics({"f1": 0.7}, {"auc": 0.7}))

    def test_guarded_metric_names_are_checked_before_any_evidence(self) -> None:
        computed = ["accuracy", "brier_loss", "f1", "roc_auc"]
        Fixed(max_metric_drop={"f1": 0.02, "brier_loss": 0.01}).check_metrics(computed)
        with pytest.raises(
            PolicyParameterError,
            match=r"^The 'max_metric_drop' parameter of fixed limits 'auc', which is not a metric "
            r"of the evaluation; metrics: accuracy, brier_loss, f1, roc_auc; did you mean 'roc_auc'\?$",
        ):
            Fixed(max_metric_drop={"auc": 0.01}).check_metrics(computed)
        with pytest.raises(PolicyParameterError, match=r"limits 'lift'.*, roc_auc\.$"):
            Fixed(max_metric_drop={"lift": 0.01}).check_metrics(computed)

    @pytest.mark.parametrize("verdict", ["keep", "inconclusive"])
    def test_guardrails_never_touch_a_non_promotion(self, verdict: str) -> None:
        policy = Fixed(verdict=verdict, max_metric_drop={"f1": 0.0})
        assert policy(self.metrics({"f1": 0.9}, {"f1": 0.1})).verdict == verdict
