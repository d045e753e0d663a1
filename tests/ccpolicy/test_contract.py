"""One contract, checked for every installed policy (and the example plugin)."""

from __future__ import annotations

import importlib.metadata
import json
import math
from pathlib import Path

import numpy as np
import pytest

import ccpolicy
from ccpolicy import Evidence, Interval, MetricLimits, Options, Verdict
from ccpolicy._params import Constraint

INSTALLED = sorted(
    {ep.name for ep in importlib.metadata.entry_points(group=ccpolicy.POLICY_ENTRY_POINT_GROUP)}
    | {"minimum_lift"}
)


@pytest.fixture(autouse=True)
def _example_installed(example_plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(example_plugin_path))


def bad_values(constraint: Constraint) -> list[object]:
    """A wrongly typed and an out-of-range value for a constraint (as sklearn's tests do)."""
    if isinstance(constraint, Interval):
        wrong_type = "a string" if constraint.kind == "float" else 1.5
        out_of_range = constraint.low - 1 if math.isfinite(constraint.low) else constraint.high + 1
        return [wrong_type, out_of_range]
    if isinstance(constraint, Options):
        return [1, "not-an-option"]
    if isinstance(constraint, MetricLimits):
        return ["f1", {"f1": "a string"}]
    raise AssertionError(f"no bad values known for {constraint!r}")


@pytest.mark.parametrize("name", INSTALLED)
class TestPolicyContract:
    def test_declares_itself(self, name: str) -> None:
        info = {i.name: i for i in ccpolicy.available_policies()}[name]
        assert info.status == "ok", info.error
        assert info.description and info.distribution and info.version
        assert {"cooldown_weeks", "max_metric_drop"} <= set(info.parameters)
        for parameter in info.parameters.values():
            assert parameter.description.endswith(".")

    def test_every_parameter_rejects_bad_values_in_sklearns_form(self, name: str) -> None:
        info = {i.name: i for i in ccpolicy.available_policies()}[name]
        for param, declared in info.parameters.items():
            for value in bad_values(declared.constraint):
                with pytest.raises(
                    ccpolicy.PolicyParameterError,
                    match=rf"^The '{param}' parameter of {name} must be .* Got .* instead\.$",
                ):
                    ccpolicy.load_policy(name, **{param: value})

    def test_decision_has_every_field_and_is_json_safe(self, name: str, make_evidence) -> None:
        policy = ccpolicy.load_policy(name)
        decision = policy(make_evidence(600, gain=0.3, seed=5))
        assert isinstance(decision.verdict, Verdict)
        assert decision.reason and str(decision) == decision.reason
        assert "→" in decision.reason and decision.reason.endswith(decision.verdict.value)
        assert decision.policy == name and decision.params == policy.params
        assert decision.details and all(isinstance(k, str) for k in decision.details)
        json.dumps(decision.to_dict(), allow_nan=False)

    def test_one_class_hold_out_is_inconclusive(self, name: str) -> None:
        evidence = Evidence(np.zeros(50), np.linspace(0, 1, 50), np.linspace(1, 0, 50))
        assert ccpolicy.decide(name, evidence).verdict is Verdict.INCONCLUSIVE

    def test_undefined_guarded_metric_never_promotes(self, name: str, make_evidence) -> None:
        evidence = make_evidence(
            600, gain=0.8, seed=6, champion_metrics={"f1": 0.7}, challenger_metrics={"f1": math.nan}
        )
        decision = ccpolicy.decide(name, evidence, max_metric_drop={"f1": 0.01})
        assert decision.verdict is not Verdict.PROMOTE
