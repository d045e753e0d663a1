"""The score log on Snowflake: two tables of the schema, joined in SQL.

``LIVE_SCORE_LOG`` holds one row per (model, id, period); ``LIVE_OUTCOMES`` one per
(model, id). ``ccflows snowflake setup`` creates both (:func:`score_log_ddl`); reads
issue no DDL and read a missing table as empty. A write loads its rows into a
transient table of its own (dropped after), then replaces or checks and inserts in
one transaction, so it is all or nothing; the checks on outcomes (repeated, unknown or
already stored ids) and the join of outcomes to scores run in the warehouse.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, Final

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.snowflake._tables import ModelTable, is_missing_object
from flows.errors import SetupRequiredError
from flows.live.score_log import (
    MATURED_COLUMNS,
    LogSummary,
    OutcomesAdded,
    ScoreLog,
    conform_outcomes,
    conform_scores,
    refused_outcomes,
)
from flows.records import utc_now

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Session

logger = logging.getLogger(__name__)

SCORE_LOG_TABLE: Final = "LIVE_SCORE_LOG"
"""The score log's table in the backend's schema."""
OUTCOMES_TABLE: Final = "LIVE_OUTCOMES"
"""The outcomes' table in the backend's schema."""
_SCORE_TYPES = {
    "ID": "VARCHAR NOT NULL",
    "PERIOD": "NUMBER NOT NULL",
    "ARM": "VARCHAR NOT NULL",
    "VERSION": "VARCHAR NOT NULL",
    "CHAMPION_VERSION": "VARCHAR",
    "CHAMPION_SCORE": "FLOAT",
    "CANDIDATE_VERSION": "VARCHAR",
    "CANDIDATE_SCORE": "FLOAT",
    "SCORED_AT": "VARCHAR NOT NULL",
}
_OUTCOME_TYPES = {"ID": "VARCHAR NOT NULL", "LABEL": "NUMBER NOT NULL", "OBSERVED_AT": "VARCHAR"}
_EXAMPLES = 5
"""Ids fetched to name in a refusal."""


def score_log_ddl(schema: str) -> dict[str, str]:
    """``CREATE TABLE IF NOT EXISTS`` of both tables in ``schema`` (``DATABASE.SCHEMA``), by table."""
    return {
        f"{schema}.{table}": f"CREATE TABLE IF NOT EXISTS {schema}.{table} (MODEL_NAME VARCHAR "
        f"NOT NULL, {', '.join(f'{c} {t}' for c, t in types.items())})"
        for table, types in ((SCORE_LOG_TABLE, _SCORE_TYPES), (OUTCOMES_TABLE, _OUTCOME_TYPES))
    }


class SnowflakeScoreLog(ScoreLog):
    """One model's live scores and outcomes in the schema's two live tables.

    Args:
        session: The backend's session.
        database: The backend's database (a validated identifier).
        schema: The backend's schema (a validated identifier).
        model_name: The model whose rows these are.
        mode: ``read`` refuses every write.
    """

    def __init__(
        self, session: Session, *, database: str, schema: str, model_name: str, mode: Mode = "write"
    ) -> None:
        self.session = session
        self.database, self.schema = database, schema
        self.model_name = model_name
        self.mode = check_mode(mode)
        where = f"{database}.{schema}"
        self.scores_table = f"{where}.{SCORE_LOG_TABLE}"
        self.outcomes_table = f"{where}.{OUTCOMES_TABLE}"
        self._reads = ModelTable(self._sql, table=self.scores_table, model_name=model_name)

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Any]:
        return self.session.sql(query, params=params).collect()

    def _read(self, query: str, params: list[Any]) -> list[Any]:
        return self._reads.read_rows(query, params) or []

    # -- reading ------------------------------------------------------------------------

    def newest_period(self) -> int | None:
        rows = self._read(
            f"SELECT MAX(PERIOD) AS P FROM {self.scores_table} WHERE MODEL_NAME = ?",
            [self.model_name],
        )
        value = rows[0]["P"] if rows else None
        return None if value is None else int(value)

    def matured(self, candidate_version: str, *, through_period: int) -> pd.DataFrame:
        import pandas as pd

        columns = ", ".join(f"S.{c}" for c in _SCORE_TYPES)
        rows = self._read(
            f"SELECT {columns}, O.LABEL FROM {self.scores_table} S JOIN {self.outcomes_table} O "
            "ON O.MODEL_NAME = S.MODEL_NAME AND O.ID = S.ID "
            "WHERE S.MODEL_NAME = ? AND S.CANDIDATE_VERSION = ? AND S.PERIOD <= ? "
            "ORDER BY S.PERIOD, S.ID",
            [self.model_name, candidate_version, through_period],
        )
        frame = pd.DataFrame(
            [list(r) for r in rows], columns=[*(c.lower() for c in _SCORE_TYPES), "label"]
        )
        matured = conform_scores(frame).assign(label=frame["label"].astype("int64"))
        return matured[list(MATURED_COLUMNS)]

    def summary(self, candidate_version: str, *, through_period: int) -> LogSummary:
        rows = self._read(
            "SELECT S.ARM, COUNT(*) AS N, COUNT(O.ID) AS KNOWN, "
            "COUNT(IFF(S.PERIOD <= ?, O.ID, NULL)) AS MATURED "
            f"FROM {self.scores_table} S LEFT JOIN {self.outcomes_table} O "
            "ON O.MODEL_NAME = S.MODEL_NAME AND O.ID = S.ID "
            "WHERE S.MODEL_NAME = ? AND S.CANDIDATE_VERSION = ? GROUP BY S.ARM ORDER BY S.ARM",
            [through_period, self.model_name, candidate_version],
        )
        return LogSummary(
            scored={str(r["ARM"]): int(r["N"]) for r in rows},
            with_outcome=sum(int(r["KNOWN"]) for r in rows),
            matured=sum(int(r["MATURED"]) for r in rows),
        )

    # -- writing ------------------------------------------------------------------------

    def _staged(self, frame: pd.DataFrame) -> str:
        """``frame`` loaded into a transient table of the schema (upper-case columns).

        Transient, not temporary: a temporary table is the session's alone, and some
        engines that speak Snowflake's SQL find it only by its bare name.
        """
        name = f"LIVE_INCOMING_{uuid.uuid4().hex[:12].upper()}"
        upload = frame.rename(columns=str.upper)
        self.session.write_pandas(
            upload,
            name,
            database=self.database,
            schema=self.schema,
            auto_create_table=True,
            table_type="transient",
            overwrite=True,
        )
        return f"{self.database}.{self.schema}.{name}"

    def _in_transaction(self, staged: str | None, statements: list[tuple[str, list[Any]]]) -> None:
        """Run ``statements`` in one transaction, and drop ``staged`` (if any) whatever happens.

        Raises:
            SetupRequiredError: if the live tables do not exist yet.
        """
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            self._sql("BEGIN")
            try:
                for query, params in statements:
                    self._sql(query, params)
                self._sql("COMMIT")
            except BaseException as exc:
                self._sql("ROLLBACK")
                if isinstance(exc, SnowparkSQLException) and is_missing_object(exc):
                    raise SetupRequiredError(
                        f"{self.scores_table} or {self.outcomes_table} does not exist; run "
                        "`ccflows snowflake setup` to create the live test's tables."
                    ) from exc
                raise
        finally:
            if staged is not None:
                self._sql(f"DROP TABLE IF EXISTS {staged}")

    def write_scores(self, rows: pd.DataFrame) -> int:
        refuse_in_read_mode(self.mode, "logging scores", f"The score log {self.scores_table}")
        incoming = conform_scores(rows).drop_duplicates(["id", "period"], keep="last")
        if incoming.empty:
            return 0
        staged = self._staged(incoming)
        columns = ", ".join(_SCORE_TYPES)
        self._in_transaction(
            staged,
            [
                (
                    f"DELETE FROM {self.scores_table} WHERE MODEL_NAME = ? AND (ID, PERIOD) IN "
                    f"(SELECT ID, PERIOD FROM {staged})",
                    [self.model_name],
                ),
                (
                    f"INSERT INTO {self.scores_table} (MODEL_NAME, {columns}) "
                    f"SELECT ?, {columns} FROM {staged}",
                    [self.model_name],
                ),
            ],
        )
        logger.info("Logged %d scored rows in %s", len(incoming), self.scores_table)
        return len(incoming)

    def log_scored_table(
        self, table: str, *, champion_version: str, candidate_version: str, shadow: bool
    ) -> int:
        """Log the rows of a table warehouse scoring wrote, in SQL: nothing comes down.

        ``table`` has the columns :func:`~flows.backends.snowflake.live_scoring.live_scores`
        gives (``ID``, ``PERIOD``, ``ARM``, the deciding ``PROBABILITY`` and
        ``MODEL_VERSION``, and in shadow mode ``CANDIDATE_PROBABILITY``). An (id, period)
        scored twice in it is logged once.

        Returns:
            The rows logged.
        """
        refuse_in_read_mode(self.mode, "logging scores", f"The score log {self.scores_table}")
        champion = "PROBABILITY" if shadow else "IFF(ARM = 'champion', PROBABILITY, NULL)"
        candidate = (
            "CANDIDATE_PROBABILITY" if shadow else "IFF(ARM = 'candidate', PROBABILITY, NULL)"
        )
        incoming = (
            f"SELECT TO_VARCHAR(ID) AS ID, PERIOD, ARM, MODEL_VERSION, {champion} AS CH, "
            f"{candidate} AS CA FROM {table} "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY TO_VARCHAR(ID), PERIOD ORDER BY ARM) = 1"
        )
        (count,) = self._sql(f"SELECT COUNT(*) FROM ({incoming})")[0]
        self._in_transaction(
            None,
            [
                (
                    f"DELETE FROM {self.scores_table} WHERE MODEL_NAME = ? AND (ID, PERIOD) IN "
                    f"(SELECT TO_VARCHAR(ID), PERIOD FROM {table})",
                    [self.model_name],
                ),
                (
                    f"INSERT INTO {self.scores_table} (MODEL_NAME, {', '.join(_SCORE_TYPES)}) "
                    "SELECT ?, ID, PERIOD, ARM, MODEL_VERSION, ?, CH, ?, CA, ? "
                    f"FROM ({incoming})",
                    [self.model_name, champion_version, candidate_version, utc_now()],
                ),
            ],
        )
        logger.info("Logged %d rows of %s in %s", count, table, self.scores_table)
        return int(count)

    def add_outcomes(self, outcomes: pd.DataFrame, *, through_period: int) -> OutcomesAdded:
        refuse_in_read_mode(self.mode, "storing outcomes", f"The score log {self.outcomes_table}")
        incoming = conform_outcomes(outcomes)
        staged = self._staged(incoming)
        try:
            self._refuse_bad_ids(staged)
            (immature,) = self._sql(
                f"SELECT COUNT(*) FROM (SELECT S.ID FROM {self.scores_table} S "
                f"JOIN {staged} I ON I.ID = S.ID WHERE S.MODEL_NAME = ? "
                "GROUP BY S.ID HAVING MIN(S.PERIOD) > ?)",
                [self.model_name, through_period],
            )[0]
        except BaseException:
            self._sql(f"DROP TABLE IF EXISTS {staged}")
            raise
        self._in_transaction(
            staged,
            [
                (
                    f"INSERT INTO {self.outcomes_table} (MODEL_NAME, ID, LABEL, OBSERVED_AT) "
                    f"SELECT ?, ID, LABEL, OBSERVED_AT FROM {staged}",
                    [self.model_name],
                )
            ],
        )
        logger.info("Stored %d outcomes in %s", len(incoming), self.outcomes_table)
        return OutcomesAdded(added=len(incoming), not_yet_mature=int(immature))

    def _refuse_bad_ids(self, staged: str) -> None:
        """Refuse ids repeated in the input, already stored, or never scored (checked in SQL)."""
        checks = (
            (
                "repeat an id within the input",
                f"SELECT ID FROM {staged} GROUP BY ID HAVING COUNT(*) > 1",
                [],
            ),
            (
                "are for ids that already have one",
                f"SELECT I.ID FROM {staged} I JOIN {self.outcomes_table} O "
                "ON O.ID = I.ID AND O.MODEL_NAME = ?",
                [self.model_name],
            ),
            (
                "are for ids the score log has never scored",
                f"SELECT I.ID FROM {staged} I WHERE NOT EXISTS (SELECT 1 FROM "
                f"{self.scores_table} S WHERE S.MODEL_NAME = ? AND S.ID = I.ID)",
                [self.model_name],
            ),
        )
        for problem, ids, params in checks:
            (count,) = self._sql(f"SELECT COUNT(*) FROM ({ids})", params)[0]
            if count:
                examples = self._sql(
                    f"SELECT ID FROM ({ids}) ORDER BY ID LIMIT {_EXAMPLES}", params
                )
                raise refused_outcomes(problem, [str(r[0]) for r in examples], count=int(count))
