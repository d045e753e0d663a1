"""The Snowflake backend's registry: the Snowflake ML Model Registry plus three small tables.

Versions, aliases, model tags and the default version live in the Snowflake ML
Model Registry; the ledger, the lock and the training-row hashes are tables beside
it (``snowflake_ledger``, ``snowflake_lock``, ``snowflake_versions``). A switch
cannot be atomic, so under the lock the live version is re-read (compare-and-set),
a ``pending`` ledger row is written, the pointers move in the order of
``snowflake_switch`` with ``LIVE_VERSION`` last (the commit point), and the row is
completed. Before the commit point a failure restores the pointers; after it
nothing is undone. A crash anywhere leaves a pending row that reads truthfully
against ``LIVE_VERSION`` and that the next locked run settles (``_mover``). The lock
is a lease that fences every write. Reads issue no DDL; :meth:`SnowflakeRegistry.setup`
creates and upgrades the tables and tags, and writes run it once per process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from flows.backends._mode import Mode, check_mode, refuse_in_read_mode
from flows.backends.registry import Registry, require_model
from flows.backends.snowflake import _setup
from flows.backends.snowflake._ledger import SnowflakeLedger, not_applied
from flows.backends.snowflake._lock import LOCK_TTL_SECONDS, LOCK_WAIT_SECONDS, PromotionLock
from flows.backends.snowflake._ml import model_names, open_ml_registry
from flows.backends.snowflake._mover import PointerMover
from flows.backends.snowflake._repair import RepairPlan, plan_repair, target_of
from flows.backends.snowflake._setup import Location, SetupReport
from flows.backends.snowflake._switch import ALIAS_FIELD, TAG_FIELD, Change, ChangeKind, Pointers
from flows.backends.snowflake._versions import (
    TRAIN_ROWS_TABLE,
    RowHashes,
    metrics_of,
    packaging_options,
    version_from_row,
)
from flows.errors import (
    LockLostError,
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
        hashes_table = (
            f"{self.schema}.{validate_identifier(train_rows_table, what='train_rows_table')}"
        )
        self.location = Location(
            database=settings.database,
            schema=settings.schema,
            ledger_table=self.ledger_table,
            lock_table=self.lock_table,
            hashes_table=hashes_table,
        )
        self._hashes = RowHashes(self._sql, table=hashes_table, model_name=self.model_name)
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
        if self.mode == "read" and self._find_model() is None:
            require_model(self.model_name, model_names(self._ml), where=self.schema)

    # -- plumbing ---------------------------------------------------------------------

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Row]:
        return self.session.sql(query, params=params).collect()

    def setup(self) -> SetupReport:
        """Create the tables and tags that are missing, and upgrade the previous release's.

        ``ccflows snowflake setup`` runs it; writes run it once per process; reads never
        do, and a registry opened in ``read`` mode refuses it.
        """
        refuse_in_read_mode(self.mode, "setup", f"Registry {self.qualified_model}")
        return _setup.ensure(self._sql, self.location, key=self._setup_key(), force=True)

    def _ensure_setup(self) -> None:
        refuse_in_read_mode(self.mode, "a write", f"Registry {self.qualified_model}")
        _setup.ensure(self._sql, self.location, key=self._setup_key())

    def _setup_key(self) -> tuple[Any, ...]:
        """The account and location: one setup per process for each."""
        account = getattr(getattr(self.session, "connection", None), "account", None)
        return (account or id(self.session), self.location)

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
        if self._has_version(name):
            raise self._exists(name)
        stored = replace(
            version, model_name=self.model_name, name=name, created_at=utc_now(), sha256=""
        )
        metrics = metrics_of(stored)
        check_dollar_quotable(stored.comment, what=f"comment of version {name}")
        check_dollar_quotable(json.dumps(metrics), what=f"metrics of version {name}")
        self._ensure_setup()
        if train_row_hashes is not None:
            self._hashes.store(name, train_row_hashes)
        try:
            self._versions[name] = self._ml.log_model(
                model,
                model_name=self.model_name,
                version_name=name,
                comment=stored.comment or None,
                metrics=metrics,
                sample_input_data=sample_input,
                **packaging_options(),
            )
        except Exception as exc:
            self._model = None  # another run may have created the model meanwhile
            if self._has_version(name):  # another run logged it first: the caller reuses it
                raise self._exists(name) from exc
            raise
        logger.info("Logged version %s of %s", name, self.qualified_model)
        return stored

    def _has_version(self, name: str) -> bool:
        return any(row["name"] == name for row in self._version_rows())

    def _exists(self, name: str) -> VersionExistsError:
        return VersionExistsError(
            f"Version {name!r} of {self.qualified_model} already exists; versions are immutable."
        )

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
        return self._version_pointers(self._version_rows()).get(ALIAS_FIELD[alias])

    def get_tag(self, tag: str) -> str | None:
        model = self._find_model()
        return None if model is None else model.get_tag(tag)

    def default_version(self) -> str | None:
        return self._version_pointers(self._version_rows()).get("default")

    @staticmethod
    def _version_pointers(rows: list[dict[str, Any]]) -> dict[str, str]:
        """Alias holders and the default version, from the rows of one ``SHOW VERSIONS``."""
        found = {}
        for row in rows:
            for alias in json.loads(row["aliases"] or "[]"):
                if alias in ALIAS_FIELD:
                    found[ALIAS_FIELD[alias]] = row["name"]
                elif alias == "DEFAULT":
                    found["default"] = row["name"]
        return found

    def pointers(self) -> Pointers:
        """Every pointer as it is now: one ``SHOW VERSIONS`` and two tag reads."""
        return self.snapshot()[0]

    def snapshot(self) -> tuple[Pointers, set[str]]:
        """The pointers and the names of the existing versions, from one ``SHOW VERSIONS``."""
        rows = self._version_rows()
        tags = {field: self.get_tag(tag) for tag, field in TAG_FIELD.items()}
        return Pointers(**self._version_pointers(rows), **tags), {row["name"] for row in rows}

    def run(self, change: Change) -> None:
        """Issue one pointer statement through the Snowflake ML client."""
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

    # -- writes under the lock ------------------------------------------------------------

    @contextmanager
    def _locked(self, *, strict: bool = True, reconcile: bool = True) -> Iterator[PointerMover]:
        """Hold the lock; settle what crashed runs left and make the pointers agree first.

        ``strict=False`` (a ledger append) carries on when settling fails for any reason
        but a lost lock, so a failure is recorded even on a registry that needs repair.
        ``reconcile=False`` leaves the pointers to the caller (a repair).
        """
        self._ensure_setup()
        with self.lock.held() as lease:
            mover = PointerMover(
                self, lease, qualified_model=self.qualified_model, schema=self.schema
            )
            try:
                mover.settle_pending(self._ledger)
                if reconcile:
                    mover.current = mover.reconcile(self._ledger)
            except LockLostError:
                raise
            except Exception as exc:
                if strict:
                    raise
                logger.warning(
                    "Could not settle %s (%s); recording anyway. `ccflows snowflake repair` "
                    "shows what is left.",
                    self.qualified_model,
                    exc,
                )
            yield mover

    def set_challenger(self, name: str) -> None:
        name = self.get_version(name).name
        with self._locked() as mover:
            before = mover.current or self.pointers()
            target = before.with_challenger(name)
            self._load_versions(before, target)
            mover.switch(before, target, what=f"Setting {name} as challenger")

    def clear_challenger(self, name: str) -> None:
        with self._locked() as mover:
            before = mover.current or self.pointers()
            mover.switch(before, before.without_challenger(name), what=f"Clearing {name}")

    def promote_if_champion_is(
        self, expected: str | None, new: str, entry: LedgerEntry, *, evidence: bytes | None = None
    ) -> LedgerEntry:
        new = self.get_version(new).name
        with self._locked() as mover:
            before = mover.current or self.pointers()  # read under the lock: the compare
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
                return self._ledger.insert(stale, evidence, lease=mover.lease)
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
                entry.stamped(live_before=live, live_after=new),
                evidence,
                lease=mover.lease,
                switch=(before, target),
            )
            try:
                mover.switch(before, target, what=f"Promotion of {new} over {live}")
            except SwitchFailedError as exc:
                with contextlib.suppress(LockLostError):  # the taker settles it then
                    self._settle(not_applied(pending, exc), mover)
                raise
            return self._settle(pending, mover)

    def _settle(self, entry: LedgerEntry, mover: PointerMover) -> LedgerEntry:
        """Make a switch's pending row final; if that fails, the row still reads right.

        A run that lost its lock meanwhile cannot: the run that took it over decides
        the row from ``LIVE_VERSION``. If that run completed it, so be it; otherwise
        this run's switch does not stand and ``LockLostError`` says so.
        """
        try:
            return self._ledger.settle(entry, lease=mover.lease)
        except LockLostError as exc:
            recorded = self._ledger.entry(entry.id)
            if recorded is not None and recorded.outcome is entry.outcome:
                return recorded
            raise LockLostError(
                f"{exc} Ledger entry #{entry.id} ({entry.outcome.value}) is settled by the "
                "run that took the lock over, from LIVE_VERSION as it finds it; a statement "
                "this run sent late is undone by the next run that takes the lock."
            ) from exc
        except Exception as exc:
            logger.warning(
                "Ledger entry #%s stays pending (%s); it reads as %s, and the next run settles it.",
                entry.id,
                exc,
                "failed" if entry.outcome is Outcome.FAILED else entry.outcome.value,
            )
            return entry

    def _load_versions(self, *pointers: Pointers) -> None:
        """Fetch every version object the switch will need, so all reads precede the first write."""
        for state in pointers:
            for name in (state.champion, state.challenger):
                if name is not None:
                    self._mv(name)

    def repair_plan(self) -> RepairPlan:
        """What :meth:`repair` would do: pending rows to settle, pointer statements (reads only)."""
        return self._with_sql(plan_repair(*self.snapshot(), self._ledger))

    def repair(self) -> RepairPlan:
        """Settle pending rows and move the pointers to what the ledger records, under the lock.

        Returns what was done: the rows settled, the statements that took effect and
        those refused (best effort, as for settling).
        """
        planned = self.repair_plan()
        with self._locked(reconcile=False) as mover:  # settles the pending rows
            current, existing = self.snapshot()
            plan = target_of(current, existing, self._ledger.last_live())
            restored = mover.restore_best_effort(plan.target, current, existing)
        plan.current, plan.settle, plan.changes = planned.current, planned.settle, restored.done
        plan.refused = [f"`{mover.sql(c)}`: {exc}" for c, exc in restored.refused]
        return self._with_sql(plan)

    def _with_sql(self, plan: RepairPlan) -> RepairPlan:
        plan.statements = [c.sql(self.qualified_model, self.schema) for c in plan.changes]
        return plan

    # -- ledger -----------------------------------------------------------------------

    def append_ledger(self, entry: LedgerEntry, *, evidence: bytes | None = None) -> LedgerEntry:
        with self._locked(strict=False) as mover:
            live = self.get_tag(LIVE_VERSION)
            stamped = entry.stamped(live_before=live, live_after=live)
            return self._ledger.insert(stamped, evidence, lease=mover.lease)

    def append_end(self, entry: LedgerEntry) -> LedgerEntry | None:
        with self._locked(strict=False) as mover:  # every ledger writer holds it
            live = self.get_tag(LIVE_VERSION)
            stamped = entry.stamped(live_before=live, live_after=live)
            return self._ledger.insert_end(stamped, lease=mover.lease)

    def ledger(self, *, limit: int | None = None, started: bool = False) -> list[LedgerEntry]:
        return self._ledger.read(
            limit=limit,
            live=lambda: self.get_tag(LIVE_VERSION),
            held=self._lock_held,
            started=started,
        )

    def _lock_held(self) -> bool:
        """Whether a live holder has the lock (a read; a missing lock table means no)."""
        from snowflake.snowpark.exceptions import SnowparkSQLException

        try:
            return self.lock.in_flight()
        except SnowparkSQLException:
            return False

    def ledger_evidence(self, entry_id: int) -> bytes | None:
        return self._ledger.evidence(entry_id, where=self.qualified_model)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
