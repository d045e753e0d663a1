"""The embedded table: one Parquet file per period under the home directory.

A period range is read by opening only that range's files, so a weekly run on a
growing history never loads the periods it does not use. Each file is written to a
temporary name and renamed into place, so a killed writer leaves no partial period;
when adding periods the file is linked into place instead, so of two processes adding
the same period only one succeeds and the other is told the period is already stored.

Files hold canonical frames of the data contract (``DataContract.validate``) and are
named after the period unit and number, zero-padded to five digits at least
(``week-00017.parquet``, ``day-00230.parquet``, ``week-202501.parquet``).
``store.json`` records the unit and, for periods counted from a time column, the
origin (period 0), so that appended rows keep the numbering of the stored ones.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.local.durable import write_atomically
from flows.backends.source import DataSource
from flows.data.contract import DEFAULT_CONTRACT, DataContract, period_start
from flows.errors import DataValidationError

if TYPE_CHECKING:
    import pandas as pd

    from flows.data.periods import PeriodRange

STORE_FILE = "store.json"
"""The stored data's period unit and origin."""


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

    def _record(self) -> dict[str, Any]:
        """``store.json``, checked against the contract (empty before the first write)."""
        path = self.folder / STORE_FILE
        if not path.is_file():
            return {}
        record = json.loads(path.read_text())
        if record.get("period") != self.contract.period:
            raise DataValidationError(
                f"The stored data in {self.folder} counts {record.get('period')}s but [data] "
                f"period is {self.contract.period!r}; ingest the data again with --replace.",
                column=self.contract.period_key,
                expected=self.contract.period,
                got=record.get("period"),
            )
        return record

    def origin(self) -> int | None:
        origin = self._record().get("origin")
        if origin is None and self.contract.period_column is None and self._periods():
            raise DataValidationError(
                f"The stored data in {self.folder} records no first period to count "
                f"{self.contract.time_column!r} from; ingest the data again with --replace.",
                column=self.contract.time_column,
            )
        return origin

    def _periods(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(
            int(m.group(1)) for name in os.listdir(self.folder) if (m := self._file.match(name))
        )

    def _path(self, period: int) -> Path:
        return self.folder / f"{self.contract.period}-{period:05d}.parquet"

    def period_span(self) -> tuple[int, int] | None:
        self._record()
        periods = self._periods()
        return (periods[0], periods[-1]) if periods else None

    def read_periods(
        self, periods: PeriodRange, *, input_name: str = "stored rows"
    ) -> pd.DataFrame:
        import pandas as pd
        import pyarrow

        origin = self.origin()
        present = [p for p in self._periods() if periods.start <= p <= periods.end]
        if not present:
            raise self.no_rows_error(periods, input_name=input_name)
        frames = [self._read_period(w, input_name) for w in present]
        data = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        del frames  # the periods are in ``data`` now: free them before it is validated
        validated = self.contract.validate(data, input_name=input_name, origin=origin)
        del data
        # Arrow's allocator keeps the pages the Parquet reader used; hand them back before
        # the model is trained on the window (60 MiB for a window of 500 thousand rows).
        pyarrow.default_memory_pool().release_unused()
        return validated

    def _read_period(self, period: int, input_name: str) -> pd.DataFrame:
        import pandas as pd

        path = self._path(period)
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataValidationError(
                f"{self.contract.period.capitalize()} {period} of {input_name} cannot be read "
                f"from {path}: {exc}. Restore the file, or delete it and load that "
                f"{self.contract.period} again.",
                column=self.contract.period_key,
                got=str(path),
            ) from exc

    def write(self, data: pd.DataFrame, *, replace: bool = False) -> int:
        refuse_in_read_mode(self.mode, "storing rows", f"The table in {self.folder}")
        existing = set() if replace else set(self._periods())
        origin = self.origin() if existing else None
        data = self.contract.for_storage(data, origin=origin)
        key = self.contract.period_key
        incoming = sorted(int(w) for w in data[key].unique())
        clash = sorted(existing.intersection(incoming))
        if clash:
            raise self.already_stored(clash)
        self.folder.mkdir(parents=True, exist_ok=True)
        if replace:
            for period in set(self._periods()).difference(incoming):
                self._path(period).unlink(missing_ok=True)
        if not existing:
            self._write_record(self.contract.origin_of(data))
        for period, rows in data.groupby(key, sort=True):
            buffer = io.BytesIO()
            rows.reset_index(drop=True).to_parquet(buffer, index=False)
            try:
                write_atomically(self._path(int(period)), buffer.getvalue(), exclusive=not replace)
            except FileExistsError as exc:  # another process stored it since the check
                raise self.already_stored([int(period)]) from exc
        return len(data)

    def _write_record(self, origin: int | None) -> None:
        record = {"period": self.contract.period, "origin": origin}
        if origin is not None:
            record["first_period_starts"] = period_start(origin, self.contract.period)
        write_atomically(self.folder / STORE_FILE, json.dumps(record, indent=2).encode())
