"""The score log on Snowflake, and the arm assignment in SQL, on a real Snowpark session (fakesnow)."""

from __future__ import annotations

import pandas as pd
import pytest

from flows.backends.snowflake.score_log import SnowflakeScoreLog, score_log_ddl
from flows.errors import ReadModeError
from flows.identifiers import sql_literal
from flows.live.assignment import assign_arms, candidate_arm_sql
from flows.live.score_log import LogSummary
from tests.flows.live.score_log_contract import ScoreLogContract, scores
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


class TestSnowflakeScoreLog(ScoreLogContract):
    @pytest.fixture
    def log(self, snowpark_session, fakesnow_schema):
        for ddl in score_log_ddl(f"{FAKESNOW_DATABASE}.{fakesnow_schema}").values():
            snowpark_session.sql(ddl).collect()
        return SnowflakeScoreLog(
            snowpark_session, database=FAKESNOW_DATABASE, schema=fakesnow_schema, model_name="M"
        )

    def snapshot(self, log):
        """Both tables' rows, and no loading table left behind."""
        tables = (log.scores_table, log.outcomes_table)
        rows = [sorted(map(tuple, log.session.table(t).collect())) for t in tables]
        leftovers = log.session.sql("SHOW TABLES LIKE 'LIVE_INCOMING_%'").collect()
        return rows, leftovers


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


def test_setup_creates_the_live_tables_once(snowpark_session, fakesnow_schema):
    from flows.backends.snowflake import _setup

    schema = f"{FAKESNOW_DATABASE}.{fakesnow_schema}"
    location = _setup.Location(
        FAKESNOW_DATABASE, fakesnow_schema, f"{schema}.L", f"{schema}.K", f"{schema}.H"
    )

    def sql(query, params):
        return snowpark_session.sql(query, params=params).collect()

    first = _setup.setup(sql, location).changes
    assert f"created {schema}.LIVE_SCORE_LOG" in first
    assert f"created {schema}.LIVE_OUTCOMES" in first
    again = _setup.setup(sql, location).changes
    assert f"{schema}.LIVE_SCORE_LOG unchanged" in again
