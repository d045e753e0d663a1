"""What a case of ``test_hostile_input.py`` is, the homes' contracts, and the input writers.

A case names the home it runs against, the command (``append``/``ingest`` for
``ccflows ingest``, ``score`` for ``ccflows score --input``), how to write its input
files, and either the pattern its one-line refusal must match or ``None`` when the
input is right to accept (the test then checks that the data round-trips).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.data.quickstart import GeneratorSpec, generate_weeks
from tests.flows.loans import loans

Frame = Callable[[pd.DataFrame], pd.DataFrame]
Writer = Callable[[Path], list[Path]]

FRESH_CONTRACTS = {
    "pid": 'model_name = "PERIODS"\n[data]\nperiod_column = "pid"\nlabel = "y"\n',
    "day": 'model_name = "DAYS"\n[data]\ntime_column = "t"\nperiod = "day"\nlabel = "y"\nid_column = "id"\npositive_label = "yes"\n',
    "week": 'model_name = "WEEKS"\n[data]\ntime_column = "t"\nlabel = "y"\nid_column = "id"\npositive_label = "yes"\n',
}
"""``[data]`` of the empty homes some cases load into."""
LOANS_TOML = """model_name = "LOANS"

[data]
time_column = "opened_at"
label = "outcome"
positive_label = "default"
id_column = "loan_id"
ignore = ["legacy_score"]
"""
"""The loans home's contract (``tests.flows.loans.LOANS_CONTRACT``)."""


@dataclass(frozen=True)
class Case:
    """One hostile (or merely unusual) input and what must happen to it."""

    name: str
    home: str
    """``quick`` (quickstart data, champion), ``loans`` (ids, times, text labels,
    champion) or a key of :data:`FRESH_CONTRACTS` (an empty home)."""
    command: str
    """``append``, ``ingest`` (into an empty home) or ``score``."""
    write: Writer
    refused: str | None
    """Pattern of the one-line error, or None when the input must be accepted."""
    out: str = "scores.csv"
    """For ``score``: the output, relative to the work folder (``{home}`` for the home)."""
    flags: tuple[str, ...] = field(default=())


def quick_rows() -> pd.DataFrame:
    """Weeks 20-21 of the quickstart's stream: a valid append to the quick home."""
    return _quick_rows().copy()


def loans_rows() -> pd.DataFrame:
    """Two weeks after the loans home's 20: a valid append to it."""
    return _loans_rows().copy()


@functools.cache
def _quick_rows() -> pd.DataFrame:
    return generate_weeks(20, 21, GeneratorSpec(seed=7, rows_per_week=40))


@functools.cache
def _loans_rows() -> pd.DataFrame:
    return loans(14, per_day=6, start="2024-05-27", seed=3)


def fresh_rows(key: str, n: int = 240) -> pd.DataFrame:
    """Valid rows for an empty home of contract ``key``."""
    rng = np.random.RandomState(5)
    frame = pd.DataFrame({"x": rng.rand(n), "kind": rng.choice(["a", "b"], n).astype(object)})
    if key == "pid":
        return frame.assign(pid=202501 + np.arange(n) % 20, y=rng.randint(0, 2, n))
    times = pd.Timestamp("2024-03-04") + pd.to_timedelta(np.arange(n) * 7, "h")
    label = rng.choice(["yes", "no"], n).astype(object)
    return frame.assign(id=[f"{i:05d}" for i in range(n)], t=times, y=label)


def csv(frame: pd.DataFrame, name: str = "in.csv", **options) -> Writer:
    def write(folder: Path) -> list[Path]:
        frame.to_csv(folder / name, index=False, **options)
        return [folder / name]

    return write


def parquet(table: pd.DataFrame | pa.Table, name: str = "in.parquet") -> Writer:
    def write(folder: Path) -> list[Path]:
        arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table)
        pq.write_table(arrow, folder / name)
        return [folder / name]

    return write


def raw(content: bytes, name: str = "in.csv") -> Writer:
    def write(folder: Path) -> list[Path]:
        (folder / name).write_bytes(content)
        return [folder / name]

    return write


def both(*writers: Writer) -> Writer:
    """Several inputs in one call."""
    return lambda folder: [path for writer in writers for path in writer(folder)]


def in_folder(build: Callable[[Path], None], name: str = "parts") -> Writer:
    def write(work: Path) -> list[Path]:
        (work / name).mkdir()
        build(work / name)
        return [work / name]

    return write


def at(column: str, row: int, value: object) -> Frame:
    """The frame with one cell set (the column made ``object`` to hold any value)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: object})
        frame.loc[row, column] = value
        return frame

    return change


def timestamps(frame: pd.DataFrame, column: str, unit: str, value: str, row: int = 3) -> pa.Table:
    """``frame`` as Arrow with ``column`` a timestamp of ``unit`` and one cell set to ``value``."""
    times = pd.to_datetime(frame[column]).to_numpy().astype(f"datetime64[{unit}]")
    times[row] = np.datetime64(value, unit)
    table = pa.Table.from_pandas(frame.drop(columns=[column]), preserve_index=False)
    return table.append_column(column, pa.array(times, pa.timestamp(unit)))


def replace_column(frame: pd.DataFrame, column: str, values: pa.Array) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.set_column(table.schema.get_field_index(column), column, values)
