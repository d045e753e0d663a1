"""The score log on Snowflake, and the arm assignment in SQL, on a real Snowpark session (fakesnow)."""

from __future__ import annotations

import pandas as pd
import pytest

from flows.backends.snowflake.score_log import SnowflakeScoreLog, score_log_ddl
from flows.errors import DataValidationError, ReadModeError
from flows.identifiers import sql_literal
from flows.live.assignment import assign_arms, candidate_arm_sql
from flows.live.score_log import LogSummary, OutcomesAdded
from tests.flows.live.test_local_score_log import NAN, outcomes, scores
from tests.snowflake.conftest import FAKESNOW_DATABASE

pytest.importorskip("fakesnow")


@pytest.mark.parametrize(
    ("ids", "kind"),
    [
        (list(range(-50, 950)), "NUMBER"),
        ([f"app-{i}" for i in range(1000)] + ["O'Brien"], "VARCHAR"),
    ],
)
@pytest.mark.parametrize("share", [0.1, 0.5, 0.93])
def test_python_and_sql_put_the_same_ids_in_the_candidates_arm(snowpark_session, ids, kind, share):
    session = snowpark_session
    session.sql(f"CREATE TABLE IDS (ID {kind})").collect()
    session.write_pandas(pd.DataFrame({"ID": ids}), "IDS")
    salt = "test's salt"
    predicate = candidate_arm_sql('"ID"', salt_literal=sql_literal(salt), share=share)
    in_sql = {row[0] for row in session.sql(f"SELECT ID FROM IDS WHERE {predicate}").collect()}
    in_python = {
        i for i, yes in zip(ids, assign_arms(ids, salt=salt, share=share), strict=True) if yes
    }
    assert in_sql == in_python
    assert 0 < len(in_python) < len(ids)


@pytest.fixture
def log(snowpark_session, fakesnow_schema):
    for ddl in score_log_ddl(f"{FAKESNOW_DATABASE}.{fakesnow_schema}").values():
        snowpark_session.sql(ddl).collect()
    return SnowflakeScoreLog(
        snowpark_session, database=FAKESNOW_DATABASE, schema=fakesnow_schema, model_name="M"
    )


def test_scoring_an_id_again_in_a_period_replaces_its_row(log):
    log.write_scores(scores([("a", 1, "champion", 0.1, 0.2), ("b", 1, "champion", 0.3, 0.4)]))
    log.write_scores(scores([("a", 1, "champion", 0.9, 0.8), ("a", 2, "champion", 0.5, 0.5)]))
    log.add_outcomes(outcomes([("a", 1), ("b", 0)]), through_period=5)
    matured = log.matured("V2", through_period=5)
    assert matured[["id", "period", "champion_score", "label"]].values.tolist() == [
        ["a", 1, 0.9, 1],
        ["b", 1, 0.3, 0],
        ["a", 2, 0.5, 1],
    ]
    assert log.newest_period() == 2


def test_maturity_and_the_summary_are_computed_in_the_warehouse(log):
    log.write_scores(
        scores(
            [
                ("a", 1, "champion", 0.1, NAN),
                ("b", 1, "candidate", NAN, 0.7),
                ("c", 3, "candidate", NAN, 0.6),
            ]
        )
    )
    log.write_scores(scores([("z", 1, "champion", 0.5, 0.5)], candidate="OLD"))
    assert log.add_outcomes(outcomes([("a", 1), ("c", 0)]), through_period=2) == OutcomesAdded(2, 1)
    assert log.summary("V2", through_period=2) == LogSummary(
        scored={"candidate": 2, "champion": 1}, with_outcome=2, matured=1
    )
    matured = log.matured("V2", through_period=2)
    assert matured["id"].tolist() == ["a"] and pd.isna(matured["candidate_score"][0])


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            [],
            [("a", 1), ("a", 0)],
            r"^1 outcome\(s\) repeat an id within the input \(e.g. id 'a'\)",
        ),
        ([("a", 1)], [("b", 0), ("a", 1)], r"^1 outcome\(s\) are for ids that already have one"),
        (
            [],
            [("a", 1), ("x", 0), ("y", 1)],
            r"^2 outcome\(s\) are for ids the score log has never",
        ),
    ],
)
def test_bad_outcomes_are_refused_in_one_line_and_nothing_is_stored(log, first, second, message):
    log.write_scores(scores([("a", 1, "champion", 0.1, 0.2), ("b", 1, "champion", 0.3, 0.4)]))
    if first:
        log.add_outcomes(outcomes(first), through_period=1)
    with pytest.raises(DataValidationError, match=message):
        log.add_outcomes(outcomes(second), through_period=1)
    assert log.summary("V2", through_period=1).with_outcome == len(first)
    leftovers = log.session.sql("SHOW TABLES LIKE 'LIVE_INCOMING_%'").collect()
    assert leftovers == []


def test_reads_of_a_schema_without_the_tables_issue_no_ddl_and_find_nothing(
    snowpark_session, fakesnow_schema
):
    log = SnowflakeScoreLog(
        snowpark_session,
        database=FAKESNOW_DATABASE,
        schema=fakesnow_schema,
        model_name="M",
        mode="read",
    )
    assert log.newest_period() is None
    assert log.summary("V2", through_period=3) == LogSummary(scored={}, with_outcome=0, matured=0)
    assert log.matured("V2", through_period=3).empty
    with pytest.raises(ReadModeError, match="logging scores refused"):
        log.write_scores(scores([("a", 1, "champion", 0.1, 0.2)]))
