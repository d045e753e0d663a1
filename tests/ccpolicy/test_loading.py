"""Loading policies by name: the real entry points, and edge cases with fake distributions."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Mapping
from typing import ClassVar

import pytest

import ccpolicy
from ccpolicy import (
    Decision,
    Evidence,
    Interval,
    Parameter,
    Policy,
    PolicyLoadError,
    PolicyValidationError,
    UnknownPolicyError,
    Verdict,
)
from ccpolicy._builtin import AucGreater, SignificanceMargin


class Good(Policy):
    name = "good"
    description = "Keeps."
    api_version = "1"

    def decide(self, evidence: Evidence) -> Decision:
        return Decision(Verdict.KEEP, "keep")


class FutureApi(Good):
    name = "future"
    api_version = "2"


class Misnamed(Good):
    name = "something_else"


class Abstract(Policy):
    name = "abstract"
    description = "Forgot decide."
    api_version = "1"


class OneArgumentDecide(Good):
    name = "one_argument"

    def decide(self) -> Decision:  # type: ignore[override]
        return Decision(Verdict.KEEP, "keep")


class BadDefault(Good):
    name = "bad_default"
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "margin": Parameter(Interval("float", 0.0, 0.5), 0.7, "Margin."),
    }


class ShadowsGuardrail(Good):
    name = "shadows"
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "cooldown_weeks": Parameter(Interval("int", 0), 0, "Mine."),
    }


def not_a_policy(evidence: Evidence) -> str:
    return "promote"


FAKE_MODULE = {
    cls.__name__: cls
    for cls in (
        Good,
        FutureApi,
        Misnamed,
        Abstract,
        OneArgumentDecide,
        BadDefault,
        ShadowsGuardrail,
    )
} | {"not_a_policy": not_a_policy}


class TestRealEntryPoints:
    def test_builtins_load_by_name(self) -> None:
        assert type(ccpolicy.load_policy("auc_greater")) is AucGreater
        policy = ccpolicy.load_policy("significance_margin", margin=0.01)
        assert type(policy) is SignificanceMargin and policy.params["margin"] == 0.01

    def test_available_policies_lists_the_builtins_with_their_distribution(self) -> None:
        infos = {info.name: info for info in ccpolicy.available_policies()}
        info = infos["significance_margin"]
        assert (info.distribution, info.version, info.status) == (
            "champion-challenger",
            ccpolicy.__version__,
            "ok",
        )
        assert info.module == "ccpolicy._builtin:SignificanceMargin" and info.error is None
        assert list(info.parameters) == ["margin", "alpha", "cooldown_weeks", "max_metric_drop"]
        assert info.to_dict()["parameters"]["margin"] == {
            "constraint": "a float in the range [0, 0.5)",
            "default": 0.0,
            "description": SignificanceMargin.parameters["margin"].description,
        }

    def test_unknown_name_lists_what_is_installed(self) -> None:
        # Other plugins may be installed beside ours, as in a user's environment.
        installed = sorted(
            (ep.name, ep.dist.name, ep.dist.version)
            for ep in importlib.metadata.entry_points(group=ccpolicy.POLICY_ENTRY_POINT_GROUP)
        )
        version = ccpolicy.__version__
        assert ("auc_greater", "champion-challenger", version) in installed
        assert ("significance_margin", "champion-challenger", version) in installed
        with pytest.raises(UnknownPolicyError) as raised:
            ccpolicy.load_policy("auc_gt")
        listed = ", ".join(f"{name} ({dist} {v})" for name, dist, v in installed)
        assert str(raised.value) == (
            f"no policy named 'auc_gt'; installed: {listed}; did you mean 'auc_greater'?"
        )
        assert isinstance(raised.value, LookupError)

    def test_decide_loads_and_decides_in_one_call(self, make_evidence) -> None:
        decision = ccpolicy.decide("auc_greater", make_evidence(gain=0.5))
        assert decision.policy == "auc_greater" and decision.verdict is Verdict.PROMOTE


class TestFakeDistributions:
    def test_a_valid_plugin_loads_with_its_provenance(self, fake_installed) -> None:
        fake_installed(
            [("acme-policies", "1.2.0", {"good": "fake_policies:Good"})],
            FAKE_MODULE,
        )
        assert type(ccpolicy.load_policy("good")) is Good
        [info] = ccpolicy.available_policies()
        assert (info.name, info.distribution, info.version, info.status) == (
            "good",
            "acme-policies",
            "1.2.0",
            "ok",
        )

    def test_only_the_requested_entry_point_is_imported(self, fake_installed) -> None:
        dist = (
            "acme-policies",
            "1.2.0",
            {"good": "fake_policies:Good", "broken": "acme_missing_module:X"},
        )
        fake_installed([dist], FAKE_MODULE)
        assert type(ccpolicy.load_policy("good")) is Good
        assert "acme_missing_module" not in sys.modules

    def test_import_failure_names_entry_point_distribution_and_cause(self, fake_installed) -> None:
        fake_installed(
            [("acme-policies", "1.2.0", {"x": "acme_missing_module:Margin"})],
            FAKE_MODULE,
        )
        with pytest.raises(PolicyLoadError) as raised:
            ccpolicy.load_policy("x")
        assert str(raised.value) == (
            "error loading policy 'x' = 'acme_missing_module:Margin' from acme-policies 1.2.0: "
            "ModuleNotFoundError: No module named 'acme_missing_module'"
        )
        assert isinstance(raised.value.__cause__, ModuleNotFoundError)

    def test_a_broken_plugin_is_a_row_and_the_others_stay_usable(self, fake_installed) -> None:
        fake_installed(
            [
                ("acme-policies", "1.2.0", {"x": "acme_missing_module:Margin"}),
                ("good-policies", "0.3", {"good": "fake_policies:Good"}),
            ],
            FAKE_MODULE,
        )
        infos = ccpolicy.available_policies()
        assert [(i.name, i.status) for i in infos] == [("good", "ok"), ("x", "error")]
        assert "ModuleNotFoundError" in infos[1].error and infos[1].parameters == {}
        assert infos[1].distribution == "acme-policies"
        assert type(ccpolicy.load_policy("good")) is Good

    @pytest.mark.parametrize(
        ("name", "target", "message"),
        [
            ("not_a_policy", "not_a_policy", r"loaded <function not_a_policy .*> \(a function\), not a subclass of ccpolicy.Policy"),
            ("future", "FutureApi", r"FutureApi targets ccpolicy API version '2' but this ccpolicy supports API version\(s\) 1; install a release of the plugin that targets API 1"),
            ("good", "Misnamed", r"Misnamed.name is 'something_else' but it is registered as 'good'; make them equal"),
            ("abstract", "Abstract", r"Abstract does not implement decide"),
            ("one_argument", "OneArgumentDecide", r"OneArgumentDecide.decide\(self\) must be callable as decide\(self, evidence\)"),
            ("bad_default", "BadDefault", r"the default is invalid: The 'margin' parameter of bad_default must be a float in the range \[0, 0.5\]. Got 0.7 instead."),
            ("shadows", "ShadowsGuardrail", r"ShadowsGuardrail redeclares the guardrail parameter 'cooldown_weeks'"),
        ],
    )  # fmt: skip
    def test_contract_violations_are_validation_errors(
        self, fake_installed, name: str, target: str, message: str
    ) -> None:
        fake_installed(
            [("acme-policies", "1.2.0", {name: f"fake_policies:{target}"})],
            FAKE_MODULE,
        )
        with pytest.raises(PolicyValidationError, match=message) as raised:
            ccpolicy.load_policy(name)
        assert str(raised.value).startswith(
            f"policy {name!r} = 'fake_policies:{target}' from acme-policies 1.2.0 is not a valid policy: "
        )
        assert raised.value.plugin is FAKE_MODULE[target]

    def test_a_name_registered_twice_is_refused_naming_both(self, fake_installed) -> None:
        fake_installed(
            [
                ("acme-policies", "1.2.0", {"good": "fake_policies:Good"}),
                ("other-policies", "2.0", {"good": "fake_policies:Good"}),
            ],
            FAKE_MODULE,
        )
        message = (
            r"policy name 'good' is registered more than once: acme-policies 1.2.0 \(fake_policies:Good\), "
            r"other-policies 2.0 \(fake_policies:Good\); uninstall all but one"
        )
        with pytest.raises(PolicyLoadError, match=message):
            ccpolicy.load_policy("good")
        assert {i.status for i in ccpolicy.available_policies()} == {"error"}

    def test_nothing_installed_says_so(self, fake_installed) -> None:
        fake_installed([], FAKE_MODULE)
        with pytest.raises(UnknownPolicyError, match=r"^no policy named 'x'; installed: none$"):
            ccpolicy.load_policy("x")
