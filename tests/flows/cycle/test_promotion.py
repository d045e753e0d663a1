"""The decision step: a policy that cannot decide is recorded, and what it returns is stored as JSON."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import ccpolicy
from flows.backends import open_backend
from flows.cli import main
from flows.cycle import steps
from flows.cycle.steps import check_policy
from flows.data.quickstart import GeneratorSpec
from flows.records import Outcome
from tests.flows.cycles import fast_settings


class ArrayDetails(ccpolicy.Policy):
    """Test policy: keeps, with numpy arrays and scalars among its numbers."""

    name = "array_details"
    description = "Keep, with numpy details (tests only)."
    api_version = ccpolicy.API_VERSION

    def decide(self, evidence):
        return ccpolicy.Decision(
            ccpolicy.Verdict.KEEP,
            "numpy details → keep",
            {
                "thresholds": np.array([0.25, 0.5]),
                "confusion": np.array([[3, 1], [0, 4]], dtype=np.int64),
                "n": np.int64(evidence.n_rows),
                "auc": np.float32(0.5),
                "significant": np.bool_(False),
            },
        )


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory):
    """A home with a live champion and an evaluated challenger, built once for the module."""
    settings = fast_settings(tmp_path_factory.mktemp("promotion") / "home")
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec())
        steps.train_champion(backend, settings, actor="tester")
        plan = steps.plan_cycle(backend, settings)
        retrained = steps.retrain_challenger(backend, settings, plan)
        evaluation = steps.evaluate(backend, plan, challenger=retrained.version.name)
    return settings, evaluation


@pytest.fixture
def backend(evaluated, tmp_path: Path):
    """A private copy of the evaluated home, so each test records into its own ledger."""
    settings, _ = evaluated
    home = tmp_path / "home"
    shutil.copytree(settings.home, home)
    with open_backend(replace(settings, home=home)) as opened:
        yield opened


class TestPolicyFailures:
    @pytest.mark.parametrize(
        ("name", "error", "message"),
        [
            (
                "raises_while_deciding",
                ccpolicy.PolicyDecisionError,
                "policy 'raises_while_deciding' = 'ccpolicy_broken.decides_badly:"
                "RaisesWhileDeciding' from ccpolicy-broken-plugin 0.0.1 failed while deciding: "
                "ZeroDivisionError: division by zero",
            ),
            (
                "returns_a_string",
                ccpolicy.PolicyValidationError,
                "returns_a_string.decide returned str, not a ccpolicy.Decision (policy "
                "'returns_a_string' = 'ccpolicy_broken.decides_badly:ReturnsAString' from "
                "ccpolicy-broken-plugin 0.0.1); return Decision(verdict, reason, details).",
            ),
        ],
    )
    def test_is_a_failed_entry_naming_the_policy_and_the_champion_stays(
        self, evaluated, backend, with_broken, name, error, message
    ) -> None:
        _, evaluation = evaluated
        registry = backend.registry
        live = registry.live_version()
        entries = len(registry.ledger())
        with pytest.raises(error) as raised:
            steps.decide(backend, evaluation, ccpolicy.load_policy(name), actor="tester")
        assert str(raised.value) == message
        [entry] = registry.ledger()[entries:]
        assert entry.outcome is Outcome.FAILED
        assert entry.reason == f"The policy could not decide; champion untouched. {message}"
        assert (entry.policy, entry.champion_version) == (name, live)
        assert entry.challenger_version == evaluation.challenger.name
        assert entry.has_evidence and entry.holdout_fingerprint == evaluation.holdout_fingerprint
        status = registry.status()
        assert status.live_version == live and status.consistent

    def test_a_guardrail_the_evidence_cannot_feed_is_a_failed_entry_too(
        self, evaluated, backend
    ) -> None:
        _, evaluation = evaluated
        policy = ccpolicy.load_policy("auc_greater", max_metric_drop={"auc": 0.01})
        with pytest.raises(ccpolicy.EvidenceError, match=r"limits the drop of 'auc'"):
            steps.decide(backend, evaluation, policy, actor="tester")
        assert backend.registry.ledger()[-1].outcome is Outcome.FAILED


class TestGuardrailMetricsAreCheckedBeforeTraining:
    def test_a_metric_the_evaluation_computes_is_accepted(self) -> None:
        policy = check_policy("significance_margin", {"max_metric_drop": {"f1": 0.02}})
        assert policy.params["max_metric_drop"] == {"f1": 0.02}

    def test_an_unknown_metric_names_what_the_evaluation_computes(self) -> None:
        with pytest.raises(
            ccpolicy.PolicyParameterError,
            match=r"^The 'max_metric_drop' parameter of significance_margin limits 'auc', which is "
            r"not a metric of the evaluation; metrics: accuracy, brier_loss, f1, precision, "
            r"recall, roc_auc; did you mean 'roc_auc'\?$",
        ):
            check_policy("significance_margin", {"max_metric_drop": {"auc": 0.01}})

    def test_ccflows_run_refuses_it_before_starting_anything(self, tmp_path, capsys) -> None:
        home = tmp_path / "never-created"
        code = main(["run", "--home", str(home), "--param", 'max_metric_drop={"auc": 0.01}'])
        assert code == 2
        assert "limits 'auc', which is not a metric of the evaluation" in capsys.readouterr().err
        assert not home.exists()


def test_numpy_details_are_stored_as_lists_and_numbers(evaluated, backend) -> None:
    _, evaluation = evaluated
    report = steps.decide(backend, evaluation, ArrayDetails(), actor="tester")
    expected = {
        "thresholds": [0.25, 0.5],
        "confusion": [[3, 1], [0, 4]],
        "n": evaluation.n_rows,
        "auc": 0.5,
        "significant": False,
    }
    assert report.entry.details == expected
    stored = backend.registry.ledger()[-1].details
    assert stored == expected and type(stored["n"]) is int and type(stored["significant"]) is bool
