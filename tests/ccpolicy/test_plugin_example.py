"""Really installed plugin distributions: the example policy, and a broken one beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ccpolicy
from ccpolicy import PolicyDecisionError, PolicyLoadError, PolicyValidationError, Verdict


@pytest.fixture
def with_example(example_plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(example_plugin_path))
    return example_plugin_path


class TestExamplePlugin:
    def test_is_discovered_by_name_with_its_distribution(self, with_example: Path) -> None:
        infos = {info.name: info for info in ccpolicy.available_policies()}
        info = infos["minimum_lift"]
        assert (info.distribution, info.version, info.status) == (
            "ccpolicy-plugin-example",
            "0.1.0",
            "ok",
        )
        assert info.module == "ccpolicy_example.lift:MinimumLift"
        assert list(info.parameters) == [
            "top_fraction",
            "min_gain",
            "cooldown_weeks",
            "max_metric_drop",
        ]
        assert {"auc_greater", "significance_margin"} <= set(infos)

    def test_decides_through_the_template_with_guardrails(
        self, with_example: Path, make_evidence
    ) -> None:
        policy = ccpolicy.load_policy("minimum_lift", top_fraction=0.2, min_gain=0.05)
        decision = policy(make_evidence(1600, gain=0.8, seed=4))
        assert decision.verdict is Verdict.PROMOTE and decision.policy == "minimum_lift"
        assert decision.reason.startswith("lift in top 20%: challenger ")
        assert decision.details["lift_gain"] >= 0.05
        evidence = make_evidence(1600, gain=0.8, seed=4, data_week=10, last_promotion_week=9)
        assert ccpolicy.decide("minimum_lift", evidence, cooldown_weeks=2).verdict is Verdict.KEEP

    def test_validates_its_parameters_in_sklearns_form(self, with_example: Path) -> None:
        with pytest.raises(
            ccpolicy.PolicyParameterError,
            match=r"The 'top_fraction' parameter of minimum_lift must be a float in the range \(0, 1\]. Got 0 instead.",
        ):
            ccpolicy.load_policy("minimum_lift", top_fraction=0)

    def test_works_from_pythonpath_in_a_fresh_interpreter(self, example_plugin_path: Path) -> None:
        code = (
            "import ccpolicy\n"
            "e = ccpolicy.Evidence([0, 1, 0, 1, 1], [.1, .2, .3, .4, .5], [.1, .9, .2, .8, .7])\n"
            "print(ccpolicy.decide('minimum_lift', e, top_fraction=0.4).verdict.value)\n"
        )
        env = {**os.environ, "PYTHONPATH": str(example_plugin_path)}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "keep"  # both top-2 sets hold only positives: equal lift


class TestBrokenPlugin:
    def test_failures_are_rows_naming_the_distribution(self, with_broken: Path) -> None:
        infos = {info.name: info for info in ccpolicy.available_policies()}
        assert infos["broken_import"].status == "error"
        assert infos["broken_import"].error == (
            "error loading policy 'broken_import' = 'ccpolicy_broken.fails_to_import:Broken' from "
            "ccpolicy-broken-plugin 0.0.1: ImportError: No module named 'acme_scoring' "
            "(required by ccpolicy_broken)"
        )
        assert infos["not_a_policy"].status == "error"
        assert "not a subclass of ccpolicy.Policy" in infos["not_a_policy"].error
        assert infos["auc_greater"].status == infos["significance_margin"].status == "ok"

    def test_loading_a_broken_name_raises_and_builtins_still_load(
        self, with_broken: Path, make_evidence
    ) -> None:
        with pytest.raises(
            PolicyLoadError, match=r"from ccpolicy-broken-plugin 0.0.1: ImportError"
        ):
            ccpolicy.load_policy("broken_import")
        with pytest.raises(
            PolicyValidationError,
            match=r"'not_a_policy' = 'ccpolicy_broken.not_a_policy:not_a_policy'",
        ):
            ccpolicy.load_policy("not_a_policy")
        assert (
            ccpolicy.decide("significance_margin", make_evidence()).policy == "significance_margin"
        )

    def test_a_plugin_calling_sys_exit_at_import_is_reported_like_any_broken_one(
        self, with_broken: Path
    ) -> None:
        infos = {info.name: info for info in ccpolicy.available_policies()}
        assert infos["exits_at_import"].status == "error"
        assert infos["exits_at_import"].error == (
            "error loading policy 'exits_at_import' = 'ccpolicy_broken.exits_at_import:Exits' "
            "from ccpolicy-broken-plugin 0.0.1: SystemExit: 3"
        )
        with pytest.raises(PolicyLoadError, match=r"from ccpolicy-broken-plugin 0.0.1: SystemExit"):
            ccpolicy.load_policy("exits_at_import")

    def test_a_policy_raising_while_deciding_names_its_entry_point(
        self, with_broken: Path, make_evidence
    ) -> None:
        policy = ccpolicy.load_policy("raises_while_deciding")
        with pytest.raises(PolicyDecisionError) as raised:
            policy(make_evidence())
        assert str(raised.value) == (
            "policy 'raises_while_deciding' = "
            "'ccpolicy_broken.decides_badly:RaisesWhileDeciding' from ccpolicy-broken-plugin "
            "0.0.1 failed while deciding: ZeroDivisionError: division by zero"
        )
        assert isinstance(raised.value.__cause__, ZeroDivisionError)
        assert raised.value.policy is policy and isinstance(raised.value, RuntimeError)

    def test_a_policy_returning_a_string_names_its_entry_point(
        self, with_broken: Path, make_evidence
    ) -> None:
        with pytest.raises(
            PolicyValidationError,
            match=r"returns_a_string.decide returned str, not a ccpolicy.Decision \(policy "
            r"'returns_a_string' = 'ccpolicy_broken.decides_badly:ReturnsAString' from "
            r"ccpolicy-broken-plugin 0.0.1\)",
        ):
            ccpolicy.decide("returns_a_string", make_evidence())

    def test_unknown_name_lists_plugins_too(self, with_broken: Path) -> None:
        with pytest.raises(
            ccpolicy.UnknownPolicyError, match=r"broken_import \(ccpolicy-broken-plugin 0.0.1\)"
        ):
            ccpolicy.load_policy("nope")
