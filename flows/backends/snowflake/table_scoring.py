"""Scoring a table in the warehouse: the live version over a table or query, into a table.

``ModelVersion.run`` on a Snowpark DataFrame is a ``MODEL(m, v)!PREDICT_PROBA`` query:
the rows are scored where they are stored and the result is saved as a table, so
no feature crosses the network. Each output row carries the id column (when the
contract has one), the probability of the positive class and the version that
computed it.

The target is written whole or not at all: the scores go to a fresh table first,
which then takes the target's name (``ALTER TABLE … SWAP WITH`` when the target
exists, a rename when it does not). A failure before that leaves the target as
it was and drops the fresh table.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

from flows.backends.snowflake import _ml
from flows.errors import ConfigError, DataValidationError
from flows.identifiers import validate_identifier
from flows.live.candidate import current_candidate
from flows.live.settings import SPLIT

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame

    from flows.backends import Backend
    from flows.live.candidate import Candidate

logger = logging.getLogger(__name__)

PROBABILITY: Final = "PROBABILITY"
"""Output column: probability of the positive label."""
MODEL_VERSION: Final = "MODEL_VERSION"
"""Output column: the version that scored the row."""
_QUERY = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TableScoringResult:
    """What scoring into a table did: small, whatever the table's size."""

    version: str
    target: str
    n_rows: int
    logged: int | None = None
    """Under a live test, the rows logged in the score log; None otherwise."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the stage procedure's answer)."""
        return asdict(self)


def qualified_target(name: str, *, database: str, schema: str) -> str:
    """``name`` as ``DATABASE.SCHEMA.TABLE``, each part a validated identifier.

    Raises:
        ConfigError: naming the part that is not a plain identifier.
    """
    parts = [validate_identifier(p, what="output table") for p in name.split(".")]
    if not 1 <= len(parts) <= 3:
        raise ConfigError(f"Output table {name!r} must be TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE.")
    return ".".join([database, schema][: 3 - len(parts)] + parts)


def score_to_table(backend: Backend, *, source: str, target: str) -> TableScoringResult:
    """Score ``source`` (a table, a SELECT, or "" for the applications) into table ``target``.

    Raises:
        NoChampionError: if no version is live.
        ConfigError: for an invalid target name or a source that is neither.
        DataValidationError: if a feature of the live version is missing from ``source``.
    """
    from snowflake.snowpark import functions as sf

    registry: Any = backend.registry
    session = registry.session
    where = backend.source.settings
    live = registry.champion()
    final = qualified_target(target, database=where.database, schema=where.schema)
    rows = _rows(session, source, default=backend.source.table, where=where)
    contract = live.data_contract
    test = _live_test(backend)
    features = contract.feature_columns(rows.columns)
    if test is not None:
        candidate = registry.get_version(test.version).data_contract.feature_columns(rows.columns)
        features = tuple(dict.fromkeys([*features, *candidate]))
    id_column = contract.id_column or (backend.source.contract.id_column if test else None)
    inputs = _model_input(rows, features, keep=id_column, periods=test is not None, backend=backend)
    ml = _ml.open_ml_registry(session, where)
    model = ml.get_model(registry.model_name)

    def run(version: str, frame: DataFrame) -> DataFrame:
        return model.version(version).run(frame, function_name="predict_proba")

    if test is not None:
        parts = _live_result(backend, test, inputs, id_column, run)
    else:
        scored = run(live.name, inputs)
        wanted = (contract.id_column or "").upper()
        kept = [sf.col(c) for c in scored.columns if wanted and c.strip('"').upper() == wanted]
        parts = [
            scored.select(
                *kept,
                sf.col(scored.columns[-1]).alias(PROBABILITY),
                sf.lit(live.name).alias(MODEL_VERSION),
            )
        ]
    fresh = f"{final.rpartition('.')[0]}.SCORES_{uuid.uuid4().hex[:12].upper()}"
    try:
        for number, part in enumerate(parts):
            part.write.save_as_table(fresh, mode="append" if number else "errorifexists")
        (count,) = session.sql(f"SELECT COUNT(*) FROM {fresh}").collect()[0]
        logged = _log(backend, test, fresh) if test is not None else None
        _take_name(session, fresh, final)
    except BaseException:
        session.sql(f"DROP TABLE IF EXISTS {fresh}").collect()
        raise
    logger.info("Scored %d rows of %s with %s into %s", count, source, live.name, final)
    return TableScoringResult(version=live.name, target=final, n_rows=int(count), logged=logged)


def _live_test(backend: Backend) -> Candidate | None:
    """The open live test when ``[live] mode`` is on, else None (scoring as always)."""
    if not backend.live.on:
        return None
    return current_candidate(reversed(backend.registry.ledger()))


def _live_result(
    backend: Backend, test: Candidate, inputs: DataFrame, id_column: str | None, run: Any
) -> list[DataFrame]:
    """Each row decided by its arm, with its id, period and arm (``live_scoring``).

    Raises:
        DataValidationError: if the rows have no id column.
    """
    from flows.backends.snowflake.live_scoring import live_scores

    stored = {c.strip('"').upper(): c for c in inputs.columns}
    if id_column is None or id_column.upper() not in stored:
        raise DataValidationError(
            f"The rows to score have no id column {id_column!r}: live scoring assigns each row "
            "to an arm and logs it by id. Nothing was scored."
        )
    return live_scores(
        inputs,
        test,
        id_column=stored[id_column.upper()],
        run=run,
        probability=PROBABILITY,
        model_version=MODEL_VERSION,
    )


def _log(backend: Backend, test: Candidate, table: str) -> int:
    """Log the scored ``table`` in the score log, in SQL; the rows logged."""
    log: Any = backend.score_log
    return log.log_scored_table(
        table,
        champion_version=test.champion_version,
        candidate_version=test.version,
        shadow=test.mode != SPLIT,
    )


def _rows(session: Any, source: str, *, default: str, where: Any) -> DataFrame:
    """The rows to score: a SELECT's, a table's, or (``source`` empty) the applications."""
    if _QUERY.match(source):
        return session.sql(source)
    if not source.strip():
        return session.table(default)
    return session.table(qualified_target(source, database=where.database, schema=where.schema))


def _model_input(
    rows: DataFrame,
    features: tuple[str, ...],
    *,
    keep: str | None,
    periods: bool = False,
    backend: Backend | None = None,
) -> DataFrame:
    """The id column ``keep`` (when there is one) and each feature under its logged name.

    With ``periods``, also each row's period (``PERIOD``), computed by the data source's
    own expression from the time or period column, before those columns are dropped.

    Raises:
        DataValidationError: naming the features ``rows`` lacks.
    """
    from snowflake.snowpark import functions as sf

    stored = {c.strip('"').upper(): c for c in rows.columns}
    missing = [f for f in features if f.upper() not in stored]
    if missing:
        raise DataValidationError(
            f"The rows to score lack feature column(s) {', '.join(missing)} of the live "
            f"version (found: {', '.join(stored)})."
        )
    carried = [sf.col(stored[keep.upper()])] if keep and keep.upper() in stored else []
    if periods and backend is not None:
        from flows.backends.snowflake.live_scoring import PERIOD

        source: Any = backend.source
        carried.append(source.period_number().alias(PERIOD))
    renamed = [sf.col(stored[f.upper()]).alias(f'"{f}"') for f in features]
    return rows.select(*carried, *renamed)


def _take_name(session: Any, fresh: str, final: str) -> None:
    """Give ``fresh`` the name ``final``: swapped in when it exists, renamed when not."""
    database, schema, table = final.split(".")
    exists = session.sql(
        f"SELECT COUNT(*) FROM {database}.INFORMATION_SCHEMA.TABLES "
        "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
        params=[schema, table],
    ).collect()[0][0]
    if exists:
        session.sql(f"ALTER TABLE {final} SWAP WITH {fresh}").collect()
        session.sql(f"DROP TABLE {fresh}").collect()
    else:
        session.sql(f"ALTER TABLE {fresh} RENAME TO {final}").collect()
