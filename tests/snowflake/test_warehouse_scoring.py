"""Scoring in the warehouse into a table: whole or not at all, each row with its version.

The whole warehouse path offline: retrain → evaluate → decide → score to table, on
fakesnow with the ML registry replaced at its boundary (``ml_stand_in.py``).
"""

from __future__ import annotations

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.backends.snowflake.table_scoring import MODEL_VERSION, PROBABILITY
from flows.cli import main
from flows.cycle import stages, steps
from flows.errors import ConfigError, DataValidationError
from tests.snowflake.warehouse_fixtures import offline_account

pytest.importorskip("fakesnow")


@pytest.fixture
def account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path):
    return offline_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path)


def _tables(session) -> set[str]:
    schema = session.get_current_schema().strip('"')
    rows = session.sql(
        "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ?", params=[schema]
    ).collect()
    return {row[0] for row in rows}


def test_warehouse_path_end_to_end_retrain_evaluate_decide_score_to_table(account):
    with open_backend(account.settings) as backend:
        report = stages.weekly_cycle(
            backend, account.settings, ccpolicy.load_policy("auc_greater"), actor="tester"
        )
        live = backend.registry.live_version()
        with account.traffic.window() as seen:
            result = steps.score_to_table(backend, target="SCORED")
    assert live == report.entry.live_after
    assert [stage for stage, _ in account.calls][-1] == "score"
    scored = account.procedure.table("SCORED").to_pandas()
    stored = account.procedure.table("CREDIT_APPLICATIONS").count()
    assert result["n_rows"] == len(scored) == stored
    assert set(scored[MODEL_VERSION]) == {live}
    assert scored[PROBABILITY].between(0, 1).all()
    # one-cell answers (the procedure's, and its timeout's two ALTER SESSION): no feature came down
    assert all(t.cells <= 1 for t in seen.downloads()) and seen.cells_down() <= 3


def test_warehouse_scoring_of_a_query_replaces_the_table_whole(account):
    with open_backend(account.settings) as backend:
        steps.score_to_table(backend, target="SCORED")
        query = (
            "SELECT * FROM CREDIT_APPLICATIONS "
            "WHERE WEEK_NUMBER = (SELECT MAX(WEEK_NUMBER) FROM CREDIT_APPLICATIONS)"
        )
        again = steps.score_to_table(backend, target="SCORED", source=query)
    assert again["n_rows"] == account.procedure.table("SCORED").count() == 30
    assert not [t for t in _tables(account.procedure) if t.startswith("SCORES_")]


def test_warehouse_scoring_that_fails_leaves_the_target_as_it_was(account, monkeypatch):
    from tests.snowflake import ml_stand_in

    with open_backend(account.settings) as backend:
        steps.score_to_table(backend, target="SCORED")
        before = account.procedure.table("SCORED").count()

        def broken(self, data, *, function_name="predict_proba"):
            return data.select("NO_SUCH_COLUMN")  # fails when the table is written

        monkeypatch.setattr(ml_stand_in._VersionHandle, "run", broken)
        with pytest.raises(Exception, match="NO_SUCH_COLUMN"):
            steps.score_to_table(backend, target="SCORED")
        with pytest.raises(Exception, match="NO_SUCH_COLUMN"):
            steps.score_to_table(backend, target="NEVER_WRITTEN")
    tables = _tables(account.procedure)
    assert account.procedure.table("SCORED").count() == before
    assert "NEVER_WRITTEN" not in tables
    assert not [t for t in tables if t.startswith("SCORES_")]


def test_warehouse_scoring_refuses_rows_without_the_live_features(account):
    account.procedure.sql("CREATE TABLE NO_FEATURES (ID NUMBER)").collect()
    with (
        open_backend(account.settings) as backend,
        pytest.raises(DataValidationError, match="lack feature column"),
    ):
        steps.score_to_table(backend, target="SCORED", source="NO_FEATURES")
    assert "SCORED" not in _tables(account.procedure)


def test_warehouse_scoring_needs_warehouse_mode(account):
    with (
        open_backend(account.worker_settings) as backend,
        pytest.raises(ConfigError, match='compute = "warehouse"'),
    ):
        steps.score_to_table(backend, target="SCORED")


def test_warehouse_scoring_refuses_an_invalid_table_name_in_one_line(account):
    with open_backend(account.settings) as backend, pytest.raises(ConfigError) as error:
        steps.score_to_table(backend, target="SCORED; DROP TABLE X")
    assert "\n" not in str(error.value)


def test_warehouse_score_cli_to_table_on_the_embedded_backend_exits_2(tmp_path, capsys):
    code = main(["score", "--home", str(tmp_path), "--to-table", "SCORED"])
    assert code == 2
