"""A live test end to end on the Snowflake backend, offline: candidate, scoring, outcomes, looks.

On fakesnow with the ML registry replaced at its boundary (``ml_stand_in.py``). A
weekly cycle in live mode opens the candidate; warehouse scoring logs each row with
its arm (assigned in SQL); outcomes come in through ``ccflows ingest-outcomes`` and
the looks through ``ccflows review``, both the real CLI on a config.toml naming the
schema. The metered session shows that the join of outcomes to the score log runs
in the warehouse: a review brings down the matured rows, never the whole log.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from flows.backends import open_backend
from flows.backends.snowflake import _ml as snowflake_ml
from flows.backends.snowflake import backend as snowflake_backend
from flows.backends.snowflake import registry as snowflake_registry
from flows.backends.snowflake.live_scoring import ARM, CANDIDATE_PROBABILITY, ID, PERIOD
from flows.backends.snowflake.session import borrow_session
from flows.backends.snowflake.table_scoring import PROBABILITY, score_to_table
from flows.cli import main
from flows.config import load_settings
from flows.cycle import stages, steps
from flows.data.quickstart import GeneratorSpec, generate_weeks
from flows.live.assignment import assign_arms
from flows.names import DATE_COLUMN, FEATURE_COLUMNS, LABEL_COLUMN, WEEK_COLUMN
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote
from tests.snowflake.conftest import FAKESNOW_DATABASE
from tests.snowflake.ml_stand_in import MLStandIn
from tests.snowflake.stage_calls import route_stage_calls
from tests.snowflake.traffic import watch

pytest.importorskip("fakesnow")

ROWS_PER_WEEK = 60
CONFIG = """
backend = "snowflake"
model_name = "CREDIT_APPROVAL"

[snowflake]
database = "{database}"
schema = "{schema}"
compute = "warehouse"

[data]
label = "{label}"
time_column = "{time}"
period_column = "{week}"
period = "week"
features = {features}
id_column = "app_id"
positive_label = "yes"

[live]
mode = "{mode}"
share = 0.5
maturity = 1
params = {{ max_looks = 2, max_rows = {max_rows} }}
"""


def _applications(first: int, last: int) -> pd.DataFrame:
    rows = generate_weeks(first, last, GeneratorSpec(rows_per_week=ROWS_PER_WEEK))
    return rows.assign(
        app_id=rows[WEEK_COLUMN] * 1000 + rows.groupby(WEEK_COLUMN).cumcount(),
        **{LABEL_COLUMN: np.where(rows[LABEL_COLUMN] == 1, "yes", "no")},
    )


@pytest.fixture
def account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path):
    """A home naming a fresh schema with weeks 0–19 and a live champion; the CLI borrows the session."""
    session = fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema)
    procedure = fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema)
    calls = route_stage_calls(session, procedure)  # the stage procedure, in-process
    ml = MLStandIn()
    monkeypatch.setattr(snowflake_registry, "open_ml_registry", ml.open)
    monkeypatch.setattr(snowflake_ml, "open_ml_registry", ml.open)
    monkeypatch.setattr(
        snowflake_backend, "open_session", lambda s, parameters=None: borrow_session(session, s)
    )
    for name in ("CC_HOME", "CC_CONFIG", "CC_BACKEND", "CC_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()

    def configure(mode: str) -> object:
        (home / "config.toml").write_text(
            CONFIG.format(
                database=FAKESNOW_DATABASE,
                schema=fakesnow_schema,
                label=LABEL_COLUMN,
                time=DATE_COLUMN,
                week=WEEK_COLUMN,
                features=json.dumps(list(FEATURE_COLUMNS)),
                mode=mode,
                max_rows=2 * ROWS_PER_WEEK,
            )
        )
        return load_settings(home=home)

    settings = configure("shadow")
    with open_backend(settings, session=session) as backend:
        backend.source.write(_applications(0, 19))
        steps.train_champion(backend, settings, actor="tester")
    calls.clear()
    yield session, configure, tmp_path, calls
    fakesnow_warehouse.close(session)
    fakesnow_warehouse.close(procedure)


def _outcomes(path, ids, labels) -> str:
    written = np.where(np.asarray(labels) == 1, "yes", "no")
    pd.DataFrame({"app_id": ids, LABEL_COLUMN: written}).to_csv(path, index=False)
    return str(path)


def _labels(scored: pd.DataFrame, mode: str, look: int) -> np.ndarray:
    """Outcomes that decide each look whatever the test's random salt put in which arm.

    Shadow: noise at the first look (no crossing), then labels the candidate ranks
    perfectly (a clear gain: promoted). Split: labels the champion ranks perfectly on
    its arm and noise on the candidate's (the candidate far behind: continued, then
    rejected at the last look).
    """
    noise = np.random.default_rng(look).integers(0, 2, len(scored))
    if mode == "shadow":
        if look == 1:
            return noise
        candidate = scored[CANDIDATE_PROBABILITY]
        return (candidate > candidate.median()).to_numpy().astype(int)
    champion = scored[ARM] == "champion"
    ranked = scored[PROBABILITY] > scored.loc[champion, PROBABILITY].median()
    return np.where(champion, ranked.astype(int), noise)


def _review(capsys) -> dict:
    assert main(["review", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mode", ["shadow", "split"])
def test_a_live_test_runs_end_to_end_on_snowflake(account, mode, capsys, monkeypatch):
    session, configure, folder, calls = account
    settings = configure(mode)
    monkeypatch.setenv("CC_HOME", str(settings.home))
    traffic = watch(session)

    # a weekly cycle in live mode, its stages in the warehouse, opens the candidate
    with open_backend(settings) as backend:
        champion = backend.registry.live_version()
        report = stages.weekly_cycle(backend, settings, AlwaysPromote(), actor="tester")
        test = steps.live_candidate(backend)
        status = backend.registry.status()
    assert {"retrain", "evaluate"} <= {stage for stage, _ in calls}
    assert report.entry.outcome is Outcome.CANDIDATE
    assert (test.version, test.champion_version, test.mode) == (
        report.entry.challenger_version,
        champion,
        mode,
    )
    assert status.live_version == champion and status.challenger_alias == test.version

    # `ccflows score --to-table` of weeks 18 and 19: the stage procedure, arms assigned in SQL
    scored = {}
    for week in (18, 19):
        source = f"SELECT * FROM CREDIT_APPLICATIONS WHERE {WEEK_COLUMN} = {week}"
        assert main(["score", "--to-table", f"SCORED_{week}", "--source", source]) == 0
        said = capsys.readouterr().out
        assert f"Live test: logged {ROWS_PER_WEEK} row(s) in the score log" in said
        assert calls[-1][0] == "score"
        scored[week] = session.table(f"SCORED_{week}").to_pandas()
    both = pd.concat(scored.values(), ignore_index=True)
    assert set(both[PERIOD]) == {18, 19} and len(both) == 2 * ROWS_PER_WEEK
    if mode == "split":
        decides = assign_arms(both[ID].tolist(), salt=test.salt, share=0.5)
        assert (both[ARM] == "candidate").tolist() == decides.tolist()
        assert 0 < decides.sum() < len(both)
    else:
        assert set(both[ARM]) == {"champion"} and both[CANDIDATE_PROBABILITY].notna().all()

    # outcomes of both weeks arrive; only week 18 is mature (clock 19, maturity 1)
    first = _outcomes(folder / "outcomes-1.csv", scored[18][ID], _labels(scored[18], mode, 1))
    with traffic.window() as ingesting:
        assert main(["ingest-outcomes", "--json", first]) == 0
    assert ingesting.cells_up() == 3 * ROWS_PER_WEEK  # id, label, observed_at go up once
    assert max(t.rows for t in ingesting.downloads()) < ROWS_PER_WEEK  # checked in SQL
    assert json.loads(capsys.readouterr().out) == {"added": ROWS_PER_WEEK, "not_yet_mature": 0}
    with traffic.window() as seen:
        look_one = _review(capsys)
    assert look_one["outcome"] == "continued" and look_one["rows"] == ROWS_PER_WEEK
    from_log = [t for t in seen.downloads() if "LIVE_SCORE_LOG" in t.statement]
    joined = [t for t in from_log if "JOIN" in t.statement and "LIVE_OUTCOMES" in t.statement]
    assert sum(t.rows for t in joined) == ROWS_PER_WEEK  # the matured rows, not week 19's too
    assert sum(t.rows for t in from_log) <= ROWS_PER_WEEK + 4  # plus a few counts
    assert main(["status", "--json"]) == 0
    live = json.loads(capsys.readouterr().out)["live_test"]
    assert (live["candidate"], live["looks"], live["matured"]) == (test.version, 1, ROWS_PER_WEEK)
    assert live["with_outcome"] == ROWS_PER_WEEK and sum(live["scored"].values()) == len(both)

    # week 19 matures when week 20 is stored; its outcomes decide at the last look
    second = _outcomes(folder / "outcomes-2.csv", scored[19][ID], _labels(scored[19], mode, 2))
    assert main(["ingest-outcomes", second]) == 0
    assert "60 outcomes added; 60 for rows not yet mature" in capsys.readouterr().out
    with open_backend(settings, session=session) as backend:
        backend.source.write(_applications(20, 20))
    look_two = _review(capsys)
    assert look_two["rows"] == 2 * ROWS_PER_WEEK and len(look_two["looks"]) == 2

    with open_backend(settings, session=session) as backend:
        outcomes = [e.outcome for e in steps.history(backend)]
        status = backend.registry.status()
        assert steps.live_candidate(backend) is None
    expected = Outcome.PROMOTED if mode == "shadow" else Outcome.REJECTED
    assert look_two["outcome"] == expected.value
    last = look_two["looks"][-1]
    assert (last["z"] >= last["boundary"]) is (mode == "shadow")  # decided by the look itself
    assert outcomes[-3:] == [Outcome.CANDIDATE, Outcome.CONTINUED, expected]
    assert status.challenger_alias is None
    assert status.consistent
    assert status.live_version == (test.version if mode == "shadow" else champion)


@pytest.mark.parametrize(
    ("labels", "count", "example"),
    [(["maybe"] * 4, 4, "maybe"), (["yes", "nope", "yes", "nope"], 2, "nope")],
)
def test_outcome_labels_the_stored_table_never_holds_are_refused(
    account, labels, count, example, capsys, monkeypatch
):
    session, configure, folder, _ = account
    settings = configure("shadow")
    monkeypatch.setenv("CC_HOME", str(settings.home))
    with open_backend(settings, session=session) as backend:
        stages.weekly_cycle(backend, settings, AlwaysPromote(), actor="tester")
        source = f"SELECT * FROM CREDIT_APPLICATIONS WHERE {WEEK_COLUMN} = 19"
        score_to_table(backend, source=source, target="SCORED")
        assert steps.stored_labels(backend) == {"yes", "no"}
    traffic = watch(session)
    ids = session.table("SCORED").to_pandas()[ID].head(4)
    path = folder / "outcomes.csv"
    pd.DataFrame({"app_id": ids, LABEL_COLUMN: labels}).to_csv(path, index=False)
    with traffic.window() as seen:
        assert main(["ingest-outcomes", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"has {count} label(s) the stored data never holds (e.g. {example!r};" in err
    assert "nothing was stored" in err
    assert not seen.cells_up()  # refused before anything went up
    assert max(t.rows for t in seen.downloads()) <= 2  # the distinct labels, not the rows
    with open_backend(settings, session=session) as backend:
        summary = steps.score_log(backend).summary(
            steps.live_candidate(backend).version, through_period=99
        )
    assert summary.with_outcome == 0
