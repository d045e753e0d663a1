"""Scoring a file of any size with one model version, batch by batch, in bounded memory.

The input is read in batches of a fixed number of rows; each batch is scored and
its rows written out before the next is read, so memory holds one batch, whatever
the file's size. Every feature column is checked against the file's header before
the first row is scored. The output keeps the id column (or, without one, every
input column) and adds the probability of the positive class (the contract's
``score_column``, as scoring stored periods writes it) and the version that computed it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flows.data import files
from flows.data.columns import check_ids, require_columns
from flows.data.output import TableWriter, check_output_path
from flows.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    from flows.backends import Backend
    from flows.backends.registry import Registry
    from flows.cycle.live_scoring import LiveScorer
    from flows.live.candidate import Candidate

logger = logging.getLogger(__name__)

VERSION_COLUMN: Final = "model_version"
"""Output column: the version that scored the row."""


@dataclass(frozen=True)
class FileScoringResult:
    """What scoring a file did."""

    version: str
    """The version that scored every row."""
    out: Path
    """The file written."""
    batch_rows: tuple[int, ...]
    """Rows in each batch the model scored, in order: the bound on what memory held."""
    formula_cells: int = 0
    """Text cells of a CSV output that begin like a spreadsheet formula (``= + - @``)."""
    logged: dict[str, int] | None = None
    """Under a live test, the rows logged per arm; None otherwise."""

    @property
    def n_rows(self) -> int:
        """Rows scored."""
        return sum(self.batch_rows)


def stream_scores(
    registry: Registry,
    version: str,
    source: Path,
    out: Path,
    *,
    features: Sequence[str],
    score_column: str,
    id_column: str | None = None,
    text_columns: Sequence[str] = (),
    batch_rows: int = files.DEFAULT_BATCH_ROWS,
    protected: Sequence[Path] = (),
    csv_safe: bool = False,
    live: LiveScorer | None = None,
) -> FileScoringResult:
    """Score every row of ``source`` with ``version`` and write the scores to ``out``.

    Args:
        registry: Where the version lives (it scores the batches).
        version: The version to score with.
        source: CSV or Parquet file, or a folder of Parquet files.
        out: CSV or Parquet file to write; replaced only once every row is scored.
        features: The version's input columns; all must be in ``source``.
        score_column: The output column of probabilities (``DataContract.score_column``).
        id_column: Column carried into the output instead of every input column,
            when ``source`` has it.
        text_columns: Columns to read as text from a CSV file (the categorical ones and
            the id, which is written back exactly as the file gives it).
        batch_rows: Rows per batch.
        protected: Folders ``out`` must not be inside (the backend's home).
        csv_safe: Neutralise text cells a spreadsheet would run as formulas (CSV ``out``).
        live: Under a live test, decides each row's arm and scores it with that arm's
            model (``version`` is then the champion); its log rows are written to the
            score log before ``out`` is committed.

    Raises:
        DataValidationError: if a feature column is missing (before any row is
            scored), or the file is unreadable or has no rows.
        ConfigError: if ``out`` is ``source``, inside it or inside ``protected``, is a
            folder, or has an unknown suffix (all before anything is read).
        DataValidationError: also if a kept input column already has the name of an
            output column (a file scored before).
        OutputError: if ``out`` cannot be written; nothing is left behind.
    """
    import pandas as pd
    import pyarrow as pa

    source, out = Path(source), Path(out)
    check_output_path(out, inputs=[source], protected=protected)
    names = files.column_names(source)
    header = pd.DataFrame(columns=names)  # the file's columns, no rows read yet
    require_columns(header, list(features), f"{source} (scored by version {version})")
    keep = [id_column] if id_column is not None and id_column in names else list(names)
    added = (score_column, VERSION_COLUMN, *(live.added_columns if live else ()))
    repeated = [c for c in added if c in keep]
    if repeated:
        raise DataValidationError(
            f"{source} already has column(s) {', '.join(map(repr, repeated))}, which the "
            "scores add (was it scored before?); drop or rename them, or set id_column in "
            "[data] to carry only the id into the output.",
            column=repeated[0],
            got=names,
        )
    sizes: list[int] = []
    with TableWriter(out, csv_safe=csv_safe) as writer:
        for batch in files.iter_tables(
            source,
            batch_rows=batch_rows,
            columns=list(dict.fromkeys([*keep, *features, *(live.read_columns if live else ())])),
            text_columns=[c for c in text_columns if c in names],
        ):
            if id_column in keep:
                check_ids(batch.column(id_column).to_pandas(), id_column, str(source))
            rows = batch.select(list(features)).to_pandas()
            extra: list[tuple[str, pa.Array]] = []
            if live is None:
                scores = pa.array(registry.predict_proba(version, rows), pa.float64())
                versions = pa.repeat(version, len(scores))
            else:
                scores, versions, extra = live.score(batch, rows)
            # The kept columns go out as Arrow read them: no round trip through pandas.
            scored = batch.select(keep)
            scored = scored.append_column(score_column, scores)
            scored = scored.append_column(VERSION_COLUMN, versions)
            for name, values in extra:
                scored = scored.append_column(name, values)
            writer.write(scored)
            sizes.append(batch.num_rows)
        if not sizes:
            raise DataValidationError(f"{source} has no rows to score.", got=0)
        logged = None
        if live is not None:
            rows = live.log_rows()
            live.log.write_scores(rows)
            logged = {str(k): int(n) for k, n in rows["arm"].value_counts().sort_index().items()}
    logger.info("Scored %d rows of %s with %s into %s", sum(sizes), source, version, out)
    return FileScoringResult(
        version=version,
        out=out,
        batch_rows=tuple(sizes),
        formula_cells=writer.formula_cells,
        logged=logged,
    )


def score_file(
    backend: Backend,
    source: Path,
    out: Path,
    *,
    batch_rows: int | None = None,
    csv_safe: bool = False,
) -> FileScoringResult:
    """Score every row of the file ``source`` with the live version, streaming, into ``out``.

    The file is checked against the live version's own contract: its features must
    all be there (before any row is scored), its id column is carried into ``out``.
    Under a live test (``[live] mode`` on and a candidate open) each row is decided by
    its arm, gets its period and arm in ``out``, and goes to the score log
    (``flows.cycle.live_scoring``).
    """
    from flows.cycle.live import scoring_candidate

    registry = backend.registry
    live = registry.champion()
    contract = live.data_contract
    names = files.column_names(source)
    features = contract.features or contract.feature_columns(names)
    id_column = contract.id_column
    test = scoring_candidate(backend)
    scorer = None
    if test is not None:
        scorer = _live_scorer(backend, test, source, names)
        id_column = scorer.id_column
        candidate = registry.get_version(test.version).data_contract
        features = list(dict.fromkeys([*features, *(candidate.features or ())]))
    return stream_scores(
        registry,
        live.name,
        source,
        out,
        features=features,
        score_column=contract.score_column,
        id_column=id_column,
        text_columns=[*(contract.categorical or ()), *filter(None, [id_column])],
        batch_rows=batch_rows or files.DEFAULT_BATCH_ROWS,
        protected=backend.protected,
        csv_safe=csv_safe,
        live=scorer,
    )


def _live_scorer(backend: Backend, test: Candidate, source: Path, names: list[str]) -> LiveScorer:
    """The scorer of ``test`` for the file ``source``, refusing one without ids or periods."""
    from flows.cycle.live import score_log
    from flows.cycle.live_scoring import LiveScorer, PeriodReader

    contract = backend.source.contract
    id_column = contract.id_column
    if id_column is None or id_column not in names:
        raise DataValidationError(
            f"{source} has no id column {id_column!r}: live scoring assigns each row to an arm "
            "and logs it by id. Nothing was scored.",
            column=id_column,
            got=names,
        )
    return LiveScorer(
        registry=backend.registry,
        test=test,
        log=score_log(backend),
        id_column=id_column,
        period_of=PeriodReader(contract, names, backend.source.origin()),
        input_name=str(source),
    )


def score_to_table(
    backend: Backend,
    *,
    target: str,
    source: str | None = None,
    run_id: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Score ``source`` (a table or a SELECT; the applications by default) into table ``target``.

    The rows are scored where they are stored and the result is written there, whole
    or not at all; only the count and the version come back. Each row carries the
    version that scored it.

    Raises:
        ConfigError: on a backend that does not run stages in its warehouse.
    """
    if backend.warehouse is None:
        raise ConfigError(
            "Scoring into a table runs in the warehouse: it needs the Snowflake backend with "
            '[snowflake] compute = "warehouse"; write the scores to a file with --out instead.'
        )
    return backend.warehouse.score_to_table(
        source=source or "",
        target=target,
        run_id=run_id or "score",
        actor=actor,
    )
