"""The registry contract: one abstract method per primitive, composites written once.

Both backends behave like the Snowflake ML Registry as the quickstart uses it: one
model with immutable versions; version aliases ``CHAMPION`` and ``CHALLENGER`` (an
alias names at most one version, a version holds at most one alias); model tags
``LIVE_VERSION`` (what inference reads) and ``CHALLENGER_VERSION``; the default
version equal to the live one. Promotion is a compare-and-set and a primitive,
because only a backend can make it atomic. Every decision lands in the ledger.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows.errors import ModelNotFoundError, NoChampionError
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, LIVE_VERSION
from flows.records import LedgerEntry, ModelVersion, Outcome, RegistryStatus, parse_time

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy as np
    import pandas as pd

    from flows.backends._mode import Mode


class Registry(ABC):
    """A model registry bound to one registered model.

    Subclasses implement the primitives; :meth:`live_version`, :meth:`champion`,
    :meth:`status` and :meth:`previous_champion` are written once here.
    """

    model_name: str
    mode: Mode
    """``read``: opened on an existing model, refusing every write; ``write``: may record."""

    @abstractmethod
    def setup(self) -> list[str]:
        """Create what the registry needs to record (tables, tags, schema) if missing.

        Writes run it before their first change; reads never do, and in ``read`` mode it
        raises ``ReadModeError``. Objects that exist are left as they are.

        Returns:
            The statements that ran, for the operator to see.
        """

    # -- versions -------------------------------------------------------------------

    @abstractmethod
    def log_version(
        self,
        model: Any,
        version: ModelVersion,
        *,
        sample_input: pd.DataFrame,
        train_row_hashes: np.ndarray | None = None,
    ) -> ModelVersion:
        """Store a fitted model as a new immutable version.

        Args:
            model: The fitted scikit-learn estimator.
            version: Its record; ``created_at`` and ``sha256`` are filled in by the backend.
            sample_input: A few rows of the model's input (its contract's features), for
                signatures (Snowflake) and smoke checks.
            train_row_hashes: One uint64 hash per training row, for the leakage check.

        Returns:
            The record as stored.

        Raises:
            VersionExistsError: if the name is taken.
        """

    @abstractmethod
    def get_version(self, name: str) -> ModelVersion:
        """The record of version ``name``; raises ``VersionNotFoundError``."""

    @abstractmethod
    def list_versions(self) -> list[ModelVersion]:
        """Every version, oldest first."""

    @abstractmethod
    def predict_proba(self, name: str, features: pd.DataFrame) -> np.ndarray:
        """Probability of class 1 for each row, by version ``name`` (integrity-checked).

        ``features`` is checked against the version's own contract first
        (:meth:`ModelVersion.data_contract`): the version reads exactly the features it
        was trained on, and a missing one fails before any row is scored.
        """

    @abstractmethod
    def train_row_hashes(self, name: str) -> np.ndarray | None:
        """The per-row hashes of the version's training rows, if recorded."""

    # -- pointers ---------------------------------------------------------------------

    @abstractmethod
    def version_by_alias(self, alias: str) -> str | None:
        """The version holding ``alias`` (CHAMPION or CHALLENGER), or None."""

    @abstractmethod
    def get_tag(self, tag: str) -> str | None:
        """The value of model tag ``tag`` (LIVE_VERSION or CHALLENGER_VERSION), or None."""

    @abstractmethod
    def default_version(self) -> str | None:
        """The model's default version, or None."""

    @abstractmethod
    def set_challenger(self, name: str) -> None:
        """Point the CHALLENGER alias and the CHALLENGER_VERSION tag at version ``name``."""

    @abstractmethod
    def clear_challenger(self, name: str) -> None:
        """Take the CHALLENGER alias and the CHALLENGER_VERSION tag off ``name``, if it holds them.

        A rejected live candidate is no one's challenger any more; when another version
        holds them already, nothing changes.
        """

    @abstractmethod
    def promote_if_champion_is(
        self, expected: str | None, new: str, entry: LedgerEntry, *, evidence: bytes | None = None
    ) -> LedgerEntry:
        """Make ``new`` champion, live and default, only if the live version is still ``expected``.

        The switch and its ledger entry are one unit: either the pointers move and
        ``entry`` is recorded with its outcome, or the pointers stay and the entry is
        recorded with outcome ``STALE_CHAMPION`` and a reason naming the live version.

        Args:
            expected: The live version the decision was made against (None = no champion yet).
            new: The version to make live.
            entry: The decision to record; ``outcome`` says what kind of switch it is.
            evidence: Serialized hold-out evidence to store with the entry.

        Returns:
            The entry as recorded (with id, time, live_before and live_after).
        """

    # -- ledger ----------------------------------------------------------------------

    @abstractmethod
    def append_ledger(self, entry: LedgerEntry, *, evidence: bytes | None = None) -> LedgerEntry:
        """Record a decision that switched nothing; returns it with id and time."""

    @abstractmethod
    def append_end(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` as the end of its run's attempt, unless that attempt has one already.

        The look and the insert are one transaction (or one hold of the lock), so a
        run's own failure, its end hook and the next cycle, racing, record one end.
        An entry of an attempt is any of its entries but ``started``
        (:meth:`LedgerEntry.same_attempt`).

        Returns:
            The entry as recorded, or None when the attempt had an end already.
        """

    @abstractmethod
    def ledger(self, *, limit: int | None = None, started: bool = False) -> list[LedgerEntry]:
        """Recorded decisions and ends, oldest first (the newest ``limit`` if given).

        The ``started`` rows that orchestrator runs write are kept apart: ``started=True``
        reads those instead.
        """

    @abstractmethod
    def ledger_evidence(self, entry_id: int) -> bytes | None:
        """The evidence stored with ledger entry ``entry_id``, if any."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; idempotent."""

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- composites --------------------------------------------------------------------

    def live_version(self) -> str | None:
        """The version inference reads: the LIVE_VERSION tag."""
        return self.get_tag(LIVE_VERSION)

    def champion(self) -> ModelVersion:
        """The live champion's record; raises ``NoChampionError`` when there is none."""
        live = self.live_version()
        if live is None:
            raise NoChampionError(
                f"Model {self.model_name!r} has no live champion yet; "
                "run `ccflows train-champion` first."
            )
        return self.get_version(live)

    def previous_champion(self) -> str | None:
        """The champion that the live one replaced, walking back past rollbacks.

        Promotions stack up and a rollback returns down the stack: after A → B → C
        and a rollback to B, the previous champion is A (not C, the version just
        rolled back from), so rolling back twice goes back two promotions.
        """
        stack: list[str] = []
        for entry in self.ledger():
            if not entry.outcome.switched_live or entry.live_after is None:
                continue
            if entry.outcome is Outcome.ROLLED_BACK and entry.live_after in stack:
                del stack[len(stack) - stack[::-1].index(entry.live_after) :]
            else:
                stack.append(entry.live_after)
        live = self.live_version()
        if len(stack) < 2 or stack[-1] != live:
            return None
        return stack[-2]

    def decision_of_run(self, run_id: str | None) -> LedgerEntry | None:
        """The decision run ``run_id`` recorded and that stands, or None.

        That is the run's newest entry that is neither a failure nor a switch still in
        flight. A deciding step retried after its decision was recorded returns this
        entry instead of deciding (and recording) a second time.
        """
        if not run_id:
            return None
        standing = [
            entry
            for entry in self.ledger()
            if entry.run_id == run_id and entry.outcome not in (Outcome.FAILED, Outcome.IN_FLIGHT)
        ]
        return standing[-1] if standing else None

    def live_at(self, when: str) -> str | None:
        """The version that was live at ISO-8601 time ``when``, from the ledger.

        Raises:
            ConfigError: if ``when`` is not an ISO-8601 time.
        """
        moment = parse_time(when)
        live = None
        for entry in self.ledger():
            if datetime.fromisoformat(entry.recorded_at) > moment:
                break
            if entry.outcome.switched_live:
                live = entry.live_after
        return live

    def status(self) -> RegistryStatus:
        """A snapshot of the pointers and the newest ledger entry."""
        last = self.ledger(limit=1)
        return RegistryStatus(
            model_name=self.model_name,
            live_version=self.get_tag(LIVE_VERSION),
            champion_alias=self.version_by_alias(CHAMPION),
            challenger_alias=self.version_by_alias(CHALLENGER),
            challenger_tag=self.get_tag(CHALLENGER_VERSION),
            default_version=self.default_version(),
            n_versions=len(self.list_versions()),
            last_entry=last[-1] if last else None,
        )


def require_model(model_name: str, models: Iterable[str], *, where: object) -> None:
    """Refuse ``model_name`` unless ``models`` holds it, listing the models ``where`` holds.

    Raises:
        ModelNotFoundError: ``no model X in <where>; models here: Y, Z``.
    """
    models = list(models)
    if model_name not in models:
        here = ", ".join(sorted(models)) or "none yet (run `ccflows train-champion`)"
        raise ModelNotFoundError(f"no model {model_name} in {where}; models here: {here}")
