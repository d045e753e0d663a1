"""The score flow under a live test: its result and its artifact say how many rows were logged."""

from __future__ import annotations

import pytest

from flows.backends import open_backend
from flows.cycle import steps
from flows.data.output import write_table
from flows.orchestration.score_flow import score
from tests.flows.live.homes import live_home, new_loans
from tests.integration.conftest import artifacts

pytestmark = pytest.mark.prefect_server


def test_file_scoring_under_a_split_test_reports_the_rows_logged_per_arm(prefect_server, tmp_path):
    settings = live_home(tmp_path / "home", mode="split", share=0.3)
    rows = new_loans(20).drop(columns=["outcome"])
    source = write_table(rows, tmp_path / "traffic.csv")

    state = score(
        home=str(settings.home),
        input_file=str(source),
        out_file=str(tmp_path / "scores.csv"),
        return_state=True,
    )

    assert state.is_completed(), state.message
    result = state.result()
    with open_backend(settings) as backend:
        test = steps.live_candidate(backend)
        summary = steps.score_log(backend).summary(test.version, through_period=99)
    assert result["logged"] == summary.scored and set(summary.scored) == {"candidate", "champion"}
    assert sum(result["logged"].values()) == result["rows"] == len(rows)
    report = artifacts(state.state_details.flow_run_id)["loans-scoring"]
    logged = ", ".join(f"{n:,} {arm}" for arm, n in summary.scored.items())
    assert f"Live test: {len(rows):,} row(s) logged in the score log ({logged})." in report.data
    assert "under a live test" in report.description
