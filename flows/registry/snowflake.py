"""The Snowflake backend's registry: the Snowflake ML Model Registry plus three small tables.

Versions, aliases (``CHAMPION``, ``CHALLENGER``), model tags (``LIVE_VERSION``,
``CHALLENGER_VERSION``) and the default version live in the Snowflake ML Model
Registry and are driven through ``snowflake.ml.registry.Registry``; inference runs
``model.version(name).run(X, function_name="predict_proba")`` in the warehouse.
Three tables in the same schema hold what the registry cannot:

- the promotion ledger (one row per decision, evidence stored base64-encoded),
- the promotion lock (one row per model, taken by a conditional ``UPDATE`` with an
  expiry, so a crashed holder blocks nobody for longer than the expiry),
- the training-row hashes of each version, for the leakage check.

Snowflake runs every DDL statement in its own transaction, so a switch of the
pointers cannot be atomic. It is made safe instead (see docs/snowflake.md): under
the lock, the live version is re-read (compare-and-set); the aliases move first,
then the challenger tag, then the default version, and the ``LIVE_VERSION`` tag,
which inference follows, moves last as the commit point; the ledger row follows.
If any of it fails, the pointers as they now are are read back and returned to
the state before the switch, ``LIVE_VERSION`` first. If even that fails, the error
lists the exact SQL that restores them.
"""

from __future__ import annotations

import base64
import enum
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from flows.errors import (
    AlreadyChampionError,
    RegistryBusyError,
    RegistryError,
    VersionExistsError,
    VersionNotFoundError,
)
from flows.identifiers import validate_identifier
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, LIVE_VERSION
from flows.registry.base import LedgerEntry, ModelVersion, Outcome, Registry, utc_now

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.ml.model import Model
    from snowflake.ml.model import ModelVersion as SnowflakeModelVersion
    from snowflake.snowpark import Row, Session

    from flows.config import SnowflakeSettings

logger = logging.getLogger(__name__)

TRAIN_ROWS_TABLE = "TRAIN_ROW_HASHES"
"""Table of training-row hashes per version (next to the ledger and lock tables)."""
RECORD_KEY = "champion_challenger"
"""Key, inside a version's metrics, of the ModelVersion fields the registry has no column for."""
TARGET_PLATFORMS = ("WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES")
"""Where a version can run: warehouse functions, as the quickstart logs them, and SPCS."""
CONDA_DEPENDENCIES = ("scikit-learn",)
"""Packaged from Snowflake's Anaconda channel; relaxed to ``>=x.y,<x.(y+1)`` of the local version."""
TARGET_METHODS = ("predict", "predict_proba")
"""The model methods that become warehouse functions."""
LOCK_TTL_SECONDS = 600.0
"""A lock older than this is considered abandoned by a crashed holder and may be taken over."""
LOCK_WAIT_SECONDS = 120.0
"""How long to wait for another run's lock before giving up."""
LOCK_POLL_SECONDS = 2.0
"""Pause between two attempts to take a lock held by another run."""

_ALIAS_FIELD = {CHAMPION: "champion", CHALLENGER: "challenger"}
_TAG_FIELD = {CHALLENGER_VERSION: "challenger_tag", LIVE_VERSION: "live"}
_TAG_COMMENTS = {
    LIVE_VERSION: "Version of the model that inference reads (champion-challenger).",
    CHALLENGER_VERSION: "Version of the model currently challenging the champion.",
}
_MISSING_MODEL = "Unable to find model"
_LEDGER_STEP = "INSERT INTO {table} (the ledger entry)"


class SwitchFailedError(RegistryError):
    """A pointer switch failed and was undone: the pointers are as they were before it."""


class PromotionIncompleteError(RegistryError):
    """A pointer switch failed midway and could not be undone; ``repair_sql`` restores the pointers.

    ``repair_sql_if_applied`` is the repair for the case where the statement that was
    running when the connection failed took effect after all.
    """

    def __init__(
        self,
        message: str,
        *,
        state: Pointers,
        repair_sql: list[str],
        repair_sql_if_applied: list[str],
    ) -> None:
        super().__init__(message)
        self.state = state
        self.repair_sql = repair_sql
        self.repair_sql_if_applied = repair_sql_if_applied


@dataclass(frozen=True)
class Pointers:
    """The model's pointers at one moment: what each alias and tag names, and the default."""

    champion: str | None = None
    """Version holding the CHAMPION alias."""
    challenger: str | None = None
    """Version holding the CHALLENGER alias."""
    challenger_tag: str | None = None
    """Value of the CHALLENGER_VERSION tag."""
    default: str | None = None
    """The model's default version."""
    live: str | None = None
    """Value of the LIVE_VERSION tag: what inference reads."""

    def describe(self) -> str:
        """``CHAMPION=V1, CHALLENGER=V2, CHALLENGER_VERSION=V2, default=V1, LIVE_VERSION=V1``."""
        return (
            f"{CHAMPION}={self.champion}, {CHALLENGER}={self.challenger}, "
            f"{CHALLENGER_VERSION}={self.challenger_tag}, default={self.default}, "
            f"{LIVE_VERSION}={self.live}"
        )


class ChangeKind(enum.StrEnum):
    """What one pointer statement does."""

    SET_ALIAS = "set_alias"
    UNSET_ALIAS = "unset_alias"
    SET_TAG = "set_tag"
    UNSET_TAG = "unset_tag"
    SET_DEFAULT = "set_default"

    @property
    def is_unset(self) -> bool:
        """Whether the statement removes a pointer."""
        return self in (ChangeKind.UNSET_ALIAS, ChangeKind.UNSET_TAG)


@dataclass(frozen=True)
class Change:
    """One pointer statement of a switch."""

    kind: ChangeKind
    """What the statement does."""
    name: str
    """The alias or tag concerned (empty for the default version)."""
    version: str | None
    """The version it points at (for ``unset_alias``: the version losing it)."""

    def applied_to(self, state: Pointers) -> Pointers:
        """The pointers after this statement."""
        if self.kind is ChangeKind.SET_DEFAULT:
            return replace(state, default=self.version)
        field = _ALIAS_FIELD.get(self.name) or _TAG_FIELD[self.name]
        return replace(state, **{field: None if self.kind.is_unset else self.version})

    def sql(self, model: str, schema: str) -> str:
        """The statement the Snowflake ML client issues for it (``model`` and ``schema`` qualified)."""
        if self.kind is ChangeKind.SET_ALIAS:
            return f"ALTER MODEL {model} VERSION {self.version} SET ALIAS = {self.name}"
        if self.kind is ChangeKind.UNSET_ALIAS:
            return f"ALTER MODEL {model} VERSION {self.name} UNSET ALIAS"
        if self.kind is ChangeKind.SET_DEFAULT:
            return f"ALTER MODEL {model} SET DEFAULT_VERSION = {self.version}"
        if self.kind is ChangeKind.SET_TAG:
            return f"ALTER MODEL {model} SET TAG {schema}.{self.name} = $${self.version}$$"
        return f"ALTER MODEL {model} UNSET TAG {schema}.{self.name}"


def plan_switch(current: Pointers, target: Pointers, *, commit_last: bool = True) -> list[Change]:
    """The statements that take the pointers from ``current`` to ``target``, in a safe order.

    Forward (``commit_last``): aliases (every unset before any set, because a version
    holds one alias at most; aliases that only go away first, so a moving alias is
    missing for a single statement), the challenger tag, the default version, and
    ``LIVE_VERSION`` last, so inference switches only once everything else agrees.
    Backward (restoring): the same groups in reverse, ``LIVE_VERSION`` first.
    """
    cleared, moved, sets = [], [], []
    for alias, field in _ALIAS_FIELD.items():
        now, wanted = getattr(current, field), getattr(target, field)
        if now != wanted:
            if now is not None:
                unset = Change(ChangeKind.UNSET_ALIAS, alias, now)
                (cleared if wanted is None else moved).append(unset)
            if wanted is not None:
                sets.append(Change(ChangeKind.SET_ALIAS, alias, wanted))
    unsets = cleared + moved  # an alias that moves is absent for as few statements as possible
    tags = {}
    for tag, field in _TAG_FIELD.items():
        now, wanted = getattr(current, field), getattr(target, field)
        if now != wanted:
            kind = ChangeKind.UNSET_TAG if wanted is None else ChangeKind.SET_TAG
            tags[tag] = [Change(kind, tag, wanted)]
    default = (
        [Change(ChangeKind.SET_DEFAULT, "", target.default)]
        if target.default is not None and target.default != current.default
        else []
    )
    groups = [unsets + sets, tags.get(CHALLENGER_VERSION, []), default, tags.get(LIVE_VERSION, [])]
    if not commit_last:
        groups.reverse()
    return [change for group in groups for change in group]


class SnowflakeRegistry(Registry):
    """The registry of one model in a Snowflake schema.

    Args:
        session: An open Snowpark session.
        settings: Database, schema and the ledger and lock table names.
        model_name: The registered model's name.
        train_rows_table: Table of training-row hashes.
        lock_ttl_seconds: Age after which a lock counts as abandoned.
        lock_wait_seconds: How long to wait for a lock held by another run.
        clock: Seconds since the epoch (injectable so tests can age a lock).
        sleep: Waits between lock attempts.
        on_close: Called by :meth:`close` (closes a session this backend opened).
    """

    def __init__(
        self,
        session: Session,
        settings: SnowflakeSettings,
        *,
        model_name: str,
        train_rows_table: str = TRAIN_ROWS_TABLE,
        lock_ttl_seconds: float = LOCK_TTL_SECONDS,
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        from snowflake.ml.registry import Registry as MLRegistry

        self.session = session
        self.model_name = validate_identifier(model_name, what="model name")
        self.schema = f"{settings.database}.{settings.schema}"
        self.qualified_model = f"{self.schema}.{self.model_name}"
        self.ledger_table = f"{self.schema}.{settings.ledger_table}"
        self.lock_table = f"{self.schema}.{settings.lock_table}"
        self.train_rows_table = (
            f"{self.schema}.{validate_identifier(train_rows_table, what='train_rows_table')}"
        )
        self.lock_ttl_seconds = lock_ttl_seconds
        self.lock_wait_seconds = lock_wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._on_close = on_close
        self._ml = MLRegistry(
            session,
            database_name=settings.database,
            schema_name=settings.schema,
            options={"enable_monitoring": False},
        )
        self._model: Model | None = None
        self._versions: dict[str, SnowflakeModelVersion] = {}
        self._ensure_objects()

    # -- plumbing ---------------------------------------------------------------------

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Row]:
        return self.session.sql(query, params=params).collect()

    def _ensure_objects(self) -> None:
        """Create the ledger, lock and hash tables, the lock row and the two tags, if missing."""
        self._sql(
            f"CREATE TABLE IF NOT EXISTS {self.ledger_table} (ID NUMBER NOT NULL, "
            "MODEL_NAME VARCHAR NOT NULL, RECORDED_AT VARCHAR NOT NULL, OUTCOME VARCHAR NOT NULL, "
            "CHAMPION_VERSION VARCHAR, CHALLENGER_VERSION VARCHAR, LIVE_BEFORE VARCHAR, "
            "LIVE_AFTER VARCHAR, ENTRY VARCHAR NOT NULL, EVIDENCE_BASE64 VARCHAR)"
        )
        self._sql(
            f"CREATE TABLE IF NOT EXISTS {self.lock_table} (NAME VARCHAR NOT NULL, "
            "HOLDER VARCHAR, ACQUIRED_AT VARCHAR, EXPIRES_AT NUMBER(38, 6))"
        )
        self._sql(
            f"CREATE TABLE IF NOT EXISTS {self.train_rows_table} (MODEL_NAME VARCHAR NOT NULL, "
            "VERSION_NAME VARCHAR NOT NULL, ROW_COUNT NUMBER NOT NULL, HASHES_BASE64 VARCHAR NOT NULL)"
        )
        # Two runs racing here may both insert; the lock still works, because taking it
        # updates every free row of the name and releasing it frees every row it holds.
        self._sql(
            f"INSERT INTO {self.lock_table} (NAME) SELECT ? WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.lock_table} WHERE NAME = ?)",
            [self.model_name, self.model_name],
        )
        for tag, comment in _TAG_COMMENTS.items():
            self._sql(f"CREATE TAG IF NOT EXISTS {self.schema}.{tag} COMMENT = '{comment}'")

    def _find_model(self) -> Model | None:
        if self._model is None:
            try:
                self._model = self._ml.get_model(self.model_name)
            except ValueError as exc:
                if _MISSING_MODEL not in str(exc):
                    raise
        return self._model

    def _require_model(self) -> Model:
        model = self._find_model()
        if model is None:
            raise VersionNotFoundError(
                f"Model {self.qualified_model} does not exist yet; log a version first "
                "(`ccflows train-champion`)."
            )
        return model

    def _mv(self, name: str) -> SnowflakeModelVersion:
        """The Snowflake ML version object of ``name`` (cached: versions are immutable)."""
        if name not in self._versions:
            model = self._require_model()
            try:
                self._versions[name] = model.version(name)
            except ValueError as exc:
                raise VersionNotFoundError(
                    f"Model {self.qualified_model} has no version {name!r}; "
                    "`ccflows status` lists the versions."
                ) from exc
        return self._versions[name]

    def _version_rows(self) -> list[dict[str, Any]]:
        model = self._find_model()
        return [] if model is None else model.show_versions().to_dict("records")

    # -- versions ---------------------------------------------------------------------

    def log_version(
        self,
        model: Any,
        version: ModelVersion,
        *,
        sample_input: pd.DataFrame,
        train_row_hashes: np.ndarray | None = None,
    ) -> ModelVersion:
        from snowflake.ml.model.task import Task

        name = _version_name(version.name)
        if any(row["name"] == name for row in self._version_rows()):
            raise VersionExistsError(
                f"Version {name!r} of {self.qualified_model} already exists; versions are immutable."
            )
        stored = replace(
            version, model_name=self.model_name, name=name, created_at=utc_now(), sha256=""
        )
        metrics = _metrics_of(stored)
        _check_dollar_quotable(stored.comment, what=f"comment of version {name}")
        _check_dollar_quotable(json.dumps(metrics), what=f"metrics of version {name}")
        if train_row_hashes is not None:
            self._store_row_hashes(name, train_row_hashes)
        self._versions[name] = self._ml.log_model(
            model,
            model_name=self.model_name,
            version_name=name,
            comment=stored.comment or None,
            metrics=metrics,
            sample_input_data=sample_input,
            conda_dependencies=list(CONDA_DEPENDENCIES),
            target_platforms=list(TARGET_PLATFORMS),
            task=Task.TABULAR_BINARY_CLASSIFICATION,
            options={"relax_version": True, "target_methods": list(TARGET_METHODS)},
        )
        logger.info("Logged version %s of %s", name, self.qualified_model)
        return stored

    def get_version(self, name: str) -> ModelVersion:
        name = _version_name(name)
        for row in self._version_rows():
            if row["name"] == name:
                return _version_from_row(self.model_name, row)
        raise VersionNotFoundError(
            f"Model {self.qualified_model} has no version {name!r}; "
            "`ccflows status` lists the versions."
        )

    def list_versions(self) -> list[ModelVersion]:
        versions = [_version_from_row(self.model_name, row) for row in self._version_rows()]
        return sorted(versions, key=lambda v: (v.created_at, v.name))

    def predict_proba(self, name: str, features: pd.DataFrame) -> np.ndarray:
        model_input = self.get_version(name).data_contract.model_input(features)
        result = self._mv(_version_name(name)).run(model_input, function_name="predict_proba")
        if result.shape[1] != 2:
            raise RegistryError(
                f"predict_proba of version {name} returned columns {list(result.columns)}; "
                "expected the probabilities of the two classes."
            )
        return np.asarray(result.iloc[:, 1], dtype=float)

    def train_row_hashes(self, name: str) -> np.ndarray | None:
        name = self.get_version(name).name
        rows = self._sql(
            f"SELECT HASHES_BASE64 FROM {self.train_rows_table} "
            "WHERE MODEL_NAME = ? AND VERSION_NAME = ?",
            [self.model_name, name],
        )
        if not rows:
            return None
        return np.frombuffer(base64.b64decode(rows[0]["HASHES_BASE64"]), dtype="<u8").copy()

    def _store_row_hashes(self, name: str, hashes: np.ndarray) -> None:
        payload = base64.b64encode(np.asarray(hashes, dtype="<u8").tobytes()).decode("ascii")
        self._sql(
            f"INSERT INTO {self.train_rows_table} (MODEL_NAME, VERSION_NAME, ROW_COUNT, "
            "HASHES_BASE64) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
            f"{self.train_rows_table} WHERE MODEL_NAME = ? AND VERSION_NAME = ?)",
            [self.model_name, name, len(hashes), payload, self.model_name, name],
        )

    # -- pointers ---------------------------------------------------------------------

    def version_by_alias(self, alias: str) -> str | None:
        return self._version_pointers().get(_ALIAS_FIELD[alias])

    def get_tag(self, tag: str) -> str | None:
        model = self._find_model()
        return None if model is None else model.get_tag(tag)

    def default_version(self) -> str | None:
        return self._version_pointers().get("default")

    def _version_pointers(self) -> dict[str, str]:
        """Alias holders and the default version, from one ``SHOW VERSIONS``."""
        found = {}
        for row in self._version_rows():
            for alias in json.loads(row["aliases"] or "[]"):
                if alias in _ALIAS_FIELD:
                    found[_ALIAS_FIELD[alias]] = row["name"]
                elif alias == "DEFAULT":
                    found["default"] = row["name"]
        return found

    def pointers(self) -> Pointers:
        """Every pointer as it is now: one ``SHOW VERSIONS`` and two tag reads."""
        tags = {field: self.get_tag(tag) for tag, field in _TAG_FIELD.items()}
        return Pointers(**self._version_pointers(), **tags)

    def set_challenger(self, name: str) -> None:
        name = self.get_version(name).name
        with self._locked() as holder:
            before = self.pointers()
            if before.champion == name:
                raise AlreadyChampionError(
                    f"Version {name} is the champion; it cannot also be the challenger."
                )
            target = replace(before, challenger=name, challenger_tag=name)
            self._switch(before, target, what=f"Setting {name} as challenger", holder=holder)

    def promote_if_champion_is(
        self, expected: str | None, new: str, entry: LedgerEntry, *, evidence: bytes | None = None
    ) -> LedgerEntry:
        new = self.get_version(new).name
        with self._locked() as holder:
            before = self.pointers()  # read under the lock: the compare of compare-and-set
            live = before.live
            if live != expected:
                stale = entry.stamped(
                    outcome=Outcome.STALE_CHAMPION,
                    live_before=live,
                    live_after=live,
                    reason=(
                        f"{entry.reason} — not applied: the live version is now {live}, not the "
                        f"evaluated {expected}; another run switched it first."
                    ),
                )
                return self._insert_ledger(stale, evidence)
            took_challenger = before.challenger == new
            target = Pointers(
                champion=new,
                challenger=None if took_challenger else before.challenger,
                challenger_tag=None if took_challenger else before.challenger_tag,
                default=new,
                live=new,
            )
            recorded = entry.stamped(live_before=live, live_after=new)
            try:
                return self._switch(
                    before,
                    target,
                    what=f"Promotion of {new} over {expected}",
                    record=lambda: self._insert_ledger(recorded, evidence),
                    holder=holder,
                )
            except SwitchFailedError as exc:  # restored: record the attempt, never lose a decision
                self._record_failed(recorded, live, exc, evidence)
                raise

    def _record_failed(
        self, entry: LedgerEntry, live: str | None, exc: Exception, evidence: bytes | None
    ) -> None:
        failed = replace(
            entry,
            outcome=Outcome.FAILED,
            live_after=live,
            reason=f"{entry.reason} — not applied: {exc}",
        )
        try:
            self._insert_ledger(failed, evidence)
        except Exception as record_exc:
            logger.error("Could not record the failed switch in the ledger: %s", record_exc)

    def _switch(
        self,
        before: Pointers,
        target: Pointers,
        *,
        what: str,
        holder: str,
        record: Callable[[], LedgerEntry] | None = None,
    ) -> LedgerEntry | None:
        """Move the pointers from ``before`` to ``target``, then ``record``; undo both on failure."""
        plan = plan_switch(before, target)
        for pointers in (before, target):  # every read happens before the first write
            for name in (pointers.champion, pointers.challenger):
                if name is not None:
                    self._mv(name)
        state, in_flight, step = before, None, ""
        try:
            for change in plan:
                step = change.sql(self.qualified_model, self.schema)
                if change.name == LIVE_VERSION:
                    self._renew_lock(holder)  # never commit on a lock another run took over
                in_flight = change
                self._run(change)
                state, in_flight = change.applied_to(state), None
            step = _LEDGER_STEP.format(table=self.ledger_table)
            result = record() if record is not None else None
        except Exception as exc:
            self._restore(before, state, in_flight, what=what, step=step, cause=exc)
        logger.info("%s: done (%s).", what, target.describe())
        return result

    def _run(self, change: Change) -> None:
        """Issue ``change`` through the Snowflake ML client."""
        model = self._require_model()
        if change.kind is ChangeKind.SET_ALIAS:
            self._mv(change.version).set_alias(change.name)
        elif change.kind is ChangeKind.UNSET_ALIAS:
            self._mv(change.version).unset_alias(change.name)
        elif change.kind is ChangeKind.SET_DEFAULT:
            model.default = change.version
        elif change.kind is ChangeKind.SET_TAG:
            model.set_tag(change.name, change.version)
        else:
            model.unset_tag(change.name)

    def _restore(
        self,
        before: Pointers,
        believed: Pointers,
        in_flight: Change | None,
        *,
        what: str,
        step: str,
        cause: Exception,
    ) -> None:
        """Return the pointers to ``before`` after a failed switch, then raise what happened.

        ``in_flight`` is the statement that was running when the failure came: it may or
        may not have taken effect, so the pointers are read back before anything is undone.
        """
        logger.error("%s failed at `%s`: %s. Restoring %s.", what, step, cause, before.describe())
        state = believed
        try:
            state, in_flight = self.pointers(), None
            for change in plan_switch(state, before, commit_last=False):
                in_flight = change
                self._run(change)
                state, in_flight = change.applied_to(state), None
        except Exception as restore_exc:
            raise self._incomplete(
                before, state, in_flight, what=what, step=step, cause=cause, failure=restore_exc
            ) from cause
        raise SwitchFailedError(
            f"{what} failed at `{step}`: {cause}. The previous pointers were restored "
            f"({before.describe()}); nothing was switched."
        ) from cause

    def _incomplete(
        self,
        before: Pointers,
        state: Pointers,
        in_flight: Change | None,
        *,
        what: str,
        step: str,
        cause: Exception,
        failure: Exception,
    ) -> RegistryError:
        """The error for a switch that could not be undone, with the exact SQL that undoes it."""
        repair = self._repair_sql(state, before)
        applied = self._repair_sql(in_flight.applied_to(state), before) if in_flight else repair
        if not repair and not applied:
            return SwitchFailedError(
                f"{what} failed at `{step}`: {cause}. No pointer had been changed, so nothing "
                f"was switched (the pointers could not be read back: {failure})."
            )
        lines = [
            f"{what} failed at `{step}` ({cause}), and restoring the previous pointers failed "
            f"too ({failure}).",
            f"Last known pointers: {state.describe()}.",
            f"They should be: {before.describe()}.",
            "If the ledger holds the entry after all, the switch is complete: run nothing."
            if step == _LEDGER_STEP.format(table=self.ledger_table)
            else "Nothing was recorded in the ledger.",
        ]
        if repair:
            lines += ["To restore them, run in order:", *(f"  {sql};" for sql in repair)]
        if in_flight is not None and applied != repair:
            sql = in_flight.sql(self.qualified_model, self.schema)
            lines += [f"If `{sql}` took effect after all (its reply was lost), run instead:"]
            lines += [f"  {sql};" for sql in applied] or ["  nothing."]
        lines += [f"The promotion lock frees itself within {self.lock_ttl_seconds:.0f} s."]
        return PromotionIncompleteError(
            "\n".join(lines), state=state, repair_sql=repair, repair_sql_if_applied=applied
        )

    def _repair_sql(self, state: Pointers, before: Pointers) -> list[str]:
        return [
            change.sql(self.qualified_model, self.schema)
            for change in plan_switch(state, before, commit_last=False)
        ]

    # -- the promotion lock -------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[str]:
        """Hold the model's promotion lock for the duration of the block."""
        holder = self._acquire_lock()
        try:
            yield holder
        finally:
            self._release_lock(holder)

    def _acquire_lock(self) -> str:
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        deadline = self._clock() + self.lock_wait_seconds
        while True:
            now = self._clock()
            try:
                taken = self._sql(
                    f"UPDATE {self.lock_table} SET HOLDER = ?, ACQUIRED_AT = ?, EXPIRES_AT = ? "
                    "WHERE NAME = ? AND (HOLDER IS NULL OR EXPIRES_AT < ?)",
                    [holder, _iso(now), now + self.lock_ttl_seconds, self.model_name, now],
                )
            except Exception:
                self._release_lock(holder)  # the lost reply may have been a success
                raise
            if taken[0][0]:
                return holder
            if now >= deadline:
                raise RegistryBusyError(self._busy_message())
            self._sleep(LOCK_POLL_SECONDS)

    def _busy_message(self) -> str:
        rows = self._sql(
            f"SELECT HOLDER, ACQUIRED_AT, EXPIRES_AT FROM {self.lock_table} "
            "WHERE NAME = ? AND HOLDER IS NOT NULL",
            [self.model_name],
        )
        if not rows:
            return f"The promotion lock of {self.qualified_model} could not be taken; retry."
        row = rows[0]
        return (
            f"The promotion lock of {self.qualified_model} is held by {row['HOLDER']} since "
            f"{row['ACQUIRED_AT']} (expires {_iso(float(row['EXPIRES_AT']))}); waited "
            f"{self.lock_wait_seconds:.0f} s. Retry later; if that run is known to be dead, "
            f"free the lock with: {self._release_sql(row['HOLDER'])};"
        )

    def _renew_lock(self, holder: str) -> None:
        renewed = self._sql(
            f"UPDATE {self.lock_table} SET EXPIRES_AT = ? WHERE NAME = ? AND HOLDER = ?",
            [self._clock() + self.lock_ttl_seconds, self.model_name, holder],
        )
        if not renewed[0][0]:
            raise RegistryBusyError(
                f"The promotion lock of {self.qualified_model} expired and was taken by another "
                "run before the switch was committed."
            )

    def _release_lock(self, holder: str) -> None:
        try:
            self._sql(
                f"UPDATE {self.lock_table} SET HOLDER = NULL, ACQUIRED_AT = NULL, "
                "EXPIRES_AT = NULL WHERE NAME = ? AND HOLDER = ?",
                [self.model_name, holder],
            )
        except Exception as exc:
            logger.warning(
                "Could not release the promotion lock of %s (%s); it expires within %.0f s, "
                "or free it with: %s;",
                self.qualified_model,
                exc,
                self.lock_ttl_seconds,
                self._release_sql(holder),
            )

    def _release_sql(self, holder: str) -> str:
        return (
            f"UPDATE {self.lock_table} SET HOLDER = NULL, ACQUIRED_AT = NULL, EXPIRES_AT = NULL "
            f"WHERE NAME = '{self.model_name}' AND HOLDER = {_literal(holder)}"
        )

    # -- ledger -----------------------------------------------------------------------

    def append_ledger(self, entry: LedgerEntry, *, evidence: bytes | None = None) -> LedgerEntry:
        with self._locked():
            live = self.get_tag(LIVE_VERSION)
            return self._insert_ledger(entry.stamped(live_before=live, live_after=live), evidence)

    def _insert_ledger(self, entry: LedgerEntry, evidence: bytes | None) -> LedgerEntry:
        """Append ``entry`` with the next id; the caller holds the lock, so ids are dense."""
        rows = self._sql(
            f"SELECT COALESCE(MAX(ID), 0) + 1 AS NEXT_ID FROM {self.ledger_table} "
            "WHERE MODEL_NAME = ?",
            [self.model_name],
        )
        entry = replace(entry, id=int(rows[0]["NEXT_ID"]), has_evidence=evidence is not None)
        try:
            self._sql(
                f"INSERT INTO {self.ledger_table} (ID, MODEL_NAME, RECORDED_AT, OUTCOME, "
                "CHAMPION_VERSION, CHALLENGER_VERSION, LIVE_BEFORE, LIVE_AFTER, ENTRY, "
                "EVIDENCE_BASE64) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.id,
                    self.model_name,
                    entry.recorded_at,
                    entry.outcome.value,
                    entry.champion_version,
                    entry.challenger_version,
                    entry.live_before,
                    entry.live_after,
                    json.dumps(entry.to_dict()),
                    None if evidence is None else base64.b64encode(evidence).decode("ascii"),
                ],
            )
        except Exception:
            if not self._ledger_holds(entry):  # a lost reply may hide a successful insert
                raise
        return entry

    def _ledger_holds(self, entry: LedgerEntry) -> bool:
        try:
            rows = self._sql(
                f"SELECT ENTRY FROM {self.ledger_table} WHERE MODEL_NAME = ? AND ID = ?",
                [self.model_name, entry.id],
            )
        except Exception:
            return False
        return bool(rows) and json.loads(rows[0]["ENTRY"])["recorded_at"] == entry.recorded_at

    def ledger(self, *, limit: int | None = None) -> list[LedgerEntry]:
        query = f"SELECT ID, ENTRY FROM {self.ledger_table} WHERE MODEL_NAME = ? ORDER BY ID DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        rows = self._sql(query, [self.model_name])
        return [
            replace(LedgerEntry.from_dict(json.loads(row["ENTRY"])), id=int(row["ID"]))
            for row in reversed(rows)
        ]

    def ledger_evidence(self, entry_id: int) -> bytes | None:
        rows = self._sql(
            f"SELECT EVIDENCE_BASE64 FROM {self.ledger_table} WHERE MODEL_NAME = ? AND ID = ?",
            [self.model_name, int(entry_id)],
        )
        if not rows:
            raise VersionNotFoundError(
                f"The ledger of {self.qualified_model} has no entry {entry_id}."
            )
        text = rows[0]["EVIDENCE_BASE64"]
        return None if text is None else base64.b64decode(text)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()


def _version_name(name: str) -> str:
    return validate_identifier(name, what="version name")


def _check_dollar_quotable(text: str, *, what: str) -> None:
    """Refuse text that would end a ``$$…$$`` literal early: the ML client does not escape it."""
    if "$$" in text:
        raise RegistryError(
            f"The {what} contains '$$', which Snowflake cannot hold in a $$-quoted literal; "
            f"remove it. Got: {text[:80]!r}."
        )


def _metrics_of(version: ModelVersion) -> dict[str, Any]:
    """The version's metrics, plus its other fields under :data:`RECORD_KEY`."""
    record = {
        f.name: getattr(version, f.name)
        for f in fields(ModelVersion)
        if f.name not in ("model_name", "name", "comment", "metrics", "sha256")
    }
    return json.loads(json.dumps({**version.metrics, RECORD_KEY: record}, default=list))


def _version_from_row(model_name: str, row: dict[str, Any]) -> ModelVersion:
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


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
