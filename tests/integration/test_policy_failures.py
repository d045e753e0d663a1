"""A weekly flow run whose policy fails: recorded in the ledger, the champion untouched."""

from __future__ import annotations

import pytest

from flows.orchestration.pipeline import champion_challenger
from flows.records import Outcome
from tests.integration.conftest import ledger, live_version, make_home

pytestmark = pytest.mark.prefect_server


def test_a_policy_raising_while_deciding_fails_the_run_with_a_failed_entry(
    prefect_server, tmp_path, with_broken
):
    home = make_home(tmp_path / "home", champion=True)
    live = live_version(home)

    state = champion_challenger(home=str(home), policy="raises_while_deciding", return_state=True)

    assert state.is_failed()
    message = (
        "policy 'raises_while_deciding' = 'ccpolicy_broken.decides_badly:RaisesWhileDeciding' "
        "from ccpolicy-broken-plugin 0.0.1 failed while deciding: ZeroDivisionError: division by zero"
    )
    assert message in state.message
    entry = ledger(home)[-1]
    assert entry.outcome is Outcome.FAILED and entry.policy == "raises_while_deciding"
    assert entry.reason == f"The policy could not decide; champion untouched. {message}"
    assert entry.has_evidence and live_version(home) == live


def test_a_guardrail_on_an_unknown_metric_fails_before_training(prefect_server, tmp_path):
    home = make_home(tmp_path / "home", champion=True)
    versions_before = len(list((home / "artifacts").rglob("model.pkl")))

    state = champion_challenger(
        home=str(home), policy_params={"max_metric_drop": {"auc": 0.01}}, return_state=True
    )

    assert state.is_failed()
    assert "limits 'auc', which is not a metric of the evaluation" in state.message
    entry = ledger(home)[-1]
    assert entry.outcome is Outcome.FAILED and "did you mean 'roc_auc'?" in entry.reason
    assert len(list((home / "artifacts").rglob("model.pkl"))) == versions_before
