"""The embedded table: one Parquet file per period under the home directory.

A period range is read by opening only that range's files, so a weekly run on a
growing history never loads the periods it does not use.

Files hold canonical frames of the data contract (``DataContract.validate``) and are
named after the period unit and number, zero-padded to five digits at least
(``week-00017.parquet``, ``day-00230.parquet``, ``week-202501.parquet``).
``store.json`` is the manifest: the unit, for periods counted from a time column the
origin (period 0), the periods stored and the folder their files are in.

A write is all or nothing, against errors and kills alike. Its period files are
written where no reader looks (files the manifest does not list yet, or a new folder
when replacing), then published in one step by replacing the manifest; a killed
writer leaves the table exactly as it was, and its unlisted files are cleared by
the next writer. Writers take turns under a lock, so of two processes adding the
same period only one succeeds and the other is told the period is already stored.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.local.durable import (
    checkpoint,
    exclusive_lock,
    write_atomically,
    write_unpublished,
)
from flows.backends.source import DataSource
from flows.data.columns import absolute_periods
from flows.data.contract import DEFAULT_CONTRACT, DataContract, period_start
from flows.errors import DataValidationError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from flows.data.periods import PeriodRange

logger = logging.getLogger(__name__)

STORE_FILE = "store.json"
"""The manifest: the stored data's period unit, origin, periods and folder."""
LOCK_FILE = ".write.lock"
"""Held by the one process writing the table."""
_GENERATION = "generation-"
"""Prefix of the folder a replacing write stages its files in."""
_ANY_PERIOD = re.compile(r"^(week|day|month)-\d+\.parquet$")
"""A period file of any unit."""
_PROGRESS_EVERY = 1000
"""Period files between two progress reports."""


class LocalPeriodStore(DataSource):
    """Rows stored as ``<folder>/<period>-NNNNN.parquet``, one file per period.

    Args:
        folder: Where the files live.
        contract: The data contract the rows follow; the quickstart's by default.
        mode: ``read`` refuses every write; ``write`` (the default) stores rows.
    """

    def __init__(
        self, folder: Path, contract: DataContract = DEFAULT_CONTRACT, *, mode: Mode = "write"
    ) -> None:
        self.folder = Path(folder)
        self.contract = contract
        self.mode = check_mode(mode)
        # Five digits at least (``week-00017``), more without a leading zero (``day-202501``):
        # every period number has one name, and every name is listed.
        self._file = re.compile(rf"^{contract.period}-(\d{{5}}|[1-9]\d{{5,}})\.parquet$")

    # -- the manifest -------------------------------------------------------------------

    def _record(self, *, any_unit: bool = False) -> dict[str, Any]:
        """``store.json``, checked against the contract (empty before the first write).

        A store written before manifests listed their periods is listed from its
        files, and marked ``legacy`` so that the next write publishes its manifest first.

        Args:
            any_unit: Accept a store counting another unit (it is about to be replaced).
        """
        path = self.folder / STORE_FILE
        record = json.loads(path.read_text()) if path.is_file() else {}
        if record.get("period", self.contract.period) != self.contract.period:
            if any_unit:
                return {"periods": [], "replaced_unit": record["period"]}
            raise DataValidationError(
                f"The stored data in {self.folder} counts {record.get('period')}s but [data] "
                f"period is {self.contract.period!r}; ingest the data again with --replace.",
                column=self.contract.period_key,
                expected=self.contract.period,
                got=record.get("period"),
            )
        if "periods" not in record:
            listed = self._files_in(self.folder)
            if listed:
                record.update(periods=_runs(listed), legacy=True)
        return record

    def origin(self) -> int | None:
        return self._origin_in(self._record())

    def _origin_in(self, record: dict[str, Any]) -> int | None:
        origin = record.get("origin")
        if origin is None and self.contract.period_column is None and record.get("periods"):
            raise DataValidationError(
                f"The stored data in {self.folder} records no first period to count "
                f"{self.contract.time_column!r} from; ingest the data again with --replace.",
                column=self.contract.time_column,
            )
        return origin

    def _files_in(self, folder: Path) -> list[int]:
        if not folder.is_dir():
            return []
        return sorted(
            int(m.group(1)) for name in os.listdir(folder) if (m := self._file.match(name))
        )

    def _name(self, period: int) -> str:
        return f"{self.contract.period}-{period:05d}.parquet"

    def _path(self, record: dict[str, Any], period: int) -> Path:
        return self.folder / record.get("folder", ".") / self._name(period)

    # -- reading ------------------------------------------------------------------------

    def period_span(self) -> tuple[int, int] | None:
        runs = self._record().get("periods") or []
        return (runs[0][0], runs[-1][1]) if runs else None

    def read_periods(
        self,
        periods: PeriodRange,
        *,
        input_name: str = "stored rows",
        labels_as_written: bool = False,
    ) -> pd.DataFrame:
        import pandas as pd
        import pyarrow

        record = self._record()
        origin = self._origin_in(record)
        present = [p for p in _periods(record) if periods.start <= p <= periods.end]
        if not present:
            raise self.no_rows_error(periods, input_name=input_name)
        frames = [self._read_period(record, p, input_name) for p in present]
        if any(self._zoned(frame) for frame in frames):
            # A row of the range may sit in a neighbour's file (see _refuse_another_clock).
            stored = set(_periods(record))
            for neighbour in {present[0] - 1, present[-1] + 1} & stored:
                self._read_period(record, neighbour, input_name)
        data = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        del frames  # the periods are in ``data`` now: free them before it is validated
        validated = self.contract.validate(
            data, input_name=input_name, origin=origin, labels_as_written=labels_as_written
        )
        del data
        # Arrow's allocator keeps the pages the Parquet reader used; hand them back before
        # the model is trained on the window (60 MiB for a window of 500 thousand rows).
        pyarrow.default_memory_pool().release_unused()
        return validated

    def label_values(self) -> frozenset[str]:
        import pyarrow.parquet as pq

        record = self._record()
        found: set[str] = set()
        for period in _periods(record):
            column = pq.read_table(self._path(record, period), columns=[self.contract.label])
            found.update(str(v) for v in column.column(0).unique().to_pylist() if v is not None)
        return frozenset(found)

    def _read_period(self, record: dict[str, Any], period: int, input_name: str) -> pd.DataFrame:
        import pandas as pd

        path = self._path(record, period)
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataValidationError(
                f"{self.contract.period.capitalize()} {period} of {input_name} cannot be read "
                f"from {path}: {exc}. Restore the file, or delete it and load that "
                f"{self.contract.period} again.",
                column=self.contract.period_key,
                got=str(path),
            ) from exc
        self._refuse_another_clock(frame, period, self._origin_in(record))
        return frame

    def _refuse_appending_across_clocks(self, record: dict[str, Any]) -> None:
        """Refuse to add UTC-counted rows to a store counted on its times' zone, before writing.

        Only the newest period and the one before are read, and only when the newest
        file's times carry a zone (its schema says so without reading a row).
        """
        import pyarrow.parquet as pq

        stored = _periods(record)
        time = self.contract.time_column
        if not stored or time is None or self.contract.period_column is not None:
            return
        kind = pq.read_schema(self._path(record, stored[-1])).field(time).type
        if getattr(kind, "tz", None) is not None:
            for period in {stored[-1] - 1, stored[-1]} & set(stored):
                self._read_period(record, period, "stored rows")

    def _zoned(self, frame: pd.DataFrame) -> bool:
        """Whether ``frame``'s times carry a zone: only a store written before UTC storage."""
        time = self.contract.time_column
        return time is not None and getattr(frame[time].dt, "tz", None) is not None

    def _refuse_another_clock(self, frame: pd.DataFrame, period: int, origin: int | None) -> None:
        """Refuse a period stored with zoned times counted on their zone's clock.

        Rows are stored with their times in UTC, the clock periods follow; a store written
        when periods followed the wall clock of zoned times kept those times zoned, and a
        row of the first hours of a period may sit in the file of the period before or
        after, in UTC. Read as they are, a window would hold rows of its neighbours.
        """
        time = self.contract.time_column
        if origin is None or not self._zoned(frame):
            return
        counted = absolute_periods(frame[time], self.contract.period) - origin
        moved = counted != period
        if not moved.any():
            return
        first = int(moved.argmax())
        calendar = self.calendar()
        raise DataValidationError(
            f"The stored data in {self.folder} was counted on the clock of its times' zone "
            f"({frame[time].dt.tz}) when it was stored: on the UTC clock periods follow now, "
            f"{int(moved.sum())} row(s) of {calendar.period(period)} fall in "
            f"{calendar.period(int(counted[first]))} (first: {frame[time].iloc[first]}). "
            "Ingest the data again with --replace to count it in UTC.",
            column=time,
            expected=period,
            got=int(counted[first]),
        )

    # -- writing ------------------------------------------------------------------------

    def write(
        self,
        data: pd.DataFrame,
        *,
        replace: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        import pyarrow as pa

        refuse_in_read_mode(self.mode, "storing rows", f"The table in {self.folder}")
        record = self._record(any_unit=replace)
        if not replace:
            self._refuse_appending_across_clocks(record)
        canonical = self._checked(data, record, replace=replace)
        self.folder.mkdir(parents=True, exist_ok=True)  # only once the rows are valid
        with exclusive_lock(self.folder / LOCK_FILE):
            now = self._record(any_unit=replace)
            if now != record:  # another process wrote since: check against what it left
                record, canonical = now, self._checked(data, now, replace=replace)
            stored = _periods(record)
            if record.get("legacy"):  # its readers list files: make them read the manifest
                self._publish(record.get("origin"), stored, ".")
            self._clear_unpublished(record)
            visible = bool(stored) or "replaced_unit" in record
            folder = self._staging_folder(record, replace=replace and visible)
            incoming = _periods_of(canonical, self.contract.period_key)
            fresh = replace or not stored
            origin = self.contract.origin_of(canonical) if fresh else record.get("origin")
            rows = len(canonical)
            table = pa.Table.from_pandas(canonical, preserve_index=False)
            del canonical  # the rows are in ``table`` now: hold one copy, not two
            self._write_periods(table, folder, progress)
            checkpoint("periods-staged")
            self._publish(origin, incoming if fresh else [*stored, *incoming], folder)
            if replace:
                self._clear_unpublished(self._record())
        logger.info("Stored %d rows in %s", rows, self.folder)
        return rows

    def _checked(
        self, data: pd.DataFrame, record: dict[str, Any], *, replace: bool
    ) -> pd.DataFrame:
        """``data`` for storage, numbered from the stored origin; refused if a period is stored."""
        existing = set() if replace else set(_periods(record))
        canonical = self.contract.for_storage(
            data, origin=self._origin_in(record) if existing else None
        )
        clash = sorted(existing.intersection(_periods_of(canonical, self.contract.period_key)))
        if clash:
            raise self.already_stored(clash)
        return canonical

    def _staging_folder(self, record: dict[str, Any], *, replace: bool) -> str:
        """Where this write's files go: a new folder when readers see files it replaces."""
        current = record.get("folder", ".")
        if not replace:
            return current
        number = int(current.removeprefix(_GENERATION)) + 1 if current != "." else 1
        (self.folder / f"{_GENERATION}{number}").mkdir()
        return f"{_GENERATION}{number}"

    def _clear_unpublished(self, record: dict[str, Any]) -> None:
        """Delete what the manifest does not list: a killed writer's files, replaced folders.

        Files named in another unit are a replaced store's (``--replace`` after a change
        of ``[data] period``), unless the manifest itself still counts in that unit.
        """
        current = self.folder / record.get("folder", ".")
        listed = set(_periods(record))
        for entry in self.folder.iterdir():
            if entry.is_dir() and entry.name.startswith(_GENERATION) and entry != current:
                shutil.rmtree(entry)
            elif current != self.folder and entry.is_file() and _ANY_PERIOD.match(entry.name):
                entry.unlink()
        for period in self._files_in(current):
            if period not in listed:
                (current / self._name(period)).unlink()

    def _write_periods(
        self, table: pa.Table, folder: str, progress: Callable[[int, int], None] | None
    ) -> None:
        """One Parquet file per period, each taken from the one Arrow copy of the rows."""
        import io

        import numpy as np
        import pyarrow.parquet as pq

        periods = table.column(self.contract.period_key).to_numpy()
        order = np.argsort(periods, kind="stable")  # rows keep their order within a period
        ordered = periods[order]
        starts = [0, *(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1), len(ordered)]
        total = len(starts) - 1
        for done, (start, end) in enumerate(itertools.pairwise(starts), 1):
            buffer = io.BytesIO()
            pq.write_table(table.take(order[start:end]), buffer)
            name = self._name(int(ordered[start]))
            write_unpublished(self.folder / folder / name, buffer.getvalue())
            if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(done, total)

    def _publish(self, origin: int | None, periods: Iterable[int], folder: str) -> None:
        """Replace the manifest: the one step that makes a write visible."""
        record: dict[str, Any] = {"period": self.contract.period, "origin": origin}
        if origin is not None:
            record["first_period_starts"] = period_start(origin, self.contract.period)
        record["periods"] = _runs(periods)
        if folder != ".":
            record["folder"] = folder
        write_atomically(self.folder / STORE_FILE, json.dumps(record, indent=2).encode())


def _runs(periods: Iterable[int]) -> list[list[int]]:
    """Sorted periods as inclusive runs, ``[[0, 19], [25, 25]]``: short for long histories."""
    runs: list[list[int]] = []
    for period in sorted(periods):
        if runs and period == runs[-1][1] + 1:
            runs[-1][1] = period
        else:
            runs.append([period, period])
    return runs


def _periods_of(canonical: pd.DataFrame, key: str) -> list[int]:
    return sorted(int(p) for p in canonical[key].unique())


def _periods(record: dict[str, Any]) -> list[int]:
    """Every period the manifest lists, in order."""
    return [p for start, end in record.get("periods", []) for p in range(start, end + 1)]
