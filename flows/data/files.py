"""Tables in files: CSV and Parquet (one file or a folder of Parquet files), read and written.

The format is chosen by the suffix (``.csv``, ``.parquet``/``.pq``; a folder is a
Parquet data set). Reading comes whole, for loading data into the store, or in
batches of a fixed number of rows, for scoring a file of any size in bounded
memory. Writing is incremental, batch after batch, to a temporary name that is
renamed into place when the last batch is written, so a failed run leaves no
partial output behind.

Every read refuses duplicate column names and, read whole, an empty table: both
would otherwise surface much later as a confusing error far from the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flows.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

CSV: Final = "csv"
PARQUET: Final = "parquet"
_SUFFIXES: Final = {".csv": CSV, ".parquet": PARQUET, ".pq": PARQUET}
DEFAULT_BATCH_ROWS: Final = 250_000
"""Rows per batch when streaming: ~20 MB per numeric column-set of ten columns."""
_CSV_BLOCK_BYTES: Final = 8 << 20
_PARQUET_BUFFER_BYTES: Final = 1 << 20
"""Read buffer of a Parquet file: pages stream through it instead of whole column chunks."""
_PARQUET_BATCH_ROWS: Final = 65_536


def table_format(path: Path) -> str:
    """``csv`` or ``parquet``, from the suffix (a folder is a Parquet data set).

    Raises:
        ConfigError: for any other suffix.
    """
    if path.is_dir():
        return PARQUET
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ConfigError(
            f"Cannot tell the format of {str(path)!r}: use a .csv or .parquet file (or .pq), "
            "or a folder of .parquet files."
        )
    return found


def table_files(path: Path) -> list[Path]:
    """The files a table is read from: ``path`` itself, or a folder's Parquet files.

    Raises:
        ConfigError: for a suffix that is neither CSV nor Parquet.
        DataValidationError: for a folder that does not exist or holds no Parquet file.
    """
    if not path.is_dir():
        table_format(path)
        return [path]
    return [Path(file) for file in _open_batches(path, columns=None, text_columns=()).files]


def column_names(path: Path) -> list[str]:
    """The file's column names, read from its header or schema only.

    Raises:
        DataValidationError: if the file cannot be read, is empty or repeats a column name.
    """
    return _checked_names(path, _open_batches(path, columns=None, text_columns=()).schema.names)


def read_table(path: Path, *, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """The whole table in ``path`` as a DataFrame.

    Args:
        path: A CSV or Parquet file, or a folder of Parquet files.
        text_columns: CSV columns to keep as text even when they look like numbers
            (categories such as ``"007"``).

    Raises:
        DataValidationError: if the file cannot be read, repeats a column name or has no rows.
    """
    reader = _open_batches(path, columns=None, text_columns=tuple(text_columns))
    _checked_names(path, reader.schema.names)
    table = _read_all(path, reader)
    if table.num_rows == 0:
        raise DataValidationError(f"{path} has no rows.", got=0)
    return table.to_pandas()


def read_tables(paths: Sequence[Path], *, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Several files read whole and stacked in the order given; all must share their columns.

    Raises:
        DataValidationError: as :func:`read_table`, or if two files have different columns.
    """
    import pandas as pd

    if not paths:
        raise ConfigError("No file given: name at least one .csv or .parquet file or folder.")
    text = tuple(text_columns)
    frames = [read_table(Path(path), text_columns=text) for path in paths]
    first = list(frames[0].columns)
    for path, frame in zip(paths[1:], frames[1:], strict=True):
        if sorted(frame.columns) != sorted(first):
            raise DataValidationError(
                f"{path} has columns {list(frame.columns)} but {paths[0]} has {first}; "
                "files loaded together must have the same columns.",
                expected=first,
                got=list(frame.columns),
            )
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_batches(
    path: Path,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    columns: list[str] | None = None,
    text_columns: Iterable[str] = (),
) -> Iterator[pd.DataFrame]:
    """The table in ``path`` as DataFrames of exactly ``batch_rows`` rows (the last may be short).

    Only one batch (and the reader's current block) is held at a time, so memory
    stays bounded however large the file is.

    Args:
        path: A CSV or Parquet file, or a folder of Parquet files.
        batch_rows: Rows per batch.
        columns: Columns to read; defaults to every column.
        text_columns: CSV columns to keep as text (see :func:`read_table`).

    Raises:
        DataValidationError: if the file cannot be read or repeats a column name.
    """
    for table in iter_tables(
        path, batch_rows=batch_rows, columns=columns, text_columns=text_columns
    ):
        yield table.to_pandas()


def iter_tables(
    path: Path,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    columns: list[str] | None = None,
    text_columns: Iterable[str] = (),
) -> Iterator[pa.Table]:
    """:func:`iter_batches` as Arrow tables, for columns that pass through untouched."""
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be at least 1; got {batch_rows}.")
    reader = _open_batches(path, columns=columns, text_columns=tuple(text_columns))
    _checked_names(path, reader.schema.names)
    yield from _rebatched(_batches(path, reader), batch_rows)


class TableWriter:
    """Writes DataFrames batch after batch to one CSV or Parquet file, atomically at the end.

    The rows go to ``<path>.tmp`` and are renamed to ``path`` by :meth:`commit`;
    leaving the ``with`` block on an error removes the temporary file instead.

    Example:
        ``with TableWriter(Path("scores.parquet")) as out: out.write(batch)``
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.format = table_format(self.path)
        self._temporary = self.path.with_name(self.path.name + ".tmp")
        self._parquet: Any = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame | pa.Table) -> None:
        """Append ``frame``'s rows; every batch must have the first batch's columns."""
        import pyarrow as pa

        if self._schema is None:
            self._temporary.unlink(missing_ok=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == CSV:
            rows = frame.to_pandas() if isinstance(frame, pa.Table) else frame
            rows.to_csv(self._temporary, mode="a", header=self._schema is None, index=False)
            self._schema = self._schema or pa.schema([])
        else:
            self._write_parquet(frame)
        self.rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame | pa.Table) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = (
            frame
            if isinstance(frame, pa.Table)
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
        if self._schema is None:
            self._schema = table.schema
            # Dictionary-encoding columns of distinct floats (scores, amounts) costs more
            # than the rest of the write and saves nothing; text columns repeat (versions).
            text = [f.name for f in self._schema if pa.types.is_string(f.type)]
            self._parquet = pq.ParquetWriter(self._temporary, self._schema, use_dictionary=text)
        self._parquet.write_table(table.cast(self._schema))

    def commit(self) -> Path:
        """Close the file and move it into place; an empty writer writes nothing."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._schema is not None:
            self._temporary.replace(self.path)
        return self.path

    def abort(self) -> None:
        """Close and remove the temporary file; ``path`` is left as it was."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet, chosen by the suffix."""
    with TableWriter(path) as writer:
        writer.write(frame)
    return path


# -- reading ------------------------------------------------------------------------------------


def _open_batches(path: Path, *, columns: list[str] | None, text_columns: tuple[str, ...]) -> Any:
    """A reader with a ``schema``: pyarrow's streaming CSV reader, or a Parquet data set."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds

    kind = table_format(path)
    if not path.exists():
        raise DataValidationError(f"{path} does not exist.", got=str(path))
    try:
        if kind == PARQUET:
            dataset = ds.dataset(path, format="parquet")
            if not dataset.files:
                raise DataValidationError(f"{path} holds no .parquet files.", got=str(path))
            return dataset if columns is None else _Projected(dataset, columns)
        convert = pacsv.ConvertOptions(
            include_columns=columns,
            column_types=dict.fromkeys(text_columns, pa.string()),
            strings_can_be_null=True,
        )
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            convert_options=convert,
        )
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from exc


class _Projected:
    """A Parquet data set with the columns to read, so both readers answer ``schema`` alike."""

    def __init__(self, dataset: Any, columns: list[str]) -> None:
        self.dataset = dataset
        self.columns = columns
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise DataValidationError(
                f"{dataset.files[0]} has no column(s) {missing}.", column=missing[0]
            )
        self.schema = dataset.schema


def _batches(path: Path, reader: Any) -> Iterator[pa.RecordBatch]:
    """Record batches in file order, one at a time, holding a few pages of the file at most."""
    import pyarrow as pa

    try:
        if hasattr(reader, "read_next_batch"):  # the CSV reader
            yield from reader
            return
        dataset, columns = (
            (reader.dataset, reader.columns) if isinstance(reader, _Projected) else (reader, None)
        )
        yield from _parquet_batches(dataset, columns)
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from exc


def _parquet_batches(dataset: Any, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
    """The data set's files one after the other, each read through a small buffer.

    A data set scanner reads whole row groups ahead (263 MiB held with row groups of a
    million rows of eleven columns) and pre-buffering keeps every chunk it read, so
    memory grew with the row groups and the file; reading each file page by page
    through a 1 MiB buffer holds under 40 MiB of Arrow memory whatever their size.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = (
        dataset.schema if columns is None else pa.schema([dataset.schema.field(c) for c in columns])
    )
    for file in dataset.files:
        parquet = pq.ParquetFile(file, pre_buffer=False, buffer_size=_PARQUET_BUFFER_BYTES)
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=columns):
            yield batch if batch.schema.equals(schema) else _conformed(batch, schema, file)


def _conformed(batch: pa.RecordBatch, schema: pa.Schema, file: str) -> pa.RecordBatch:
    """``batch`` with the data set's columns, in its order and types (files may differ)."""
    import pyarrow as pa

    missing = [name for name in schema.names if name not in batch.schema.names]
    if missing:
        raise DataValidationError(
            f"{file} has no column(s) {missing}, which other files of the folder have.",
            column=missing[0],
        )
    arrays = [batch.column(field.name).cast(field.type) for field in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _read_all(path: Path, reader: Any) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_batches(list(_batches(path, reader)), schema=reader.schema)


def _rebatched(batches: Iterable[pa.RecordBatch], batch_rows: int) -> Iterator[pa.Table]:
    """Re-cut record batches of any size into tables of exactly ``batch_rows`` rows."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= batch_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, batch_rows)
            rest = table.slice(batch_rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def _checked_names(path: Path, names: list[str]) -> list[str]:
    if not names:
        raise DataValidationError(f"{path} is empty: it has no columns.", got=0)
    seen: set[str] = set()
    repeated = sorted({n for n in names if n in seen or seen.add(n)})
    if repeated:
        raise DataValidationError(
            f"{path} repeats column name(s) {', '.join(map(repr, repeated))}; "
            "every column needs its own name.",
            column=repeated[0],
            got=names,
        )
    return names


def _unreadable(path: Path, exc: Exception) -> DataValidationError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Empty CSV file" in detail:
        return DataValidationError(f"{path} is empty: it has no header and no rows.", got=0)
    return DataValidationError(f"{path} cannot be read as {table_format(path)}: {detail}.")
