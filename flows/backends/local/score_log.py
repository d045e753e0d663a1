"""The embedded score log: one Parquet file per scored period, and one of outcomes.

Layout under the model's live folder (``<home>/live/<MODEL>/``)::

    log.json                    the manifest: the file of each period, the outcomes' file
    scores-<period>-<n>.parquet the rows scored in one period (:data:`SCORE_COLUMNS`)
    outcomes-<n>.parquet        every outcome stored (:data:`OUTCOME_COLUMNS`)

A write is all or nothing, against errors and kills alike, as in the embedded table:
new files get a new generation number ``n`` and are written where no reader looks,
then published in one step by replacing the manifest; files the manifest no longer
lists are deleted after it, or by the next writer if this one was killed. Writers
take turns under a lock, so two scorings of the same period never lose each other's rows.
"""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.local.durable import (
    exclusive_lock,
    remove_temporaries,
    write_atomically,
    write_unpublished,
)
from flows.live.score_log import (
    MATURED_COLUMNS,
    OUTCOME_COLUMNS,
    SCORE_COLUMNS,
    LogSummary,
    OutcomesAdded,
    ScoreLog,
    conform_outcomes,
    conform_scores,
    refused_outcomes,
)

if TYPE_CHECKING:  # pandas is imported where frames are handled: `ccflows status` starts faster
    from collections.abc import Iterator

    import pandas as pd

logger = logging.getLogger(__name__)

MANIFEST = "log.json"
"""Lists the file of each scored period and the outcomes' file: the one atomic step."""
LOCK_FILE = ".write.lock"
"""Held by the one process writing the log."""


class LocalScoreLog(ScoreLog):
    """Scores and outcomes of one model's live tests, as Parquet files in ``folder``.

    Args:
        folder: The model's live folder; created by the first write.
        mode: ``read`` refuses every write and creates nothing.
    """

    def __init__(self, folder: Path, *, mode: Mode = "write") -> None:
        self.folder = Path(folder)
        self.mode = check_mode(mode)

    # -- reading ------------------------------------------------------------------------

    def _manifest(self) -> dict[str, Any]:
        path = self.folder / MANIFEST
        if not path.is_file():
            return {"generation": 0, "scores": {}, "outcomes": None}
        return json.loads(path.read_text())

    def _read(self, name: str | None, columns: tuple[str, ...]) -> pd.DataFrame:
        import pandas as pd

        if name is None:
            return pd.DataFrame({c: [] for c in columns})
        return pd.read_parquet(self.folder / name)

    def _scores(self, manifest: dict[str, Any]) -> pd.DataFrame:
        import pandas as pd

        frames = [self._read(name, SCORE_COLUMNS) for name in manifest["scores"].values()]
        if not frames:
            return conform_scores(pd.DataFrame({c: [] for c in SCORE_COLUMNS}))
        return conform_scores(pd.concat(frames, ignore_index=True))

    def _outcomes(self, manifest: dict[str, Any]) -> pd.DataFrame:
        return conform_outcomes(self._read(manifest["outcomes"], OUTCOME_COLUMNS))

    def newest_period(self) -> int | None:
        periods = self._manifest()["scores"]
        return max(map(int, periods)) if periods else None

    def matured(self, candidate_version: str, *, through_period: int) -> pd.DataFrame:

        manifest = self._manifest()
        scores = self._scores(manifest)
        mine = scores[
            (scores["candidate_version"] == candidate_version)
            & (scores["period"] <= through_period)
        ]
        outcomes = self._outcomes(manifest)[["id", "label"]]
        joined = mine.merge(outcomes, on="id", how="inner", validate="many_to_one")
        return joined[list(MATURED_COLUMNS)].sort_values(["period", "id"], ignore_index=True)

    def summary(self, candidate_version: str, *, through_period: int) -> LogSummary:
        manifest = self._manifest()
        scores = self._scores(manifest)
        mine = scores[scores["candidate_version"] == candidate_version]
        known = mine["id"].isin(set(self._outcomes(manifest)["id"]))
        return LogSummary(
            scored={str(arm): int(n) for arm, n in mine["arm"].value_counts().sort_index().items()},
            with_outcome=int(known.sum()),
            matured=int((known & (mine["period"] <= through_period)).sum()),
        )

    # -- writing ------------------------------------------------------------------------

    @contextmanager
    def _writing(self, what: str) -> Iterator[dict[str, Any]]:
        """The manifest under the write lock; what the block publishes is swept after."""
        refuse_in_read_mode(self.mode, what, f"The score log in {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.folder / LOCK_FILE):
            remove_temporaries(self.folder)
            self._sweep(self._manifest())  # a killed writer's unpublished files
            try:
                yield self._manifest()
            finally:  # what was replaced, or on an error what was never published
                self._sweep(self._manifest())

    def _publish(self, manifest: dict[str, Any]) -> None:
        write_atomically(self.folder / MANIFEST, json.dumps(manifest, indent=2).encode())

    def _sweep(self, manifest: dict[str, Any]) -> None:
        """Delete the Parquet files ``manifest`` does not list."""
        listed = {*manifest["scores"].values(), manifest["outcomes"]}
        for path in self.folder.glob("*.parquet"):
            if path.name not in listed:
                path.unlink(missing_ok=True)

    def _write_file(self, frame: pd.DataFrame, name: str) -> str:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_unpublished(self.folder / name, buffer.getvalue())
        return name

    def write_scores(self, rows: pd.DataFrame) -> int:
        import pandas as pd

        incoming = conform_scores(rows).drop_duplicates(["id", "period"], keep="last")
        if incoming.empty:
            return 0
        with self._writing("logging scores") as manifest:
            generation = manifest["generation"] + 1
            files = dict(manifest["scores"])
            for period, new in incoming.groupby("period", sort=True):
                key = str(int(period))
                old = conform_scores(self._read(files.get(key), SCORE_COLUMNS))
                kept = old[~old["id"].isin(set(new["id"]))]
                merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
                files[key] = self._write_file(
                    merged, f"scores-{int(period):05d}-{generation}.parquet"
                )
            manifest.update(generation=generation, scores=files)
            self._publish(manifest)
        logger.info("Logged %d scored rows in %s", len(incoming), self.folder)
        return len(incoming)

    def add_outcomes(self, outcomes: pd.DataFrame, *, through_period: int) -> OutcomesAdded:
        import pandas as pd

        incoming = conform_outcomes(outcomes)
        repeated = incoming["id"][incoming["id"].duplicated()].unique().tolist()
        if repeated:
            raise refused_outcomes("repeat an id within the input", repeated)
        with self._writing("storing outcomes") as manifest:
            stored = self._outcomes(manifest)
            again = incoming["id"][incoming["id"].isin(set(stored["id"]))].tolist()
            if again:
                raise refused_outcomes("are for ids that already have one", again)
            scores = self._scores(manifest)
            first_scored = scores.groupby("id")["period"].min()
            unknown = incoming["id"][~incoming["id"].isin(first_scored.index)].tolist()
            if unknown:
                raise refused_outcomes("are for ids the score log has never scored", unknown)
            immature = int((first_scored.loc[incoming["id"]] > through_period).sum())
            generation = manifest["generation"] + 1
            both = pd.concat([stored, incoming], ignore_index=True) if len(stored) else incoming
            name = self._write_file(both, f"outcomes-{generation}.parquet")
            manifest.update(generation=generation, outcomes=name)
            self._publish(manifest)
        logger.info("Stored %d outcomes in %s", len(incoming), self.folder)
        return OutcomesAdded(added=len(incoming), not_yet_mature=immature)
