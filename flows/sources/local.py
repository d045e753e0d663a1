"""The embedded applications table: one Parquet file per week under the home directory.

A week range is read by opening only that range's files, so a weekly run on a
growing history never loads the weeks it does not use. Each file is written to a
temporary name and renamed into place, so a killed writer leaves no partial week;
when adding weeks the file is linked into place instead, so of two processes adding
the same week only one succeeds and the other is told the week is already stored.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from flows.durable import write_atomically
from flows.errors import DataValidationError
from flows.names import WEEK_COLUMN
from flows.sources.base import DataSource

if TYPE_CHECKING:
    import pandas as pd

    from flows.windows import WeekRange

_WEEK_FILE = re.compile(r"^week-(\d{5})\.parquet$")


class LocalWeekStore(DataSource):
    """Applications stored as ``<folder>/week-NNNNN.parquet``, one file per week."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _weeks(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(
            int(m.group(1)) for name in os.listdir(self.folder) if (m := _WEEK_FILE.match(name))
        )

    def _path(self, week: int) -> Path:
        return self.folder / f"week-{week:05d}.parquet"

    def week_span(self) -> tuple[int, int] | None:
        weeks = self._weeks()
        return (weeks[0], weeks[-1]) if weeks else None

    def read_weeks(self, weeks: WeekRange, *, input_name: str = "applications") -> pd.DataFrame:
        import pandas as pd
        import pyarrow

        from flows.data import validate_applications

        present = [w for w in self._weeks() if weeks.start <= w <= weeks.end]
        if not present:
            raise self.no_rows_error(weeks, input_name=input_name)
        frames = [self._read_week(w, input_name) for w in present]
        data = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        del frames  # the weeks are in ``data`` now: free them before it is validated
        validated = validate_applications(data, input_name=input_name)
        del data
        # Arrow's allocator keeps the pages the Parquet reader used; hand them back before
        # the model is trained on the window (60 MiB for a window of 500 thousand rows).
        pyarrow.default_memory_pool().release_unused()
        return validated

    def _read_week(self, week: int, input_name: str) -> pd.DataFrame:
        import pandas as pd

        path = self._path(week)
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataValidationError(
                f"Week {week} of {input_name} cannot be read from {path}: {exc}. "
                "Restore the file, or delete it and load that week again.",
                column=WEEK_COLUMN,
                got=str(path),
            ) from exc

    def write(self, data: pd.DataFrame, *, replace: bool = False) -> int:
        from flows.data import validate_applications  # here: `ccflows status` needs no numpy

        data = validate_applications(data, input_name="data to store")
        existing = set(self._weeks())
        incoming = sorted(int(w) for w in data[WEEK_COLUMN].unique())
        clash = sorted(existing.intersection(incoming))
        if clash and not replace:
            raise _already_stored(clash)
        self.folder.mkdir(parents=True, exist_ok=True)
        if replace:
            for week in existing.difference(incoming):
                self._path(week).unlink(missing_ok=True)
        for week, rows in data.groupby(WEEK_COLUMN, sort=True):
            buffer = io.BytesIO()
            rows.reset_index(drop=True).to_parquet(buffer, index=False)
            try:
                write_atomically(self._path(int(week)), buffer.getvalue(), exclusive=not replace)
            except FileExistsError as exc:  # another process stored it since the check
                raise _already_stored([int(week)]) from exc
        return len(data)


def _already_stored(weeks: list[int]) -> DataValidationError:
    return DataValidationError(
        f"Week(s) {', '.join(map(str, weeks[:5]))} are already stored; weeks are "
        "immutable once written (use replace to start over).",
        column=WEEK_COLUMN,
        got=weeks,
    )
