"""The Snowflake backend's registry: the Snowflake ML Model Registry plus three small tables.

Versions, aliases, model tags and the default version live in the Snowflake ML
Model Registry; the ledger, the lock and the training-row hashes are tables beside
it (``snowflake_ledger``, ``snowflake_lock``, ``snowflake_versions``). A switch
cannot be atomic, so under the lock the live version is re-read (compare-and-set),
a ``pending`` ledger row is written, the pointers move in the order of
``snowflake_switch`` with ``LIVE_VERSION`` last (the commit point), and the row is
completed. Before the commit point a failure restores the pointers; after it
nothing is undone. A crash anywhere leaves a pending row that reads truthfully
against ``LIVE_VERSION`` and that the next locked run settles. Reads issue no DDL;
:meth:`SnowflakeRegistry.setup` creates the tables and tags, and every write runs it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.registry import Registry, require_model
from flows.backends.snowflake._ledger import (
    SnowflakeLedger,
    interrupted,
    ledger_table_ddl,
    not_applied,
)
from flows.backends.snowflake._lock import (
    LOCK_TTL_SECONDS,
    LOCK_WAIT_SECONDS,
    PromotionLock,
    lock_table_ddl,
)
from flows.backends.snowflake._ml import model_names, open_ml_registry
from flows.backends.snowflake._switch import (
    ALIAS_FIELD,
    TAG_FIELD,
    Change,
    ChangeKind,
    Pointers,
    incomplete_error,
    plan_switch,
    tag_ddl,
)
from flows.backends.snowflake._versions import (
    TRAIN_ROWS_TABLE,
    RowHashes,
    metrics_of,
    packaging_options,
    version_from_row,
)
from flows.errors import (
    AlreadyChampionError,
    RegistryError,
    SwitchFailedError,
    VersionExistsError,
    VersionNotFoundError,
)
from flows.identifiers import check_dollar_quotable, validate_identifier
from flows.names import LIVE_VERSION
from flows.records import LedgerEntry, ModelVersion, Outcome, utc_now

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.ml.model import Model
    from snowflake.ml.model import ModelVersion as SnowflakeModelVersion
    from snowflake.snowpark import Row, Session

    from flows.config import SnowflakeSettings

logger = logging.getLogger(__name__)

_MISSING_MODEL = "Unable to find model"


class SnowflakeRegistry(Registry):
    """The registry of one model in a Snowflake schema.

    Args:
        session: An open Snowpark session.
        settings: Database, schema and the ledger and lock table names.
        model_name: The registered model's name.
        train_rows_table: Table of training-row hashes.
        lock_ttl_seconds: Age after which a lock counts as abandoned (server clock).
        lock_wait_seconds: How long to wait for a lock held by another run.
        sleep: Waits between lock attempts.
        on_close: Called by :meth:`close` (closes a session this backend opened).
        mode: ``read`` refuses a missing model and every write, so no DDL runs;
            ``write`` (the default) runs :meth:`setup` before the first write.

    Raises:
        ModelNotFoundError: a missing database or schema, or in ``read`` mode the model.
    """

    def __init__(
        self,
        session: Session,
        settings: SnowflakeSettings,
        *,
        model_name: str,
        train_rows_table: str = TRAIN_ROWS_TABLE,
        lock_ttl_seconds: int = LOCK_TTL_SECONDS,
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        on_close: Callable[[], None] | None = None,
        mode: Mode = "write",
    ) -> None:
        self.session = session
        self.mode = check_mode(mode)
        self.model_name = validate_identifier(model_name, what="model name")
        self.schema = f"{settings.database}.{settings.schema}"
        self.qualified_model = f"{self.schema}.{self.model_name}"
        self.ledger_table = f"{self.schema}.{settings.ledger_table}"
        self.lock_table = f"{self.schema}.{settings.lock_table}"
        self._hashes = RowHashes(
            self._sql,
            table=f"{self.schema}.{validate_identifier(train_rows_table, what='train_rows_table')}",
            model_name=self.model_name,
        )
        self.lock = PromotionLock(
            self._sql,
            table=self.lock_table,
            name=self.model_name,
            ttl_seconds=lock_ttl_seconds,
            wait_seconds=lock_wait_seconds,
            sleep=sleep,
        )
        self._ledger = SnowflakeLedger(
            self._sql, table=self.ledger_table, model_name=self.model_name
        )
        self._on_close = on_close
        self._ml = open_ml_registry(session, settings)
        self._model: Model | None = None
        self._versions: dict[str, SnowflakeModelVersion] = {}
        self._set_up = False
        if self.mode == "read" and self._find_model() is None:
            require_model(self.model_name, model_names(self._ml), where=self.schema)

    # -- plumbing ---------------------------------------------------------------------

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Row]:
        return self.session.sql(query, params=params).collect()

    def setup(self) -> list[str]:
        """Create the ledger, lock and hash tables and the two tags if missing; returns the DDL.

        Every write path runs it once per registry; reads never do, and a registry opened
        in ``read`` mode refuses it.
        """
        refuse_in_read_mode(self.mode, "setup", f"Registry {self.qualified_model}")
        statements = [
            *ledger_table_ddl(self.ledger_table),
            lock_table_ddl(self.lock_table),
            self._hashes.ddl(),
            *tag_ddl(self.schema),
        ]
        for statement in statements:
            self._sql(statement)
        self._set_up = True
        return statements

    def _ensure_setup(self) -> None:
        if not self._set_up:
            self.setup()

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
                raise self._no_version(name) from exc
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
        name = validate_identifier(version.name, what="version name")
        if any(row["name"] == name for row in self._version_rows()):
            raise VersionExistsError(
                f"Version {name!r} of {self.qualified_model} already exists; versions are immutable."
            )
        stored = replace(
            version, model_name=self.model_name, name=name, created_at=utc_now(), sha256=""
        )
        metrics = metrics_of(stored)
        check_dollar_quotable(stored.comment, what=f"comment of version {name}")
        check_dollar_quotable(json.dumps(metrics), what=f"metrics of version {name}")
        self._ensure_setup()
        if train_row_hashes is not None:
            self._hashes.store(name, train_row_hashes)
        self._versions[name] = self._ml.log_model(
            model,
            model_name=self.model_name,
            version_name=name,
            comment=stored.comment or None,
            metrics=metrics,
            sample_input_data=sample_input,
            **packaging_options(),
        )
        logger.info("Logged version %s of %s", name, self.qualified_model)
        return stored

    def get_version(self, name: str) -> ModelVersion:
        name = validate_identifier(name, what="version name")
        for row in self._version_rows():
            if row["name"] == name:
                return version_from_row(self.model_name, row)
        raise self._no_version(name)

    def _no_version(self, name: str) -> VersionNotFoundError:
        return VersionNotFoundError(
            f"Model {self.qualified_model} has no version {name!r}; "
            "`ccflows status` lists the versions."
        )

    def list_versions(self) -> list[ModelVersion]:
        versions = [version_from_row(self.model_name, row) for row in self._version_rows()]
        return sorted(versions, key=lambda v: (v.created_at, v.name))

    def predict_proba(self, name: str, features: pd.DataFrame) -> np.ndarray:
        model_input = self.get_version(name).data_contract.model_input(features)  # checks the name
        result = self._mv(name).run(model_input, function_name="predict_proba")
        if result.shape[1] != 2:
            raise RegistryError(
                f"predict_proba of version {name} returned columns {list(result.columns)}; "
                "expected the probabilities of the two classes."
            )
        return np.asarray(result.iloc[:, 1], dtype=float)

    def train_row_hashes(self, name: str) -> np.ndarray | None:
        return self._hashes.read(self.get_version(name).name)

    # -- pointers ---------------------------------------------------------------------

    def version_by_alias(self, alias: str) -> str | None:
        return self._version_pointers().get(ALIAS_FIELD[alias])

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
                if alias in ALIAS_FIELD:
                    found[ALIAS_FIELD[alias]] = row["name"]
                elif alias == "DEFAULT":
                    found["default"] = row["name"]
        return found

    def pointers(self) -> Pointers:
        """Every pointer as it is now: one ``SHOW VERSIONS`` and two tag reads."""
        tags = {field: self.get_tag(tag) for tag, field in TAG_FIELD.items()}
        return Pointers(**self._version_pointers(), **tags)

    def set_challenger(self, name: str) -> None:
        name = self.get_version(name).name
        self._ensure_setup()
        with self.lock.held() as holder:
            self._settle_pending(holder)
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
        self._ensure_setup()
        with self.lock.held() as holder:
            self._settle_pending(holder)
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
                return self._ledger.insert(stale, evidence)
            took_challenger = before.challenger == new
            target = Pointers(
                champion=new,
                challenger=None if took_challenger else before.challenger,
                challenger_tag=None if took_challenger else before.challenger_tag,
                default=new,
                live=new,
            )
            self._load_versions(before, target)
            pending = self._ledger.insert(  # before the first pointer moves
                entry.stamped(live_before=live, live_after=new), evidence, switch=(before, target)
            )
            try:
                self._switch(before, target, what=f"Promotion of {new} over {live}", holder=holder)
            except SwitchFailedError as exc:
                self._settle(not_applied(pending, exc), holder)
                raise
            self._settle(pending, holder)
            return pending

    def _settle(self, entry: LedgerEntry, holder: str) -> None:
        """Make a switch's pending row final; if that fails, the row still reads right."""
        try:
            self.lock.renew(holder)  # a run that lost its lock writes nothing more
            self._ledger.settle(entry)
        except Exception as exc:
            logger.warning(
                "Ledger entry #%s stays pending (%s); it reads as %s, and the next run settles it.",
                entry.id,
                exc,
                "failed" if entry.outcome is Outcome.FAILED else entry.outcome.value,
            )

    def _settle_pending(self, holder: str) -> None:
        """Settle the switches a crashed run left pending: finished if committed, else undone."""
        for pending in self._ledger.pending():
            live = self.get_tag(LIVE_VERSION)
            logger.warning("Settling ledger entry #%s, left pending.", pending.entry.id)
            if pending.committed(live):
                self._ledger.settle(pending.entry)
                continue
            if live == pending.before.live:
                self._restore(
                    pending.before,
                    self.pointers(),
                    None,
                    holder=holder,
                    what=f"Settling the interrupted switch of ledger entry #{pending.entry.id}",
                )
            self._ledger.settle(interrupted(pending.entry, live))

    def _load_versions(self, *pointers: Pointers) -> None:
        """Fetch every version object the switch will need, so all reads precede the first write."""
        for state in pointers:
            for name in (state.champion, state.challenger):
                if name is not None:
                    self._mv(name)

    def _switch(self, before: Pointers, target: Pointers, *, what: str, holder: str) -> None:
        """Move the pointers from ``before`` to ``target``.

        Before the commit point a failure restores ``before`` and raises
        ``SwitchFailedError``; once ``LIVE_VERSION`` has moved nothing is undone.
        """
        self._load_versions(before, target)
        state, in_flight = before, None
        try:
            for change in plan_switch(before, target):
                if change.is_commit:
                    self.lock.renew(holder)  # never commit on a lock another run took over
                in_flight = change
                self._run(change)
                state, in_flight = change.applied_to(state), None
        except Exception as exc:
            if in_flight is not None and in_flight.is_commit and self._live_is(target.live):
                logger.warning("%s: the reply to the commit was lost, but it took effect.", what)
            else:
                step = in_flight.sql(self.qualified_model, self.schema) if in_flight else "the lock"
                logger.error(
                    "%s failed at `%s`: %s. Restoring %s.", what, step, exc, before.describe()
                )
                self._restore(
                    before,
                    state,
                    in_flight,
                    holder=holder,
                    what=f"{what} failed at `{step}` ({exc})",
                    cause=exc,
                )
                raise SwitchFailedError(
                    f"{what} failed at `{step}`: {exc}. The previous pointers were restored "
                    f"({before.describe()}); nothing was switched."
                ) from exc
        logger.info("%s: done (%s).", what, target.describe())

    def _live_is(self, version: str | None) -> bool:
        try:
            return self.get_tag(LIVE_VERSION) == version
        except Exception:
            return False

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
        holder: str,
        what: str,
        cause: Exception | None = None,
    ) -> None:
        """Return the pointers to ``before`` (LIVE_VERSION first), holding the lock.

        ``in_flight`` is the statement that was running when the failure came: it may
        or may not have taken effect, so the pointers are read back before anything is
        undone. A run that lost its lock, or cannot restore, writes nothing more and
        raises ``PromotionIncompleteError`` with the SQL that restores them.
        """
        state = believed
        try:
            self.lock.renew(holder)
            state, in_flight = self.pointers(), None
            for change in plan_switch(state, before, commit_last=False):
                in_flight = change
                self._run(change)
                state, in_flight = change.applied_to(state), None
        except Exception as failure:
            raise incomplete_error(
                before,
                state,
                in_flight,
                what=what,
                failure=failure,
                model=self.qualified_model,
                schema=self.schema,
                lock_ttl_seconds=self.lock.ttl_seconds,
            ) from (cause or failure)

    # -- ledger -----------------------------------------------------------------------

    def append_ledger(self, entry: LedgerEntry, *, evidence: bytes | None = None) -> LedgerEntry:
        self._ensure_setup()
        with self.lock.held() as holder:
            self._settle_pending(holder)
            live = self.get_tag(LIVE_VERSION)
            return self._ledger.insert(entry.stamped(live_before=live, live_after=live), evidence)

    def ledger(self, *, limit: int | None = None) -> list[LedgerEntry]:
        return self._ledger.read(limit=limit, live=lambda: self.get_tag(LIVE_VERSION))

    def ledger_evidence(self, entry_id: int) -> bytes | None:
        return self._ledger.evidence(entry_id, where=self.qualified_model)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
