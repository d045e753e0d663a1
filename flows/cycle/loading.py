"""Loading a user's files into the table: read, checked against the contract, then stored.

All or nothing: every row of every file is validated before the first is written,
so a bad file leaves the stored data as it was (the registry is never touched).
Stored periods are immutable; rows of a period already stored ("late data"), or
before the first stored period, refuse the whole load (see docs/data.md for why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flows.cycle.reads import data_span
from flows.data.files import read_tables
from flows.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from flows.backends import Backend
    from flows.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """What loading files into the table did."""

    rows: int
    """Rows written."""
    span: tuple[int, int]
    """Oldest and newest period stored afterwards."""
    replaced: bool
    """True when the stored rows were replaced rather than added to."""


def ingest(
    backend: Backend,
    settings: Settings,
    paths: Sequence[Path],
    *,
    append: bool = False,
    replace: bool = False,
) -> IngestResult:
    """Load CSV/Parquet files into the backend's table, all or nothing.

    Args:
        backend: Whose table to load into; its contract is the one checked.
        settings: For the hold-out size of the quickstart's EVALUATION_DATA table.
        paths: CSV or Parquet files, or folders of Parquet files, with the same columns.
        append: Add rows of new periods to the stored ones.
        replace: Drop the stored rows and store these instead.

    Raises:
        ConfigError: if data is stored and neither ``append`` nor ``replace`` is given.
        DataValidationError: naming the file, the column and the values at fault.
    """
    source = backend.source
    contract = source.contract
    if append and replace:
        raise ConfigError("Choose one of --append and --replace.")
    span = source.period_span()
    if span is not None and not (append or replace):
        raise ConfigError(
            f"The table already holds {contract.period}s {span[0]}–{span[1]}; pass --append to "
            "add rows of later periods or --replace to store these files instead."
        )
    text = [*(contract.categorical or ()), *filter(None, (contract.time_column,))]
    data = read_tables([Path(p) for p in paths], text_columns=text)
    input_name = "data to ingest" if len(paths) > 1 else str(paths[0])
    contract.validate(data, input_name=input_name, require_both_classes=True)
    written = source.write(data, replace=replace)
    source.write_evaluation_data(holdout_periods=settings.windows.holdout)
    logger.info("Ingested %d rows from %d file(s)", written, len(paths))
    return IngestResult(rows=written, span=data_span(backend), replaced=replace)
