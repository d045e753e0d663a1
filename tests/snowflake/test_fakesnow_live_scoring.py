"""Warehouse scoring under a live test: arms and periods in SQL, the score log written in SQL.

On fakesnow with the ML registry replaced at its boundary (``ml_stand_in.py``); the
backend runs in-process on the session a stored procedure would lend it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from flows.backends import open_backend
from flows.backends.snowflake import _ml as snowflake_ml
from flows.backends.snowflake import registry as snowflake_registry
from flows.backends.snowflake.live_scoring import ARM, CANDIDATE_PROBABILITY, ID, PERIOD
from flows.backends.snowflake.table_scoring import MODEL_VERSION, PROBABILITY, score_to_table
from flows.config import Settings, SnowflakeSettings
from flows.cycle import steps
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.quickstart import GeneratorSpec, generate_weeks
from flows.live.assignment import assign_arms
from flows.live.candidate import Candidate
from flows.live.settings import LiveSettings
from flows.records import LedgerEntry, Outcome
from tests.snowflake.conftest import FAKESNOW_DATABASE
from tests.snowflake.ml_stand_in import MLStandIn

pytest.importorskip("fakesnow")

CONTRACT = replace(DEFAULT_CONTRACT, id_column="app_id")
NEWEST = "SELECT * FROM CREDIT_APPLICATIONS WHERE WEEK_NUMBER = 19"


def _applications(first: int, last: int) -> pd.DataFrame:
    rows = generate_weeks(first, last, GeneratorSpec(rows_per_week=30))
    return rows.assign(app_id=np.arange(len(rows)) * 7 + 1000)  # whole-number ids


@pytest.fixture
def live_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path):
    """Settings factory over one schema with 20 weeks, a live champion and a candidate."""
    session = fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema)
    ml = MLStandIn()
    monkeypatch.setattr(snowflake_registry, "open_ml_registry", ml.open)
    monkeypatch.setattr(snowflake_ml, "open_ml_registry", ml.open)
    base = Settings(
        home=tmp_path / "home",
        backend="snowflake",
        contract=CONTRACT,
        snowflake=SnowflakeSettings(database=FAKESNOW_DATABASE, schema=fakesnow_schema),
        live=LiveSettings(mode="shadow", maturity=1),
    )
    with open_backend(base, session=session) as backend:
        backend.source.write(_applications(0, 19))
        steps.train_champion(backend, base, actor="tester")
        plan = steps.plan_cycle(backend, base)
        challenger = steps.retrain_challenger(backend, base, plan).version.name
        champion = backend.registry.live_version()

    def settings(mode: str, share: float = 0.4) -> Settings:
        live = LiveSettings(mode=mode, share=share, maturity=1)
        test = Candidate(challenger, str(champion), mode, share, "s-1", 1, live.policy)
        with open_backend(base, session=session) as backend:
            backend.registry.append_ledger(
                LedgerEntry(
                    outcome=Outcome.CANDIDATE,
                    reason="tested live",
                    champion_version=champion,
                    challenger_version=challenger,
                    details=test.to_details(),
                )
            )
        return replace(base, live=live)

    yield session, settings, ml
    fakesnow_warehouse.close(session)


def _scored(session, settings, target="SCORED"):
    with open_backend(settings, session=session) as backend:
        result = score_to_table(backend, source=NEWEST, target=target)
        test = steps.live_candidate(backend)
        summary = steps.score_log(backend).summary(test.version, through_period=99)
    table = session.table(target).to_pandas()
    return result, test, summary, table


def test_split_scoring_in_the_warehouse_assigns_arms_as_python_does(live_account):
    session, settings, _ = live_account
    result, test, summary, table = _scored(session, settings("split", share=0.4))
    assert sorted(table.columns) == sorted([ID, PERIOD, ARM, PROBABILITY, MODEL_VERSION])
    decides = assign_arms(table[ID].tolist(), salt="s-1", share=0.4)
    assert 0 < decides.sum() < len(table) == result.n_rows == 30
    assert (table[ARM] == "candidate").tolist() == decides.tolist()
    versions = np.where(decides, test.version, test.champion_version)
    assert table[MODEL_VERSION].tolist() == versions.tolist()
    assert set(table[PERIOD]) == {19}
    assert summary.scored == {"candidate": int(decides.sum()), "champion": int((~decides).sum())}


def test_shadow_scoring_logs_both_scores_and_rescoring_replaces_the_rows(live_account):
    session, settings, _ = live_account
    shadow = settings("shadow")
    _, test, first, table = _scored(session, shadow)
    assert set(table[ARM]) == {"champion"} and set(table[MODEL_VERSION]) == {test.champion_version}
    assert table[CANDIDATE_PROBABILITY].between(0, 1).all()
    assert not np.allclose(table[CANDIDATE_PROBABILITY], table[PROBABILITY])
    _, _, again, _ = _scored(session, shadow, target="SCORED_AGAIN")
    assert first.scored == again.scored == {"champion": 30}
    with open_backend(shadow, session=session) as backend:
        log = steps.score_log(backend)
        ids = table[ID].astype(str).tolist()
        log.add_outcomes(
            pd.DataFrame({"id": ids, "label": [i % 2 for i in range(30)], "observed_at": ""}),
            through_period=19,
        )
        matured = log.matured(test.version, through_period=19)
    assert len(matured) == 30
    by_id = matured.set_index("id").loc[ids]
    np.testing.assert_allclose(by_id["champion_score"], table[PROBABILITY])
    np.testing.assert_allclose(by_id["candidate_score"], table[CANDIDATE_PROBABILITY])


def test_with_live_mode_off_warehouse_scoring_is_as_always(live_account):
    session, settings, ml = live_account
    off = replace(settings("split"), live=LiveSettings())  # a test is open, but [live] is off
    ml.runs.clear()
    with open_backend(off, session=session) as backend:
        assert score_to_table(backend, source=NEWEST, target="PLAIN").logged is None
        assert steps.score_log(backend).newest_period() is None
        assert ml.runs == [(backend.registry.live_version(), "snowpark")]
    assert sorted(session.table("PLAIN").columns) == sorted(["APP_ID", PROBABILITY, MODEL_VERSION])


def test_score_to_table_through_the_stage_procedure_logs_in_the_warehouse(
    live_account, fakesnow_warehouse, fakesnow_schema, monkeypatch
):
    from flows.backends.snowflake import backend as snowflake_backend
    from flows.backends.snowflake.session import borrow_session
    from tests.snowflake.stage_calls import route_stage_calls

    session, settings, _ = live_account
    split = settings("split", share=0.5)
    worker = fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema)
    monkeypatch.setattr(
        snowflake_backend, "open_session", lambda s, parameters=None: borrow_session(worker, s)
    )
    calls = route_stage_calls(worker, session)
    try:
        with open_backend(split, mode="read") as backend:  # as `ccflows score --to-table`
            result = steps.score_to_table(backend, target="VIA_PROCEDURE", source=NEWEST)
            test = steps.live_candidate(backend)
            summary = steps.score_log(backend).summary(test.version, through_period=19)
    finally:
        fakesnow_warehouse.close(worker)
    assert [stage for stage, _ in calls][-1] == "score"
    assert result["n_rows"] == result["logged"] == sum(summary.scored.values()) == 30
    assert set(summary.scored) == {"champion", "candidate"}
