"""A third-party policy, really installed as a distribution, decides a weekly flow run."""

from __future__ import annotations

import pytest

from flows.orchestration.pipeline import champion_challenger
from tests.integration.conftest import ledger, make_home

pytestmark = pytest.mark.prefect_server


def test_the_example_plugin_is_selected_by_name_and_its_decision_lands_in_the_ledger(
    prefect_server, tmp_path, example_plugin_path, monkeypatch
):
    home = make_home(tmp_path / "home", champion=True)
    monkeypatch.syspath_prepend(str(example_plugin_path))

    state = champion_challenger(
        home=str(home),
        policy="minimum_lift",
        policy_params={"top_fraction": 0.2, "min_gain": 0.0},
        return_state=True,
    )

    assert state.is_completed(), state.message
    entry = ledger(home)[-1]
    assert entry.id == state.result()["id"]
    assert entry.policy == "minimum_lift"
    assert entry.policy_params["top_fraction"] == 0.2
    assert "lift in top 20%" in entry.reason
    assert {"champion_lift", "challenger_lift", "lift_gain"} <= set(entry.details)
    expected = "promote" if entry.details["lift_gain"] >= 0.0 else "keep"
    assert entry.verdict == expected
