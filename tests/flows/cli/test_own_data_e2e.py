"""End to end on a table shaped nothing like the quickstart's, through the CLI as a user types it.

The commands are the README's "Your own data" example, read from the README itself
and run by bash: generate the churn files, ingest → train-champion → run → append a
week → run → score a file. The flows report to the session's Prefect server. Then
what they did is read back from the home: the contract each version recorded, the
sliding windows, the decisions and the scores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flows.backends import open_backend
from flows.config import load_settings
from flows.records import Outcome
from tests.conftest import REPO

pytestmark = [pytest.mark.prefect_server, pytest.mark.slow]

SECTION = "<!-- section: own-data -->"


def readme_commands() -> str:
    """The first bash block after the README's own-data marker."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index(SECTION) :]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def worked_example(prefect_server, tmp_path_factory) -> Path:
    """Run the README's commands in a fresh folder; returns that folder."""
    folder = tmp_path_factory.mktemp("own-data")
    (folder / "examples").symlink_to(REPO / "examples")
    (folder / ".venv").symlink_to(sys.prefix)
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in prefect_server.env.items() if not k.startswith("CC_")}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_commands()],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (folder / "output.txt").write_text(done.stdout)
    return folder


@pytest.fixture(scope="module")
def history(worked_example):
    """The versions and the ledger the commands left in the example's home."""
    with open_backend(load_settings(home=worked_example / "churn" / "home")) as backend:
        registry = backend.registry
        return registry.list_versions(), registry.ledger(), registry.live_version()


def test_the_readme_commands_ran_and_said_what_they_did(worked_example):
    output = (worked_example / "output.txt").read_text()
    assert "Ingested 4,000 rows from 1 file(s); the table holds weeks 0–15" in output
    assert "Ingested 250 rows from 1 file(s); the table holds weeks 0–16" in output
    assert "Scored 250 rows of churn/to-score.csv" in output


def test_every_version_recorded_the_churn_contract_it_was_trained_under(history):
    versions, _, _ = history
    for version in versions:
        contract = version.data_contract
        assert (contract.label, contract.positive_label) == ("churned", "yes")
        assert contract.id_column == "customer_id"
        assert "old_score" not in contract.features and "customer_id" not in contract.features
        assert set(contract.categorical) == {"plan", "country"}


def test_two_weekly_cycles_on_sliding_windows_decided_as_the_readme_says(history):
    versions, ledger, live = history
    bootstrap, first, second = ledger
    assert bootstrap.outcome is Outcome.BOOTSTRAPPED
    assert (first.data_week, second.data_week) == (15, 16)
    trained = {v.name: v.train_weeks for v in versions}
    assert trained[bootstrap.live_after] == (1, 8)
    assert trained[first.challenger_version] == (3, 10)
    assert trained[second.challenger_version] == (4, 11)
    # The README: the first run promotes the forest, the second keeps it.
    assert first.outcome is Outcome.PROMOTED and live == first.challenger_version
    assert second.outcome in (Outcome.KEPT, Outcome.INCONCLUSIVE)
    assert second.champion_version == live


def test_the_scored_file_keeps_the_id_and_scores_unseen_categories(worked_example, history):
    _, _, live = history
    scores = pd.read_csv(worked_example / "churn" / "scores.csv")
    given = pd.read_csv(worked_example / "churn" / "to-score.csv")
    assert list(scores.columns) == ["customer_id", "churned_probability", "model_version"]
    assert scores["customer_id"].tolist() == given["customer_id"].tolist()
    assert (scores["model_version"] == live).all()
    assert (
        scores["churned_probability"].between(0, 1).all()
        and scores["churned_probability"].notna().all()
    )
    unseen = given["plan"] == "enterprise"
    assert unseen.sum() == 25
    assert scores.loc[unseen, "churned_probability"].nunique() > 1


def test_the_score_flow_scores_a_file_like_the_cli(worked_example, tmp_path):
    from flows.orchestration.score_flow import score

    home = worked_example / "churn" / "home"
    out = tmp_path / "flow-scores.parquet"
    result = score(home=str(home), input_file=str(home.parent / "to-score.csv"), out_file=str(out))
    assert result == {"version": result["version"], "rows": 250, "out_file": str(out)}
    by_cli = pd.read_csv(worked_example / "churn" / "scores.csv")
    by_flow = pd.read_parquet(out)
    assert by_flow["customer_id"].tolist() == by_cli["customer_id"].tolist()
    assert by_flow["churned_probability"].to_numpy() == pytest.approx(
        by_cli["churned_probability"].to_numpy()
    )


def test_the_models_own_name_labels_its_versions_runs_artifacts_and_report(worked_example, history):
    from flows.cli import main
    from tests.integration.conftest import artifacts, read_flow_run

    versions, ledger, _ = history
    assert {version.model_name for version in versions} == {"CHURN"}
    decided = [entry for entry in ledger if entry.outcome is not Outcome.BOOTSTRAPPED]
    assert [read_flow_run(entry.run_id).name for entry in decided] == [
        "churn-week-15",
        "churn-week-16",
    ]
    assert {"churn-decision", "churn-metrics", "churn-versions"} <= set(
        artifacts(decided[-1].run_id)
    )
    report = worked_example / "report.html"
    home = worked_example / "churn" / "home"
    assert main(["report", "--home", str(home), "--out", str(report)]) == 0
    assert "<h1>CHURN over time</h1>" in report.read_text()
    assert "CREDIT" not in report.read_text()
