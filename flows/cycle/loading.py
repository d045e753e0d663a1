"""Loading a user's files into the table: read, checked against the contract, then stored.

All or nothing: every row of every file is validated before the first is written,
and before a backend is even opened, so a bad file leaves the stored data as it
was and creates no home (the registry is never touched).
Stored periods are immutable; rows of a period already stored ("late data"), or
before the first stored period, refuse the whole load (see docs/data.md for why).
The quickstart's own data (``generate_data``) is stored the same way.
The same rows given twice in one load (one file named twice, or as CSV and as
Parquet) are refused too, and rows appended must carry every feature the live
version reads, or scoring would refuse the newest period later.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flows.cycle.completeness import HeldBack, Incomplete, newest_incomplete
from flows.cycle.reads import data_span
from flows.data.columns import require_columns
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.files import read_tables, table_files
from flows.data.periods import PeriodRange
from flows.errors import ConfigError, DataValidationError, EmptyWindowError
from flows.names import DATE_COLUMN, LABEL_COLUMN, WEEK_COLUMN

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pandas as pd

    from flows.backends import Backend
    from flows.backends.source import DataSource
    from flows.config import Settings
    from flows.data.contract import DataContract
    from flows.data.quickstart import GeneratorSpec

logger = logging.getLogger(__name__)

BUDGET_ENV = "CC_INGEST_MAX_MIB"
"""Environment variable overriding :data:`DEFAULT_BUDGET_MIB`."""
DEFAULT_BUDGET_MIB = 2048
"""The most one ingest reads into memory, decoded (``files.decoded_bytes``), in MiB.

A load holds its rows about twice over while it checks and stores them (measured in
docs/benchmarks.md), so the default needs about 4 GiB free. A larger input is refused
before it is read, rather than exhausting the machine's memory half-way."""
_PERIODS_SEARCHED = 366
"""Periods read at once while looking for a class in the stored table."""


@dataclass(frozen=True)
class CheckedFiles:
    """Files read whole and checked against a contract, not stored yet."""

    data: pd.DataFrame
    """Their rows, stacked in the order given, as read (the store canonicalises them)."""
    n_files: int
    """Files read: a folder counts each of its Parquet files."""
    contract: DataContract
    """The contract every row was checked against."""
    classes: frozenset[int] = frozenset({0, 1})
    """The label's classes in the files, as 0/1 (one only in a batch of a rare label)."""


@dataclass(frozen=True)
class IngestResult:
    """What loading files into the table did."""

    rows: int
    """Rows written."""
    n_files: int
    """Files they came from."""
    span: tuple[int, int]
    """Oldest and newest period stored afterwards."""
    replaced: bool
    """True when the stored rows were replaced rather than added to."""
    incomplete: Incomplete | HeldBack | None = None
    """The periods ending after ``[data] complete_through``, or without it the newest
    period when its rows stop well before its end (an export cut short)."""


def check_files(settings: Settings, paths: Sequence[Path], *, append: bool = False) -> CheckedFiles:
    """Read ``paths`` whole and check every row against ``settings.contract``, touching no store.

    Called before a backend is opened, so a bad file leaves no home behind. Rows to
    ``append`` may hold one class only: :func:`ingest` then checks that the stored
    table holds the other.

    Raises:
        ConfigError: if a file is named twice, or the quickstart's contract meets a
            table that is not the quickstart's (``[data]`` is missing from config.toml).
        DataValidationError: naming the file, the column and the values at fault.
    """
    paths = [Path(p) for p in paths]
    files = _distinct_files(paths)
    _refuse_over_budget(paths)
    contract = settings.contract
    # Ids are read as text from CSV, so that "007" is stored (and scored) as "007".
    text = [
        *(contract.categorical or ()),
        *filter(None, (contract.time_column, contract.id_column)),
    ]
    data, sizes = read_tables(paths, text_columns=text)
    input_name = "data to ingest" if len(paths) > 1 else str(paths[0])
    if contract == DEFAULT_CONTRACT:
        _refuse_another_table(data, input_name, settings.home / "config.toml")
    contract.refuse_reserved(data, input_name)
    canonical = contract.validate(data, input_name=input_name, require_both_classes=not append)
    _refuse_same_rows(canonical, paths, sizes)
    classes = frozenset(int(c) for c in canonical[contract.label].unique())
    return CheckedFiles(data=data, n_files=len(files), contract=contract, classes=classes)


def ingest(
    backend: Backend,
    settings: Settings,
    files: CheckedFiles,
    *,
    append: bool = False,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Store files :func:`check_files` read into the backend's table, all or nothing.

    Args:
        backend: Whose table to load into; its contract must be the one checked.
        settings: For the hold-out size of the quickstart's EVALUATION_DATA table.
        files: The checked rows.
        append: Add rows of new periods to the stored ones.
        replace: Drop the stored rows and store these instead.
        progress: Told (periods written, periods to write) while a long load is stored.

    Raises:
        ConfigError: if data is stored and neither ``append`` nor ``replace`` is given.
        DataValidationError: for late rows, naming the periods already stored.
    """
    source = backend.source
    contract = source.contract
    if files.contract != contract:
        raise ConfigError("The files were checked against another contract than the table's.")
    if append and replace:
        raise ConfigError("Choose one of --append and --replace.")
    span = source.period_span()
    if span is not None and not (append or replace):
        raise ConfigError(
            f"The table already holds {contract.period}s {span[0]}–{span[1]}; pass --append to "
            "add rows of later periods or --replace to store these files instead."
        )
    if append:
        _require_both_classes_once_stored(source, files.classes)
        _require_live_features(backend, files.data)
    written = source.write(files.data, replace=replace, progress=progress)
    source.write_evaluation_data(holdout_periods=settings.windows.holdout)
    logger.info("Ingested %d rows from %d file(s)", written, files.n_files)
    return IngestResult(
        rows=written,
        n_files=files.n_files,
        span=data_span(backend),
        replaced=replace,
        incomplete=newest_incomplete(source, settings.complete_through),
    )


def _distinct_files(paths: Sequence[Path]) -> list[Path]:
    """Every file ``paths`` name (a folder's Parquet files), refusing one named twice."""
    files: dict[Path, Path] = {}
    for path in paths:
        for file in table_files(path):
            first = files.setdefault(file.resolve(), path)
            if first is not path:
                where = (
                    f"{path} is named twice"
                    if first == path
                    else f"{first} and {path} both hold {file}"
                )
                raise ConfigError(
                    f"{where}; each file is loaded once, or its rows would be stored twice."
                )
    return list(files)


def _refuse_another_table(data: pd.DataFrame, input_name: str, config: Path) -> None:
    """One line when a table without the quickstart's label or time meets its contract."""
    columns = set(map(str, data.columns))
    if LABEL_COLUMN in columns and columns & {DATE_COLUMN, WEEK_COLUMN}:
        return
    raise ConfigError(
        f"{input_name} does not look like the quickstart's credit table (no "
        f"{LABEL_COLUMN!r} label, no {DATE_COLUMN!r} or {WEEK_COLUMN!r}); to load your own "
        f"table, {config} needs a [data] table naming its time and label columns "
        "(see docs/data.md)."
    )


def generate_data(
    backend: Backend,
    spec: GeneratorSpec,
    *,
    n_periods: int = 20,
    append_weeks: int = 0,
    replace: bool = False,
    holdout_periods: int = 4,
) -> pd.DataFrame:
    """Write the quickstart's data set (``n_periods`` weeks), or ``append_weeks`` more of it.

    Appending continues the same random stream after the newest stored week, so a
    weekly run sees genuinely new rows while the history stays as it was. Backends
    that keep the quickstart's EVALUATION_DATA table refresh it with the newest
    ``holdout_periods`` weeks.

    Raises:
        ConfigError: if data is already stored and neither appending nor replacing.
    """
    from flows.data.quickstart import generate_applications, generate_weeks

    span = backend.source.period_span()
    if append_weeks:
        if span is None:
            raise ConfigError("Nothing to append to: the applications table is empty.")
        data = generate_weeks(span[1] + 1, span[1] + append_weeks, spec)
    else:
        if span is not None and not replace:
            raise ConfigError(
                f"The applications table already holds weeks {span[0]}–{span[1]}; "
                "use --append-weeks N to add weeks or --replace to start over."
            )
        data = generate_applications(n_periods, spec)
    backend.source.write(data, replace=replace and not append_weeks)
    backend.source.write_evaluation_data(holdout_periods=holdout_periods)
    return data


def _refuse_over_budget(inputs: Sequence[Path]) -> None:
    """Refuse, before reading, inputs that would take more memory than the budget allows."""
    from flows.data.files import decoded_bytes

    text = os.environ.get(BUDGET_ENV)
    try:
        budget = float(text) if text is not None else DEFAULT_BUDGET_MIB
    except ValueError:
        budget = -1.0
    if not budget > 0:
        raise ConfigError(f"{BUDGET_ENV} must be a number of MiB above 0; got {text!r}.")
    size = sum(decoded_bytes(path) for path in inputs) / 2**20
    if size > budget:
        name = str(inputs[0]) if len(inputs) == 1 else f"{len(inputs)} files"
        raise DataValidationError(
            f"{name} would take about {size:,.0f} MiB in memory once read, over the ingest "
            f"budget of {budget:,.0f} MiB; ingest it in parts (a range of periods at a time, "
            f"with --append), or raise {BUDGET_ENV} if about twice that much memory is free.",
            expected=f"<= {budget:g} MiB",
            got=round(size),
        )


def _refuse_same_rows(
    canonical: pd.DataFrame, inputs: Sequence[Path], sizes: Sequence[int]
) -> None:
    """Refuse two inputs of which one holds only rows of the other (the same data twice).

    Rows are compared in canonical form, so a CSV file and its Parquet copy match.
    """
    import numpy as np

    from flows.data.quickstart import row_hashes

    if len(inputs) < 2:
        return
    hashes = row_hashes(canonical)
    bounds = np.cumsum([0, *sizes])
    rows = [np.unique(hashes[a:b]) for a, b in itertools.pairwise(bounds)]
    for i, first in enumerate(rows):
        for j in range(i + 1, len(rows)):
            small, large = (i, j) if len(first) <= len(rows[j]) else (j, i)
            if np.isin(rows[small], rows[large], assume_unique=True).all():
                raise DataValidationError(
                    f"Every row of {inputs[small]} is also in {inputs[large]}: the same data is "
                    "given twice and would be stored twice; load each file once.",
                    got=[str(inputs[small]), str(inputs[large])],
                )


def _require_live_features(backend: Backend, data: pd.DataFrame) -> None:
    """Refuse appended rows that lack a feature of the live version: it could not score them."""
    live = backend.registry.live_version()
    if live is None:
        return
    features = backend.registry.get_version(live).data_contract.features or ()
    require_columns(data, list(features), f"the rows to append (for live version {live})")


def _require_both_classes_once_stored(source: DataSource, classes: frozenset[int]) -> None:
    """Refuse an append after which the table would still hold one class only.

    A batch of one class (a day of a rare outcome's feed, none of it positive) is
    fine when the stored rows hold the other: the model learns from the table, not
    the batch. The newest stored periods are searched first, a year's worth at a time.
    """
    wanted = {0, 1}.difference(classes)
    span = source.period_span()
    end = span[1] if span else -1
    while wanted and span is not None and end >= span[0]:
        start = max(span[0], end - _PERIODS_SEARCHED + 1)
        try:
            stored = source.read_periods(PeriodRange(start, end), input_name="stored rows")
            wanted.difference_update(stored[source.contract.label].unique().tolist())
        except EmptyWindowError:  # a gap of that many periods: look further back
            pass
        end = start - 1
    if wanted:
        label = source.contract.label
        raise DataValidationError(
            f"Column {label!r} in the rows to append holds one class only, and the stored "
            "table holds no row of the other; a model needs both to learn from. Ingest "
            "rows of both classes.",
            column=label,
            expected="two classes",
            got=sorted(classes),
        )
