"""The embedded registry: SQLite for versions, pointers and the ledger; files for artifacts.

Layout under the home directory::

    registry.sqlite                 versions, aliases, tags, default, ledger (WAL mode)
    artifacts/<MODEL>/<VERSION>/    model.pkl and train_rows.npy, written before the row
                                    that references them, each checked by SHA-256

Every write that moves a pointer runs in one ``BEGIN IMMEDIATE`` transaction, so
concurrent runs serialize on the database and a killed process leaves either the
old state or the new one. Artifacts are written to a temporary name, fsynced and
renamed, and only then is the version row committed: a version row never points at
a missing or partial file, and an orphaned artifact folder is simply overwritten by
the next attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sqlite3
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flows.errors import (
    ArtifactIntegrityError,
    RegistryBusyError,
    RegistryError,
    SchemaVersionError,
    VersionExistsError,
    VersionNotFoundError,
)
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, FEATURE_COLUMNS, LIVE_VERSION
from flows.registry.base import LedgerEntry, ModelVersion, Outcome, Registry, utc_now

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from flows.backend import Backend
    from flows.config import Settings

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the on-disk layout; a home written by a newer release is refused."""
BUSY_TIMEOUT_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    model TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
    record TEXT NOT NULL, sha256 TEXT NOT NULL, rows_sha256 TEXT,
    PRIMARY KEY (model, name));
CREATE TABLE IF NOT EXISTS aliases (
    model TEXT NOT NULL, alias TEXT NOT NULL, version TEXT NOT NULL,
    PRIMARY KEY (model, alias), UNIQUE (model, version));
CREATE TABLE IF NOT EXISTS tags (
    model TEXT NOT NULL, tag TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model, tag));
CREATE TABLE IF NOT EXISTS defaults (model TEXT PRIMARY KEY, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, recorded_at TEXT NOT NULL,
    outcome TEXT NOT NULL, entry TEXT NOT NULL, evidence BLOB);
"""


class LocalRegistry(Registry):
    """A registry for one model in a home directory; no server involved.

    Args:
        home: The home directory (created if missing).
        model_name: The registered model's name.
    """

    def __init__(self, home: Path, model_name: str) -> None:
        self.home = Path(home)
        self.model_name = model_name
        self.db_path = self.home / "registry.sqlite"
        self.artifacts = self.home / "artifacts" / model_name
        self._models: dict[tuple[str, str], Any] = {}
        _ensure_writable(self.home)
        self._initialise()

    # -- database plumbing ------------------------------------------------------------

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction (``BEGIN IMMEDIATE`` for writes)."""
        try:
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise RegistryError(f"Cannot open registry database {self.db_path}: {exc}.") from exc
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            _rollback(conn)
            if "locked" in str(exc) or "busy" in str(exc):
                raise RegistryBusyError(
                    f"Registry database {self.db_path} stayed locked for {BUSY_TIMEOUT_SECONDS:.0f} s "
                    "by another process; retry when it has finished."
                ) from exc
            raise RegistryError(f"Registry database {self.db_path}: {exc}.") from exc
        except BaseException:
            _rollback(conn)
            raise
        finally:
            conn.close()

    def _initialise(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:  # WAL is persistent and must be set outside a transaction
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            raise RegistryBusyError(f"Cannot open registry database {self.db_path}: {exc}.") from exc
        finally:
            conn.close()
        with self._connect(write=True) as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"Home {self.home} was written by a newer release (schema version {row[0]}; "
                    f"this release reads up to {SCHEMA_VERSION}). Upgrade champion-challenger."
                )

    # -- versions ---------------------------------------------------------------------

    def log_version(
        self,
        model: Any,
        version: ModelVersion,
        *,
        sample_input: pd.DataFrame,
        train_row_hashes: np.ndarray | None = None,
    ) -> ModelVersion:
        if self._row(version.name) is not None:
            raise VersionExistsError(
                f"Version {version.name!r} of {self.model_name} already exists; versions are immutable."
            )
        if hasattr(model, "predict_proba"):
            model.predict_proba(
                sample_input[list(FEATURE_COLUMNS)]
            )  # refuse a model that cannot score
        folder = self.artifacts / version.name
        folder.mkdir(parents=True, exist_ok=True)
        sha = _write_file(folder / "model.pkl", pickle.dumps(model, protocol=5))
        rows_sha = None
        if train_row_hashes is not None:
            rows_sha = _write_file(folder / "train_rows.npy", _npy_bytes(train_row_hashes))
        stored = replace(version, model_name=self.model_name, created_at=utc_now(), sha256=sha)
        with self._connect(write=True) as conn:
            try:
                conn.execute(
                    "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        self.model_name,
                        stored.name,
                        stored.created_at,
                        json.dumps(stored.to_dict()),
                        sha,
                        rows_sha,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise VersionExistsError(
                    f"Version {version.name!r} of {self.model_name} already exists; "
                    "versions are immutable."
                ) from exc
        logger.info("Logged version %s of %s (sha256 %s…)", stored.name, self.model_name, sha[:12])
        return stored

    def _row(self, name: str) -> sqlite3.Row | None:
        with self._connect() as conn:
            return conn.execute(
                "SELECT record, sha256, rows_sha256 FROM versions WHERE model=? AND name=?",
                (self.model_name, name),
            ).fetchone()

    def get_version(self, name: str) -> ModelVersion:
        row = self._row(name)
        if row is None:
            raise VersionNotFoundError(
                f"Model {self.model_name} has no version {name!r}; "
                "`ccflows status` lists the versions."
            )
        return _version_from_json(row[0])

    def list_versions(self) -> list[ModelVersion]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT record FROM versions WHERE model=? ORDER BY created_at, name",
                (self.model_name,),
            ).fetchall()
        return [_version_from_json(r[0]) for r in rows]

    def predict_proba(self, name: str, features: pd.DataFrame) -> np.ndarray:
        model = self.load_model(name)
        return np.asarray(model.predict_proba(features[list(FEATURE_COLUMNS)])[:, 1], dtype=float)

    def load_model(self, name: str) -> Any:
        """Unpickle version ``name`` from the registry's own store, after checking its SHA-256.

        Raises:
            ArtifactIntegrityError: if the file is missing or altered since logging.
        """
        row = self._row(name)
        if row is None:
            raise VersionNotFoundError(f"Model {self.model_name} has no version {name!r}.")
        sha = row[1]
        if (name, sha) not in self._models:
            payload = self._verified_bytes(name, "model.pkl", sha)
            self._models[(name, sha)] = pickle.loads(payload)
        return self._models[(name, sha)]

    def train_row_hashes(self, name: str) -> np.ndarray | None:
        row = self._row(name)
        if row is None:
            raise VersionNotFoundError(f"Model {self.model_name} has no version {name!r}.")
        if row[2] is None:
            return None
        import io

        return np.load(io.BytesIO(self._verified_bytes(name, "train_rows.npy", row[2])))

    def _verified_bytes(self, name: str, filename: str, expected_sha: str) -> bytes:
        path = self.artifacts / name / filename
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise ArtifactIntegrityError(
                f"Artifact of version {name} is missing: {path} ({exc.strerror}). "
                "Restore the file or roll back to another version."
            ) from exc
        actual = hashlib.sha256(payload).hexdigest()
        if actual != expected_sha:
            raise ArtifactIntegrityError(
                f"Artifact of version {name} ({path}) does not match the SHA-256 recorded when it "
                f"was logged (expected {expected_sha[:16]}…, got {actual[:16]}…); refusing to load it."
            )
        return payload

    # -- pointers ---------------------------------------------------------------------

    def version_by_alias(self, alias: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT version FROM aliases WHERE model=? AND alias=?", (self.model_name, alias)
            ).fetchone()
        return row[0] if row else None

    def get_tag(self, tag: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT value FROM tags WHERE model=? AND tag=?", (self.model_name, tag)
            ).fetchone()
        return row[0] if row else None

    def default_version(self) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT version FROM defaults WHERE model=?", (self.model_name,)
            ).fetchone()
        return row[0] if row else None

    def set_challenger(self, name: str) -> None:
        with self._connect(write=True) as conn:
            self._require(conn, name)
            holder = _alias_of(conn, self.model_name, name)
            if holder == CHAMPION:
                raise RegistryError(
                    f"Version {name} is the champion; it cannot also be the challenger."
                )
            self._point(conn, CHALLENGER, name)
            self._tag(conn, CHALLENGER_VERSION, name)

    def promote_if_champion_is(
        self, expected: str | None, new: str, entry: LedgerEntry, *, evidence: bytes | None = None
    ) -> LedgerEntry:
        with self._connect(write=True) as conn:
            self._require(conn, new)
            live = _tag_of(conn, self.model_name, LIVE_VERSION)
            if live != expected:
                entry = entry.stamped(
                    outcome=Outcome.STALE_CHAMPION,
                    live_before=live,
                    live_after=live,
                    reason=(
                        f"{entry.reason} — not applied: the live version is now {live}, not the "
                        f"evaluated {expected}; another run switched it first."
                    ),
                )
                return self._append(conn, entry, evidence)
            if _alias_of(conn, self.model_name, new) == CHALLENGER:
                conn.execute(
                    "DELETE FROM aliases WHERE model=? AND alias=?", (self.model_name, CHALLENGER)
                )
                conn.execute(
                    "DELETE FROM tags WHERE model=? AND tag=?",
                    (self.model_name, CHALLENGER_VERSION),
                )
            self._point(conn, CHAMPION, new)
            self._tag(conn, LIVE_VERSION, new)
            conn.execute(
                "INSERT INTO defaults VALUES (?, ?) ON CONFLICT(model) DO UPDATE SET version=excluded.version",
                (self.model_name, new),
            )
            return self._append(conn, entry.stamped(live_before=live, live_after=new), evidence)

    def _require(self, conn: sqlite3.Connection, name: str) -> None:
        found = conn.execute(
            "SELECT 1 FROM versions WHERE model=? AND name=?", (self.model_name, name)
        ).fetchone()
        if not found:
            raise VersionNotFoundError(f"Model {self.model_name} has no version {name!r}.")

    def _point(self, conn: sqlite3.Connection, alias: str, name: str) -> None:
        """Move ``alias`` to ``name``, taking any other alias off ``name`` first."""
        conn.execute(
            "DELETE FROM aliases WHERE model=? AND (alias=? OR version=?)",
            (self.model_name, alias, name),
        )
        conn.execute("INSERT INTO aliases VALUES (?, ?, ?)", (self.model_name, alias, name))

    def _tag(self, conn: sqlite3.Connection, tag: str, value: str) -> None:
        conn.execute(
            "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT(model, tag) DO UPDATE SET value=excluded.value",
            (self.model_name, tag, value),
        )

    # -- ledger -----------------------------------------------------------------------

    def append_ledger(self, entry: LedgerEntry, *, evidence: bytes | None = None) -> LedgerEntry:
        with self._connect(write=True) as conn:
            live = _tag_of(conn, self.model_name, LIVE_VERSION)
            return self._append(conn, entry.stamped(live_before=live, live_after=live), evidence)

    def _append(
        self, conn: sqlite3.Connection, entry: LedgerEntry, evidence: bytes | None
    ) -> LedgerEntry:
        entry = replace(entry, has_evidence=evidence is not None)
        cursor = conn.execute(
            "INSERT INTO ledger (model, recorded_at, outcome, entry, evidence) VALUES (?, ?, ?, ?, ?)",
            (
                self.model_name,
                entry.recorded_at,
                entry.outcome.value,
                json.dumps(entry.to_dict()),
                evidence,
            ),
        )
        return replace(entry, id=cursor.lastrowid)

    def ledger(self, *, limit: int | None = None) -> list[LedgerEntry]:
        query = "SELECT id, entry FROM ledger WHERE model=? ORDER BY id DESC"
        params: tuple[Any, ...] = (self.model_name,)
        if limit is not None:
            query += " LIMIT ?"
            params += (limit,)
        with self._connect() as conn:
            rows = conn.execute(query, params).fetchall()
        return [replace(LedgerEntry.from_dict(json.loads(e)), id=i) for i, e in reversed(rows)]

    def ledger_evidence(self, entry_id: int) -> bytes | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT evidence FROM ledger WHERE model=? AND id=?", (self.model_name, entry_id)
            ).fetchone()
        if row is None:
            raise VersionNotFoundError(f"The ledger of {self.model_name} has no entry {entry_id}.")
        return row[0]


def open_local_backend(settings: Settings) -> Backend:
    """The embedded backend under ``settings.home``."""
    from flows.backend import Backend
    from flows.sources.local import LocalWeekStore

    registry = LocalRegistry(settings.home, settings.model_name)
    return Backend(
        source=LocalWeekStore(settings.home / "data" / "applications"), registry=registry
    )


def _alias_of(conn: sqlite3.Connection, model: str, version: str) -> str | None:
    row = conn.execute(
        "SELECT alias FROM aliases WHERE model=? AND version=?", (model, version)
    ).fetchone()
    return row[0] if row else None


def _tag_of(conn: sqlite3.Connection, model: str, tag: str) -> str | None:
    row = conn.execute("SELECT value FROM tags WHERE model=? AND tag=?", (model, tag)).fetchone()
    return row[0] if row else None


def _version_from_json(text: str) -> ModelVersion:
    data = json.loads(text)
    for key in ("train_weeks", "test_weeks"):
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    return ModelVersion(**data)


def _write_file(path: Path, payload: bytes) -> str:
    """Write atomically (temporary name, fsync, rename) and return the SHA-256."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(payload).hexdigest()


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _ensure_writable(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RegistryError(
            f"Home directory {home} is not writable ({exc.strerror}); "
            "choose another with --home or CC_HOME."
        ) from exc


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
