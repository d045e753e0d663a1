"""The cycle's heavy stages run in the warehouse: the stage procedure's handler, offline.

The handler runs in-process on a Snowpark session over fakesnow, with the ML registry
replaced at its boundary (``ml_stand_in.py``); the worker's CALLs reach it through
``stage_calls.py``. What the worker receives is metered (``traffic.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.backends.snowflake.evidence import EVIDENCE_TABLE, JUDGED_COLUMNS
from flows.backends.snowflake.stage_procedure import PROCEDURE, run_stage
from flows.backends.snowflake.warehouse import WarehouseStages
from flows.cycle import stages
from flows.cycle.stages import Cycle, CycleParameters, Handoff
from flows.errors import ConfigError
from flows.package_identity import local_identity
from flows.records import Outcome
from tests.snowflake.warehouse_fixtures import offline_account

pytest.importorskip("fakesnow")

ROWS_PER_WEEK = 30
HOLDOUT_WEEKS = 4


@pytest.fixture
def account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path):
    return offline_account(
        fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path, rows_per_week=ROWS_PER_WEEK
    )


def _cycle(backend, settings, **parameters) -> Cycle:
    return Cycle(
        backend, settings, CycleParameters(policy="auc_greater", **parameters), actor="tester"
    )


def test_warehouse_cycle_runs_retrain_and_evaluate_in_the_procedure(account):
    with open_backend(account.settings) as backend:
        assert backend.warehouse is not None
        outcome = _cycle(backend, account.settings).run()
    outcome.raise_error()
    assert [stage for stage, _ in account.calls] == ["version", "retrain", "evaluate"]
    assert outcome.report.entry.outcome in (Outcome.PROMOTED, Outcome.KEPT)
    assert outcome.handoff.challenger.version in account.ml.models["CREDIT_APPROVAL"].versions


def test_warehouse_mode_brings_down_only_the_holdout_label_and_two_scores(account):
    with open_backend(account.settings) as backend, account.traffic.window() as seen:
        report = stages.weekly_cycle(
            backend, account.settings, ccpolicy.load_policy("auc_greater"), actor="tester"
        )
    holdout_rows = report.evaluation.n_rows
    assert holdout_rows == HOLDOUT_WEEKS * ROWS_PER_WEEK
    evidence = [t for t in seen.downloads() if EVIDENCE_TABLE in t.statement]
    assert [(t.rows, t.columns) for t in evidence] == [(holdout_rows, len(JUDGED_COLUMNS))]
    assert all(t.rows < holdout_rows for t in seen.downloads() if t not in evidence)
    assert not any(t.direction == "up" for t in seen.transfers)
    small = sum(t.cells for t in seen.downloads() if t not in evidence)
    assert seen.cells_down() <= holdout_rows * 3 + small
    assert small < 200  # version lists, tags, the ledger: a handful of rows, not data


def test_worker_mode_brings_the_training_window_down(account):
    with open_backend(account.worker_settings) as backend, account.traffic.window() as seen:
        assert backend.warehouse is None
        report = stages.weekly_cycle(
            backend, account.worker_settings, ccpolicy.load_policy("auc_greater"), actor="tester"
        )
    assert account.calls == []
    train_rows = 10 * ROWS_PER_WEEK
    assert max(t.rows for t in seen.downloads()) >= train_rows
    assert seen.cells_down() > report.evaluation.n_rows * 3 * 4


def test_warehouse_retrain_handler_answers_a_small_challenger_reference(account):
    with open_backend(account.worker_settings, session=account.procedure) as backend:
        plan = _cycle(backend, account.worker_settings).plan()
    request = json.dumps(
        {
            "settings": account.settings.to_dict(),
            "parameters": {"policy": "auc_greater"},
            "run_id": "run-1",
            "actor": "tester",
            "handoff": Handoff(plan=plan).to_json(),
        }
    )
    answer = json.loads(run_stage(account.procedure, "retrain", request))
    assert set(answer) == {"version", "logged", "reused"}
    assert answer["logged"] is True
    again = json.loads(run_stage(account.procedure, "retrain", request))
    assert again == {**answer, "reused": True}


def test_warehouse_evaluate_handler_writes_the_evidence_rows_of_its_run(account):
    with open_backend(account.settings) as backend:
        report = stages.weekly_cycle(backend, account.settings, ccpolicy.load_policy("auc_greater"))
    rows = account.procedure.table(EVIDENCE_TABLE).to_pandas()
    assert set(rows["RUN_ID"]) == {report.entry.run_id}
    assert list(rows.sort_values("ROW_NO")["LABEL"]) == list(report.evaluation.y_true)


def test_warehouse_version_handler_answers_the_code_identity(account):
    answer = json.loads(run_stage(account.procedure, "version", "{}"))
    assert answer == local_identity().to_dict()


def test_warehouse_handler_refuses_an_unknown_stage_in_one_line(account):
    with pytest.raises(ConfigError, match=r"Unknown stage 'train'; .* runs retrain, evaluate"):
        run_stage(account.procedure, "train", "{}")


def test_warehouse_mode_stops_before_training_when_the_deployed_code_differs(account, monkeypatch):
    from flows.backends.snowflake import warehouse

    other = local_identity().__class__("0.0.1", "0" * 64)
    monkeypatch.setattr(warehouse, "local_identity", lambda: other)
    with open_backend(account.settings) as backend:
        outcome = _cycle(backend, account.settings).run()
    assert isinstance(outcome.error, ConfigError)
    assert "ccflows snowflake setup" in str(outcome.error)
    assert "\n" not in str(outcome.error)
    assert [stage for stage, _ in account.calls] == ["version"]
    assert len(account.ml.models["CREDIT_APPROVAL"].versions) == 1  # nothing trained


def test_warehouse_retrain_runs_on_the_training_warehouse_then_returns(
    account, fakesnow_warehouse, fakesnow_schema
):
    from dataclasses import replace

    from tests.snowflake.conftest import FAKESNOW_DATABASE
    from tests.snowflake.traffic import watch

    procedure = fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema, warehouse="PROC_WH")
    where = replace(account.settings.snowflake, training_warehouse="TRAIN_WH")
    settings = replace(account.settings, snowflake=where)
    with open_backend(account.worker_settings, session=procedure) as backend:
        plan = _cycle(backend, account.worker_settings).plan()
    request = json.dumps(
        {"settings": settings.to_dict(), "handoff": Handoff(plan=plan).to_json(), "run_id": "r"}
    )
    with watch(procedure).window() as seen:
        run_stage(procedure, "retrain", request)
    used = [s for s in seen.statements if s.upper().startswith("USE WAREHOUSE")]
    assert [u.split()[-1].strip('"') for u in used] == ["TRAIN_WH", "PROC_WH"]
    assert procedure.sql("SELECT CURRENT_WAREHOUSE()").collect()[0][0] == "PROC_WH"


_SET_TIMEOUT = re.compile(r"^ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = (\d+)$")


def _timeouts(statements: list[str], session_timeout: int) -> tuple[list[tuple[str, int]], int]:
    """Each statement with the statement timeout it ran under, and the timeout left at the end."""
    current, ran = session_timeout, []
    for statement in statements:
        if found := _SET_TIMEOUT.match(statement):
            current = int(found.group(1))
        else:
            ran.append((statement, current))
    return ran, current


def test_warehouse_stage_calls_run_under_the_stage_timeout_and_nothing_else_does(
    account, monkeypatch
):
    from tests.snowflake import stage_calls

    where = replace(account.settings.snowflake, stage_timeout_seconds=7200)
    settings = replace(account.settings, snowflake=where)
    session_timeout = where.statement_timeout_seconds

    def failing(session, stage, request):
        raise RuntimeError("the procedure ran out of memory")

    with monkeypatch.context() as patch, account.traffic.window() as failed:
        patch.setattr(stage_calls, "run_stage", failing)
        with pytest.raises(RuntimeError, match="out of memory"):
            WarehouseStages(account.worker, settings).check_code()
    ran, left = _timeouts(failed.statements, session_timeout)
    assert [timeout for _, timeout in ran] == [7200] and left == session_timeout  # set back

    with open_backend(settings) as backend, account.traffic.window() as seen:
        stages.weekly_cycle(backend, settings, ccpolicy.load_policy("auc_greater"))
    ran, left = _timeouts(seen.statements, session_timeout)
    calls = [timeout for statement, timeout in ran if PROCEDURE in statement]
    others = {timeout for statement, timeout in ran if PROCEDURE not in statement}
    assert calls == [7200] * 3  # version, retrain, evaluate
    assert others == {session_timeout} and left == session_timeout
