"""What a real Snowpark session does on fakesnow, and the seams that close its gaps.

Each test runs Snowpark's own API over the real connector against the fakesnow
server (``snowpark_session``); the rewrites themselves are checked as text first.
"""

from __future__ import annotations

import pandas as pd
import pytest
from snowflake.snowpark import functions as sf
from snowflake.snowpark.exceptions import SnowparkSQLException

from tests.snowflake.snowpark_fakesnow import fakesnow_statements, rewrite_hashes
from tests.snowflake.traffic import watch

pytest.importorskip("fakesnow")

FRAME = pd.DataFrame(
    {
        "ID": [1, 2, 3],
        "name": ["a", "b", None],
        "SCORE": [0.5, 0.25, float("nan")],
        "FLAG": [True, False, True],
        "OPENED_AT": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-20"]),
    }
)


def _rows(session, query: str) -> list[tuple]:
    return [tuple(row) for row in session.sql(query).collect()]


class TestRewritesAsText:
    def test_fakesnow_rewrites_leave_plain_statements_alone(self):
        statement = "SELECT \"HASHED\", HASHES FROM T WHERE A = 'HASH('"
        assert fakesnow_statements(statement) == [statement]

    def test_fakesnow_hash_rewrite_keeps_nested_calls_and_quoted_parentheses(self):
        rewritten = rewrite_hashes("SELECT HASH_AGG(HASH(A), CONCAT(B, ')')) FROM T")
        assert rewritten.count("HASH(") == 2 and "HASH_AGG" not in rewritten
        assert "CONCAT(B, ')')" in rewritten

    def test_fakesnow_swap_becomes_three_renames_through_a_parked_name(self):
        first, second, third = fakesnow_statements("ALTER TABLE DB.SC.A SWAP WITH DB.SC.B")
        parked = first.rsplit(" ", 1)[1]
        assert parked.startswith("DB.SC.SWAP_")
        assert (first, second, third) == (
            f"ALTER TABLE DB.SC.A RENAME TO {parked}",
            "ALTER TABLE DB.SC.B RENAME TO DB.SC.A",
            f"ALTER TABLE {parked} RENAME TO DB.SC.B",
        )

    def test_fakesnow_qualified_temporary_tables_become_plain_tables(self):
        (statement,) = fakesnow_statements(
            'CREATE SCOPED TEMPORARY TABLE IF NOT EXISTS "D"."S"."T" (A INT)'
        )
        assert statement == 'CREATE TABLE IF NOT EXISTS "D"."S"."T" (A INT)'
        assert fakesnow_statements("CREATE TEMPORARY TABLE T (A INT)") == [
            "CREATE TEMPORARY TABLE T (A INT)"
        ]


class TestWhatRunsUnchanged:
    def test_fakesnow_sql_table_filter_select_and_to_pandas(self, snowpark_session):
        session = snowpark_session
        session.sql("CREATE TABLE T (ID NUMBER, W NUMBER, NAME VARCHAR)").collect()
        session.sql(
            "INSERT INTO T VALUES (?, ?, ?), (2, 1, 'y'), (3, 2, 'z')", [1, 0, "x"]
        ).collect()
        table = session.table("T")
        chosen = table.filter(sf.col("W").between(1, 2)).select("ID", "NAME").sort("ID")
        assert [tuple(r) for r in chosen.collect()] == [(2, "y"), (3, "z")]
        assert table.to_pandas().sort_values("ID")["NAME"].tolist() == ["x", "y", "z"]
        assert table.group_by("W").agg(sf.count("ID").alias("N")).count() == 3

    def test_fakesnow_datediff_and_floor_compute_weeks_on_the_server(self, snowpark_session):
        session = snowpark_session
        session.sql("CREATE TABLE E (T TIMESTAMP_NTZ)").collect()
        session.sql(
            "INSERT INTO E VALUES ('2024-01-01'), ('2024-01-08 12:00'), ('2024-01-21')"
        ).collect()
        first = sf.to_timestamp(sf.lit("2024-01-01 00:00:00"))
        weeks = session.table("E").select(
            sf.floor(sf.datediff("day", first, sf.col("T")) / sf.lit(7)).alias("WEEK")
        )
        assert sorted(int(r[0]) for r in weeks.collect()) == [0, 1, 2]

    def test_fakesnow_create_table_as_select_and_rename(self, snowpark_session):
        session = snowpark_session
        session.sql("CREATE TABLE SRC AS SELECT 1 AS A UNION ALL SELECT 2").collect()
        session.sql("CREATE OR REPLACE TABLE COPY AS SELECT A * 10 AS A FROM SRC").collect()
        session.sql("ALTER TABLE COPY RENAME TO MOVED").collect()
        assert sorted(_rows(session, "SELECT A FROM MOVED")) == [(10,), (20,)]
        with pytest.raises(SnowparkSQLException, match="does not exist"):
            session.table("COPY").collect()

    @pytest.mark.parametrize("table_type", ["", "temporary", "transient"])
    def test_fakesnow_save_as_table_of_a_query_in_each_mode(self, snowpark_session, table_type):
        session = snowpark_session
        session.sql("CREATE TABLE SRC AS SELECT 1 AS A UNION ALL SELECT 2").collect()
        query = session.table("SRC")
        query.write.save_as_table("OUT", mode="overwrite", table_type=table_type)
        query.write.save_as_table("OUT", mode="append", table_type=table_type)
        only_one = query.filter(sf.col("A") == 1)
        only_one.write.save_as_table("OUT", mode="overwrite", table_type=table_type)
        assert _rows(session, "SELECT A FROM OUT") == [(1,)]
        if table_type != "temporary":  # SHOW TABLES lists no temporary table on fakesnow
            with pytest.raises(SnowparkSQLException, match="already exists"):
                query.write.save_as_table("OUT", mode="errorifexists", table_type=table_type)


class TestSeams:
    def test_fakesnow_a_closed_session_is_closed_for_good(
        self, fakesnow_warehouse, fakesnow_schema
    ):
        """``close()`` logs out, so Snowpark's exit hook has nothing left to retry (gaps 1, 2)."""
        session = fakesnow_warehouse.session("CC_DB", fakesnow_schema)
        session.close()  # no SYSTEM$CANCEL_ALL_QUERIES error
        assert session.connection.is_closed()
        sent = len(watch(session).statements)
        session._close_at_exit()  # what atexit runs at the end: now a no-op
        assert len(watch(session).statements) == sent

    def test_fakesnow_create_dataframe_uploads_a_pandas_frame(self, snowpark_session):
        """PUT of the Parquet and COPY INTO run for real (gaps 3–5); types as INFER_SCHEMA's."""
        frame = snowpark_session.create_dataframe(FRAME)
        types = {f.name: type(f.datatype).__name__ for f in frame.schema.fields}
        assert types == {
            "ID": "LongType",
            '"name"': "StringType",
            "SCORE": "DoubleType",
            "FLAG": "BooleanType",
            "OPENED_AT": "TimestampType",
        }
        back = frame.to_pandas().sort_values("ID", ignore_index=True)
        pd.testing.assert_frame_equal(back, FRAME, check_dtype=False)

    def test_fakesnow_write_pandas_creates_appends_and_overwrites(self, snowpark_session):
        session = snowpark_session
        session.write_pandas(FRAME, "W", auto_create_table=True, table_type="transient")
        session.write_pandas(FRAME, "W")
        assert session.table("W").count() == 6
        session.write_pandas(FRAME.head(1), "W", overwrite=True)  # truncates
        assert session.table("W").count() == 1
        narrower = FRAME[["ID"]]
        session.write_pandas(narrower, "W", auto_create_table=True, overwrite=True)  # replaces
        assert session.table("W").columns == ["ID"]

    def test_fakesnow_write_pandas_refuses_another_schema_in_one_line(self, snowpark_session):
        with pytest.raises(NotImplementedError, match="session's own schema"):
            snowpark_session.write_pandas(FRAME, "W", schema="ELSEWHERE", auto_create_table=True)

    def test_fakesnow_cache_result_uses_a_scoped_temporary_table(self, snowpark_session):
        snowpark_session.sql("CREATE TABLE SRC AS SELECT 1 AS A").collect()
        cached = snowpark_session.table("SRC").cache_result()
        assert cached.count() == 1
        assert any("SCOPED TEMPORARY" in s for s in watch(snowpark_session).statements)

    def test_fakesnow_swap_with_exchanges_two_tables(self, snowpark_session):
        session = snowpark_session
        session.sql("CREATE TABLE LIVE AS SELECT 'old' AS V").collect()
        session.sql("CREATE TABLE STAGED AS SELECT 'new' AS V").collect()
        session.sql("ALTER TABLE LIVE SWAP WITH STAGED").collect()
        assert _rows(session, "SELECT V FROM LIVE") == [("new",)]
        assert _rows(session, "SELECT V FROM STAGED") == [("old",)]
        assert watch(session).statements[-3] == "ALTER TABLE LIVE SWAP WITH STAGED"

    def test_fakesnow_hash_is_signed_64_bit_and_hash_agg_ignores_order(self, snowpark_session):
        session = snowpark_session
        session.sql("CREATE TABLE H AS SELECT 1 AS A, 'x' AS B UNION ALL SELECT 2, 'y'").collect()
        hashes = [r[0] for r in session.sql("SELECT HASH(A, B) FROM H").collect()]
        assert all(-(2**63) <= h < 2**63 for h in hashes) and len(set(hashes)) == 2
        ordered = _rows(session, "SELECT HASH_AGG(A, B) FROM (SELECT * FROM H ORDER BY A)")
        reversed_ = _rows(session, "SELECT HASH_AGG(A, B) FROM (SELECT * FROM H ORDER BY A DESC)")
        assert ordered == reversed_
        assert _rows(session, "SELECT HASH_AGG(A, B) FROM H WHERE A > 5") == [(0,)]

    def test_fakesnow_create_dataframe_of_python_rows(self, snowpark_session):
        frame = snowpark_session.create_dataframe([[1, "a"], [2, None]], schema=["A", "B"])
        assert [tuple(r) for r in frame.sort("A").collect()] == [(1, "a"), (2, None)]

    def test_fakesnow_current_warehouse_follows_use_warehouse(
        self, fakesnow_warehouse, fakesnow_schema
    ):
        session = fakesnow_warehouse.session("CC_DB", fakesnow_schema, warehouse="cc_wh")
        assert session.get_current_warehouse() == '"CC_WH"'
        session.use_warehouse("TRAINING_WH")
        assert _rows(session, "SELECT CURRENT_WAREHOUSE() AS W") == [("TRAINING_WH",)]
        fakesnow_warehouse.close(session)


class TestWhatStaysOutOfReach:
    @pytest.mark.parametrize(
        "statement",
        [
            "SHOW MODELS IN SCHEMA CC_DB.PUBLIC",
            "SELECT MODEL(CC_DB.PUBLIC.M, V1)!PREDICT_PROBA(1.0) AS P",
            "CREATE PROCEDURE P() RETURNS STRING LANGUAGE PYTHON HANDLER='h' AS $$x$$",
        ],
    )
    def test_fakesnow_refuses_what_has_no_seam(self, snowpark_session, statement):
        with pytest.raises(SnowparkSQLException):
            snowpark_session.sql(statement).collect()
