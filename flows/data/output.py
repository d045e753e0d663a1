"""Writing tables to files: checked destinations, atomic writes, spreadsheet-safe CSV.

An output is written batch after batch to a hidden temporary file beside it and
renamed into place at the end, so a failed run leaves neither a partial file nor
the temporary one, nor a folder it created. Before anything is read or scored, the
destination is checked: never a folder, never the input itself or a file inside an
input folder, never inside a folder the backend keeps its data and registry in.

CSV cells are written as they are unless ``csv_safe`` is asked for; then text
cells beginning with ``= + - @``, a tab or a carriage return get a leading ``'``,
as OWASP recommends against formula injection, so a spreadsheet shows them as text.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flows.data.files import CSV, table_format
from flows.errors import ConfigError, OutputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters a spreadsheet may read as the start of a formula (OWASP)."""


def check_output_path(
    out: Path, *, inputs: Sequence[Path] = (), protected: Sequence[Path] = ()
) -> None:
    """Refuse an output path that would overwrite an input, a folder or a stored file.

    Args:
        out: Where the table is to be written.
        inputs: Files or folders being read; ``out`` may be none of them nor inside one.
        protected: Folders whose content only the backend writes (its home).

    Raises:
        ConfigError: naming the path and what it would overwrite.
    """
    table_format(out)  # an unknown suffix is refused before anything else
    if out.is_dir():
        raise ConfigError(f"--out {out} is a folder; name a .csv or .parquet file to write.")
    if out.exists() and not out.is_file():
        raise ConfigError(f"--out {out} is not a regular file; name a .csv or .parquet file.")
    existing = next(p for p in out.absolute().parents if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--out {out} cannot be written: {existing} is a file, not a folder.")
    target = out.resolve()
    for source in inputs:
        if target == source.resolve() or (out.exists() and os.path.samefile(out, source)):
            raise ConfigError(f"--out {out} is the input file; write the scores to another file.")
        if source.is_dir() and target.is_relative_to(source.resolve()):
            raise ConfigError(
                f"--out {out} is inside the input folder {source}; write it elsewhere."
            )
    for folder in protected:
        if target.is_relative_to(folder.resolve()):
            raise ConfigError(
                f"--out {out} is inside {folder}, where the stored data and the registry live; "
                "write it elsewhere."
            )


class TableWriter:
    """Writes DataFrames batch after batch to one CSV or Parquet file, atomically at the end.

    The rows go to a hidden temporary file beside ``path`` and are renamed to ``path``
    by :meth:`commit`; leaving the ``with`` block on an error removes the temporary
    file (and any folder made for it) instead. A file that cannot be written raises
    :class:`~flows.errors.OutputError` naming it, with nothing left behind.

    Args:
        path: The file to write, CSV or Parquet by its suffix.
        csv_safe: Neutralise text cells a spreadsheet would run as formulas (CSV only).

    Example:
        ``with TableWriter(Path("scores.parquet")) as out: out.write(batch)``
    """

    def __init__(self, path: Path, *, csv_safe: bool = False) -> None:
        self.path = Path(path)
        self.format = table_format(self.path)
        self.csv_safe = csv_safe
        self._temporary: Path | None = None
        self._made: list[Path] = []
        self._parquet: Any = None
        self._schema: pa.Schema | None = None
        self.rows = 0
        self.formula_cells = 0
        """Text cells that begin like a formula (neutralised when ``csv_safe``)."""

    def write(self, frame: pd.DataFrame | pa.Table) -> None:
        """Append ``frame``'s rows; every batch must have the first batch's columns."""
        import pyarrow as pa

        try:
            if self._temporary is None:
                self._start()
            if self.format == CSV:
                rows = frame.to_pandas() if isinstance(frame, pa.Table) else frame
                rows = self._spreadsheet_checked(rows)
                assert self._temporary is not None
                rows.to_csv(self._temporary, mode="a", header=self._schema is None, index=False)
                self._schema = self._schema or pa.schema([])
            else:
                self._write_parquet(frame)
        except OSError as exc:
            self.abort()
            raise self._unwritable(exc) from exc
        self.rows += len(frame)

    def _start(self) -> None:
        """Make the missing folders and the temporary file (exclusively: never a user's file)."""
        missing = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._made = missing
        handle, name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        os.close(handle)
        self._temporary = Path(name)

    def _spreadsheet_checked(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Count the text cells that begin like a formula; prefix them with ``'`` if asked."""
        import pandas as pd

        changed = {}
        for column in rows.columns:
            values = rows[column]
            if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
                continue
            risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
            count = int(risky.sum())
            if count:
                self.formula_cells += count
                if self.csv_safe:
                    changed[column] = values.where(~risky, "'" + values.astype(str))
        return rows.assign(**changed) if changed else rows

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
        try:
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
            if self._schema is not None and self._temporary is not None:
                os.replace(self._temporary, self.path)
                self._temporary = None
        except OSError as exc:
            self.abort()
            raise self._unwritable(exc) from exc
        self._made = []
        return self.path

    def abort(self) -> None:
        """Close and remove the temporary file and the folders made; ``path`` stays as it was."""
        if self._parquet is not None:
            # The file is removed next; a full disk must not hide the first error.
            with contextlib.suppress(OSError):
                self._parquet.close()
            self._parquet = None
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None
        for folder in self._made:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
        self._made = []

    def _unwritable(self, exc: OSError) -> OutputError:
        reason = exc.strerror or type(exc).__name__
        return OutputError(f"Cannot write {self.path}: {reason}; nothing was written there.")

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_table(frame: pd.DataFrame, path: Path, *, csv_safe: bool = False) -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet, chosen by the suffix."""
    with TableWriter(path, csv_safe=csv_safe) as writer:
        writer.write(frame)
    return path
