"""How the Snowflake backend stores what the ML registry has no column for.

A version's record (training window, fingerprints, spec, ...) travels in its
metadata metrics under :data:`RECORD_KEY`. Its training window's ``HASH_AGG``
fingerprint is all the leakage check needs: the warehouse matches the hold-out
against the window itself (:mod:`flows.backends.snowflake.fingerprint`). Versions
logged before that kept a hash per training row in a table beside the ledger;
they are still read from it, and checked on them.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from flows.backends.snowflake._parts import joined, parts
from flows.backends.snowflake._tables import ModelTable
from flows.records import ModelVersion

if TYPE_CHECKING:
    import numpy as np

TRAIN_ROWS_TABLE = "TRAIN_ROW_HASH_PARTS"
"""Table of training-row hashes per version, in parts: written for versions logged
without a window fingerprint, read for the leakage check of those."""
RECORD_KEY = "champion_challenger"
"""Key, inside a version's metrics, of the ModelVersion fields the registry has no column for."""
TARGET_PLATFORMS = ("WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES")
"""Where a version can run: warehouse functions, as the quickstart logs them, and SPCS."""
CONDA_DEPENDENCIES = ("scikit-learn",)
"""Packaged from Snowflake's Anaconda channel; relaxed to ``>=x.y,<x.(y+1)`` of the local version."""
TARGET_METHODS = ("predict", "predict_proba")
"""The model methods that become warehouse functions."""


def packaging_options() -> dict[str, Any]:
    """The ``log_model`` keywords that say how a version is packaged and where it runs."""
    from snowflake.ml.model.task import Task

    return {
        "conda_dependencies": list(CONDA_DEPENDENCIES),
        "target_platforms": list(TARGET_PLATFORMS),
        "task": Task.TABULAR_BINARY_CLASSIFICATION,
        "options": {"relax_version": True, "target_methods": list(TARGET_METHODS)},
    }


def metrics_of(version: ModelVersion) -> dict[str, Any]:
    """The version's metrics, plus its other fields under :data:`RECORD_KEY`."""
    record = {
        f.name: getattr(version, f.name)
        for f in fields(ModelVersion)
        if f.name not in ("model_name", "name", "comment", "metrics", "sha256")
    }
    return json.loads(json.dumps({**version.metrics, RECORD_KEY: record}, default=list))


def version_from_row(model_name: str, row: dict[str, Any]) -> ModelVersion:
    """A ModelVersion from a ``SHOW VERSIONS`` row (versions logged elsewhere get the defaults)."""
    metadata = json.loads(row.get("metadata") or "{}")
    metrics = dict(metadata.get("metrics") or {})
    record = metrics.pop(RECORD_KEY, {})
    for key in ("train_weeks", "test_weeks"):
        if record.get(key) is not None:
            record[key] = tuple(record[key])
    record.setdefault("created_at", str(row.get("created_on") or ""))
    return ModelVersion(
        model_name=model_name,
        name=row["name"],
        comment=row.get("comment") or "",
        metrics=metrics,
        **record,
    )


def hashes_table_ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the row-hash table (run by setup, never by a read)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (MODEL_NAME VARCHAR NOT NULL, "
        "VERSION_NAME VARCHAR NOT NULL, ROW_COUNT NUMBER NOT NULL, PART NUMBER NOT NULL, "
        "HASHES_BASE64 VARCHAR NOT NULL)"
    )


class RowHashes(ModelTable):
    """The training-row hashes of each version of one model, in parts of bounded size."""

    def store(self, version: str, hashes: np.ndarray) -> None:
        """Record the hashes of ``version`` unless they are already there."""
        import numpy as np

        where = f"{self.table} WHERE MODEL_NAME = ? AND VERSION_NAME = ?"
        if self._sql(f"SELECT COUNT(*) AS N FROM {where}", [self.model_name, version])[0]["N"]:
            return
        payload = np.asarray(hashes, dtype="<u8").tobytes()
        for number, part in enumerate(parts(payload)):
            self._sql(
                f"INSERT INTO {self.table} (MODEL_NAME, VERSION_NAME, ROW_COUNT, PART, "
                "HASHES_BASE64) VALUES (?, ?, ?, ?, ?)",
                [self.model_name, version, len(hashes), number, part],
            )

    def read(self, version: str) -> np.ndarray | None:
        """The hashes of ``version``, or None if none were recorded (or there is no table)."""
        import numpy as np

        rows = self.read_rows(
            f"SELECT HASHES_BASE64 FROM {self.table} WHERE MODEL_NAME = ? AND VERSION_NAME = ? "
            "ORDER BY PART",
            [self.model_name, version],
        )
        if not rows:
            return None
        return np.frombuffer(joined(r["HASHES_BASE64"] for r in rows), dtype="<u8").copy()
