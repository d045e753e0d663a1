"""The embedded registry: SQLite for versions, pointers and the ledger; files for artifacts.

Layout under the home directory::

    registry.sqlite                 versions, aliases, tags, default, ledger (WAL mode)
    artifacts/<MODEL>/<VERSION>/    model.pkl and train_rows.npy, written before the row
                                    that references them, each checked by SHA-256
                                    (``flows.backends.local._artifacts``)

Every write that moves a pointer runs in one ``BEGIN IMMEDIATE`` transaction, so
concurrent runs serialize on the database and a killed process leaves either the
old state or the new one. Artifacts are written to a temporary name, fsynced and
renamed, all while the version's row is being inserted under the write lock, so a
version row never points at a missing or partial file, two processes never write the
same version's files at once, and an orphaned artifact folder (a process killed
before COMMIT) is simply overwritten by the next attempt. A version is made live only
after its artifact has been checked against its SHA-256, inside the switch itself.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.local import _ledger
from flows.backends.local._artifacts import ArtifactStore
from flows.backends.local._home import ensure_writable, require_home
from flows.backends.local._pointers import alias_of, tag_of, unset_challenger
from flows.backends.local.durable import checkpoint
from flows.backends.registry import Registry, require_model
from flows.errors import (
    AlreadyChampionError,
    ModelNotFoundError,
    RegistryBusyError,
    RegistryError,
    SchemaVersionError,
    VersionExistsError,
    VersionNotFoundError,
)
from flows.identifiers import validate_identifier
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, LIVE_VERSION
from flows.records import LedgerEntry, ModelVersion, Outcome, utc_now

if TYPE_CHECKING:  # numpy is imported where arrays are handled: `ccflows status` starts faster
    from collections.abc import Iterator

    import numpy as np
    import pandas as pd


logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the on-disk layout; a home written by a newer release is refused."""
BUSY_TIMEOUT_SECONDS = 60.0
"""How long a run waits for another run's write to finish before giving up."""
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
        home: The home directory (created if missing in ``write`` mode).
        model_name: The registered model's name.
        busy_timeout: Seconds to wait for another process's write before raising
            ``RegistryBusyError``. Defaults to :data:`BUSY_TIMEOUT_SECONDS`.
        mode: ``read`` opens an existing registry without creating or changing anything,
            so a mistyped home or model name is refused instead of silently created;
            ``write`` creates the home and the schema (:meth:`setup`) if missing.

    Raises:
        ModelNotFoundError: in ``read`` mode, if the home, its registry or the model
            does not exist; the message lists the models the home does hold.
    """

    def __init__(
        self,
        home: Path,
        model_name: str,
        *,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        mode: Mode = "write",
    ) -> None:
        self.home = Path(home)
        self.model_name = model_name
        self.db_path = self.home / "registry.sqlite"
        self.artifacts = self.home / "artifacts" / model_name
        self._store = ArtifactStore(self.artifacts)
        self.busy_timeout = busy_timeout
        self.mode = check_mode(mode)
        if self.mode == "read":
            self._check_model_exists()
        else:
            ensure_writable(self.home)
            self.setup()

    def _check_model_exists(self) -> None:
        """Refuse a missing home, registry or model, naming what exists instead."""
        require_home(self.home)
        if not self.db_path.is_file():
            raise ModelNotFoundError(
                f"no registry in {self.home} (no registry.sqlite); "
                "`ccflows generate` and `ccflows train-champion` create one"
            )
        with self._connect() as conn:
            stored = _schema_version(conn)
            self._refuse_newer(stored)
            query = "SELECT model FROM versions UNION SELECT model FROM ledger"
            models = [row[0] for row in conn.execute(query)] if stored is not None else []
        require_model(self.model_name, models, where=self.home)

    # -- database plumbing ------------------------------------------------------------

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction (``BEGIN IMMEDIATE`` for writes)."""
        if write:
            refuse_in_read_mode(self.mode, "a write", f"Registry {self.db_path}")
        with self._database_errors():
            conn = sqlite3.connect(self.db_path, timeout=self.busy_timeout, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            finally:
                conn.close()

    @contextmanager
    def _database_errors(self) -> Iterator[None]:
        """Turn SQLite's exceptions into registry errors that name the file and the fix."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a broken invariant of ours, not a damaged file
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise RegistryBusyError(
                    f"Registry database {self.db_path} stayed locked for {self.busy_timeout:g} s "
                    "by another process; retry when it has finished."
                ) from exc
            raise RegistryError(f"Registry database {self.db_path}: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            raise RegistryError(
                f"Registry database {self.db_path} is damaged or not a registry ({exc}); "
                "move it aside and restore the home from a backup."
            ) from exc

    def setup(self) -> list[str]:
        """Create the schema if missing and return the statements that ran (none if it existed).

        Opening in ``write`` mode runs it. A home written by a newer release is refused.
        An existing registry is only read here, so opening one never waits for a writer.
        """
        refuse_in_read_mode(self.mode, "setup", f"Registry {self.db_path}")
        ran: list[str] = []
        with self._database_errors():
            conn = sqlite3.connect(self.db_path, timeout=self.busy_timeout, isolation_level=None)
            try:
                self._use_wal(conn)
            finally:
                conn.close()
        with self._connect() as conn:
            stored = _schema_version(conn)
        if stored is None:
            with self._connect(write=True) as conn:
                ran = [" ".join(s.split()) for s in _SCHEMA.split(";") if s.strip()]
                for statement in ran:
                    conn.execute(statement)
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                stored = _schema_version(conn)
        self._refuse_newer(stored)
        return ran

    def _refuse_newer(self, stored: int | None) -> None:
        """Refuse a home written by a newer release of this package."""
        if stored is not None and stored > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"Home {self.home} was written by a newer release (schema version {stored}; "
                f"this release reads up to {SCHEMA_VERSION}). Upgrade champion-challenger."
            )

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the database to WAL (persistent; set outside a transaction), once.

        Switching fails at once, without waiting, while another process has the file
        open; that process is then the one switching it, so look again until it has.
        """
        deadline = time.monotonic() + self.busy_timeout
        while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

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
            raise _exists(version.name, self.model_name)
        if hasattr(model, "predict_proba"):
            model.predict_proba(sample_input)  # refuse a model that cannot score
        with self._connect(write=True) as conn:
            # Files are written under the write lock: no other process can be writing
            # this version's folder, and the row lands only if they are complete.
            if _sha_of(conn, self.model_name, version.name) is not None:
                raise _exists(version.name, self.model_name)
            sha, rows_sha = self._store.write(version.name, model, train_row_hashes)
            stored = replace(version, model_name=self.model_name, created_at=utc_now(), sha256=sha)
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
            checkpoint("version-uncommitted")
        checkpoint("version-committed")
        self._store.remember(stored.name, sha, model)
        logger.info("Logged version %s of %s (sha256 %s…)", stored.name, self.model_name, sha[:12])
        return stored

    def _row(self, name: str) -> sqlite3.Row | None:
        validate_identifier(name, what="Version name")
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
        from flows.cycle.prediction import positive_scores

        model_input = self.get_version(name).data_contract.model_input(features)
        return positive_scores(self.load_model(name), model_input)

    def load_model(self, name: str) -> Any:
        """Unpickle version ``name`` from the registry's own store, after checking its SHA-256.

        Raises:
            ArtifactIntegrityError: if the file is missing or altered since logging.
        """
        row = self._row(name)
        if row is None:
            raise VersionNotFoundError(f"Model {self.model_name} has no version {name!r}.")
        return self._store.load_model(name, row[1])

    def train_row_hashes(self, name: str) -> np.ndarray | None:
        row = self._row(name)
        if row is None:
            raise VersionNotFoundError(f"Model {self.model_name} has no version {name!r}.")
        return None if row[2] is None else self._store.load_rows(name, row[2])

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
            holder = alias_of(conn, self.model_name, name)
            if holder == CHAMPION:
                raise AlreadyChampionError(
                    f"Version {name} is the champion; it cannot also be the challenger."
                )
            self._point(conn, CHALLENGER, name)
            self._tag(conn, CHALLENGER_VERSION, name)
            checkpoint("challenger-uncommitted")

    def clear_challenger(self, name: str) -> None:
        with self._connect(write=True) as conn:
            unset_challenger(conn, self.model_name, name)

    def promote_if_champion_is(
        self, expected: str | None, new: str, entry: LedgerEntry, *, evidence: bytes | None = None
    ) -> LedgerEntry:
        with self._connect(write=True) as conn:
            sha = self._require(conn, new)
            live = tag_of(conn, self.model_name, LIVE_VERSION)
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
                return _ledger.insert(conn, self.model_name, entry, evidence)
            self._store.check_model(new, sha, refusing="make it live")
            if alias_of(conn, self.model_name, new) == CHALLENGER:
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
            entry = entry.stamped(live_before=live, live_after=new)
            recorded = _ledger.insert(conn, self.model_name, entry, evidence)
            checkpoint("switch-uncommitted")
        checkpoint("switch-committed")
        return recorded

    def _require(self, conn: sqlite3.Connection, name: str) -> str:
        """The SHA-256 of version ``name``'s artifact; raises if there is no such version."""
        validate_identifier(name, what="Version name")
        sha = _sha_of(conn, self.model_name, name)
        if sha is None:
            raise VersionNotFoundError(f"Model {self.model_name} has no version {name!r}.")
        return sha

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
            live = tag_of(conn, self.model_name, LIVE_VERSION)
            entry = entry.stamped(live_before=live, live_after=live)
            recorded = _ledger.insert(conn, self.model_name, entry, evidence)
            checkpoint("ledger-uncommitted")
        return recorded

    def append_end(self, entry: LedgerEntry) -> LedgerEntry | None:
        with self._connect(write=True) as conn:  # BEGIN IMMEDIATE: look, then insert
            live = tag_of(conn, self.model_name, LIVE_VERSION)
            entry = entry.stamped(live_before=live, live_after=live)
            if _ledger.attempt_has_end(conn, self.model_name, entry):
                return None
            recorded = _ledger.insert(conn, self.model_name, entry, None)
            checkpoint("ledger-uncommitted")
        return recorded

    def ledger(self, *, limit: int | None = None, started: bool = False) -> list[LedgerEntry]:
        with self._connect() as conn:
            return _ledger.read(conn, self.model_name, started=started, limit=limit)

    def ledger_evidence(self, entry_id: int) -> bytes | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT evidence FROM ledger WHERE model=? AND id=?", (self.model_name, entry_id)
            ).fetchone()
        if row is None:
            raise VersionNotFoundError(f"The ledger of {self.model_name} has no entry {entry_id}.")
        return row[0]


def _schema_version(conn: sqlite3.Connection) -> int | None:
    """The stored schema version, or None for a database not yet initialised."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if not has_meta:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else None


def _sha_of(conn: sqlite3.Connection, model: str, name: str) -> str | None:
    """The artifact SHA-256 recorded for version ``name``, or None if there is no such version."""
    row = conn.execute(
        "SELECT sha256 FROM versions WHERE model=? AND name=?", (model, name)
    ).fetchone()
    return row[0] if row else None


def _exists(name: str, model: str) -> VersionExistsError:
    return VersionExistsError(
        f"Version {name!r} of {model} already exists; versions are immutable."
    )


def _version_from_json(text: str) -> ModelVersion:
    data = json.loads(text)
    for key in ("train_weeks", "test_weeks"):
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    return ModelVersion(**data)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
