"""Tables in files: CSV and Parquet (one file or a folder of Parquet files), read.

The format is chosen by the suffix (``.csv``, ``.parquet``/``.pq``; a folder is a
Parquet data set). Reading comes whole, for loading data into the store, or in
batches of a fixed number of rows, for scoring a file of any size in bounded
memory. Writing is ``flows.data.output``'s.

Every read refuses duplicate column names and, read whole, an empty table: both
would otherwise surface much later as a confusing error far from the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flows.data.columns import listing
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
    # Each column's Arrow memory is freed as soon as it is converted: one copy at a time.
    return table.to_pandas(split_blocks=True, self_destruct=True)


def read_tables(
    paths: Sequence[Path], *, text_columns: Iterable[str] = ()
) -> tuple[pd.DataFrame, list[int]]:
    """Several files read whole and stacked in the order given; all must share their columns.

    Returns:
        The stacked table and the number of rows each path gave, in order.

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
    sizes = [len(frame) for frame in frames]
    return (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)), sizes


def decoded_bytes(path: Path) -> int:
    """About how many bytes the table in ``path`` takes once read into memory.

    Parquet: rows × the width of each column (8 bytes for numbers and times, 1 for
    booleans, 64 for text or nested values, which become Python objects), from the
    files' metadata alone. CSV: the file's size, which numbers roughly keep.

    Raises:
        DataValidationError: as :func:`read_table`, for a file that cannot be read.
    """
    import pyarrow.parquet as pq

    if table_format(path) == CSV or not path.exists():
        return path.stat().st_size if path.is_file() else 0
    total = 0
    for part in data_files(path):
        try:
            metadata = pq.read_metadata(part)
            schema = metadata.schema.to_arrow_schema()
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise _unreadable(part, exc) from exc
        total += metadata.num_rows * sum(_width(field.type) for field in schema)
    return total


def _width(kind: pa.DataType) -> int:
    """Bytes per value of ``kind`` in a pandas column."""
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return 1
    if pa.types.is_dictionary(kind):
        return _width(kind.value_type)
    fixed = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_temporal(kind)
    return 8 if fixed else 64


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


# -- reading ------------------------------------------------------------------------------------


def _open_batches(path: Path, *, columns: list[str] | None, text_columns: tuple[str, ...]) -> Any:
    """A reader with a ``schema``: pyarrow's streaming CSV reader, or a Parquet data set."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds

    kind = table_format(path)
    if not path.exists():
        raise DataValidationError(f"{path} does not exist.", got=str(path))
    if not (path.is_file() or path.is_dir()):  # a pipe or a device would be read forever
        raise DataValidationError(f"{path} is not a regular file or folder.", got=str(path))
    try:
        if kind == PARQUET:
            parts = data_files(path)
            if path.is_dir():
                _require_same_columns(path, parts)
            dataset = ds.dataset([str(p) for p in parts], format="parquet")
            return dataset if columns is None else _Projected(dataset, columns)
        convert = pacsv.ConvertOptions(
            include_columns=columns,
            column_types=dict.fromkeys(text_columns, pa.string()),
            strings_can_be_null=True,
        )
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            convert_options=convert,
        )
        _require_text(path, reader.schema)
        return reader
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from exc


def data_files(path: Path) -> list[Path]:
    """The files a path stands for: itself, or a folder's files in name order.

    A folder is read as Parquet's data sets are, its subfolders included, and files
    and folders whose names start with ``.`` or ``_`` (``_SUCCESS``, temporary files)
    skipped. Links are followed, but one that leads back into a folder it is in (a
    loop) or to a file already found is refused: either would read rows twice.

    Raises:
        DataValidationError: for a folder without files, a link loop, a broken link or
            a file reached twice.
    """
    if not path.is_dir():
        return [path]
    found: dict[Path, Path] = {}
    _collect(path, path, (), found)
    if not found:
        raise DataValidationError(f"{path} holds no .parquet files.", got=str(path))
    return list(found.values())


def _collect(
    root: Path, folder: Path, ancestors: tuple[Path, ...], found: dict[Path, Path]
) -> None:
    real = folder.resolve()
    if real in ancestors:
        raise DataValidationError(
            f"{root} holds a link loop: {folder} leads back to {real}; remove the link.",
            got=str(folder),
        )
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            _collect(root, entry, (*ancestors, real), found)
        elif entry.is_file():
            target = entry.resolve()
            if target in found:
                raise DataValidationError(
                    f"{root} holds the same file twice: {found[target]} and {entry}; "
                    "remove one, or the rows would be read twice.",
                    got=str(entry),
                )
            found[target] = entry
        else:
            raise DataValidationError(
                f"{root} holds {entry}, which is a broken link or not a file; remove it.",
                got=str(entry),
            )


def _require_same_columns(folder: Path, parts: Sequence[Path]) -> None:
    """Refuse a folder whose files do not all have the first file's columns."""
    import pyarrow.parquet as pq

    first = None
    for part in parts:
        try:
            names = pq.read_schema(part).names
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise _unreadable(part, exc) from exc
        if first is None:
            first = (part, names)
        elif sorted(names) != sorted(first[1]):
            missing = sorted(set(first[1]) - set(names))
            extra = sorted(set(names) - set(first[1]))
            raise DataValidationError(
                f"{part} in {folder} has columns {names} but {first[0]} has {first[1]}"
                + (f" ({part.name} lacks {listing(missing)})" if missing else "")
                + (f" ({part.name} adds {listing(extra)})" if extra else "")
                + "; the files of a folder must have the same columns.",
                column=(missing or extra)[0],
                expected=first[1],
                got=names,
            )


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


def _not_utf8(path: Path, where: str) -> DataValidationError:
    return DataValidationError(
        f"{path} is not UTF-8 text ({where}); save it as UTF-8, the encoding CSV files are read in.",
        expected="UTF-8",
    )


def _require_text(path: Path, schema: pa.Schema) -> None:
    """Refuse CSV columns that Arrow could only read as bytes: text in another encoding."""
    import pyarrow as pa

    for field in schema:
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            raise _not_utf8(path, f"column {field.name!r} holds bytes that are not UTF-8")


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
    if "invalid UTF8" in detail:
        return _not_utf8(path, detail.rstrip("."))
    return DataValidationError(f"{path} cannot be read as {table_format(path)}: {detail}.")
