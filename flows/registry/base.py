"""The registry contract: one abstract method per primitive, composites written once.

Both backends behave like the Snowflake ML Registry as the quickstart uses it: one
model with immutable versions; version aliases ``CHAMPION`` and ``CHALLENGER`` (an
alias names at most one version, a version holds at most one alias); model tags
``LIVE_VERSION`` (what inference reads) and ``CHALLENGER_VERSION``; the default
version equal to the live one. Promotion is a compare-and-set and a primitive,
because only a backend can make it atomic. Every decision lands in the ledger.
"""

from __future__ import annotations

import enum
import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flows.contract import DataContract
from flows.errors import ConfigError, NoChampionError
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, LIVE_VERSION

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import pandas as pd


class Outcome(enum.StrEnum):
    """What a recorded decision did to the live model."""

    PROMOTED = "promoted"
    """The challenger became champion and live."""
    KEPT = "kept"
    """The policy kept the champion."""
    INCONCLUSIVE = "inconclusive"
    """The evidence could not separate the models; the champion stays."""
    STALE_CHAMPION = "stale-champion"
    """The live version changed after evaluation; the compare-and-set refused to switch."""
    DRY_RUN = "dry-run"
    """Evaluated and decided without acting."""
    BOOTSTRAPPED = "bootstrapped"
    """The first champion was installed."""
    ROLLED_BACK = "rolled-back"
    """A previous version was made live again."""
    FAILED = "failed"
    """The run failed, or a switch failed and was undone; the previous champion is live."""

    @property
    def switched_live(self) -> bool:
        """Whether this outcome changed the live version."""
        return self in (Outcome.PROMOTED, Outcome.BOOTSTRAPPED, Outcome.ROLLED_BACK)


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of the model, as the registry records it."""

    model_name: str
    """Registered model the version belongs to."""
    name: str
    """Version name (an upper-case SQL identifier, deterministic for its spec and rows)."""
    created_at: str
    """ISO-8601 UTC time the version was logged."""
    comment: str = ""
    """Free text shown by the registry."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """Training-time metrics, e.g. ``test_auc``; never changed after logging."""
    train_weeks: tuple[int, int] | None = None
    """Inclusive week range of the training rows."""
    test_weeks: tuple[int, int] | None = None
    """Inclusive week range on which ``metrics['test_auc']`` was measured."""
    row_count: int = 0
    """Number of training rows."""
    train_fingerprint: str = ""
    """SHA-256 over the training rows (content and order)."""
    spec: Mapping[str, Any] = field(default_factory=dict)
    """The model specification: estimator import path and parameters."""
    sha256: str = ""
    """SHA-256 of the stored artifact (local backend), checked before every load."""
    contract: Mapping[str, Any] = field(default_factory=dict)
    """The data contract it was trained under, resolved to its exact features
    (``DataContract.to_dict``); empty for versions logged before contracts, which
    read the quickstart's schema."""

    @property
    def data_contract(self) -> DataContract:
        """The contract its input is checked against when it scores."""
        return DataContract.from_dict(self.contract)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json`` output and reports."""
        return json.loads(json.dumps(asdict(self), default=list))


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded decision: who, when, which versions, on what evidence, and why."""

    outcome: Outcome
    """What the decision did to the live model."""
    reason: str
    """Human-readable explanation with the numbers."""
    actor: str = ""
    """Who or what ran it (user@host, a Prefect flow run, a Snowflake task)."""
    recorded_at: str = ""
    """ISO-8601 UTC time; filled in when recorded if empty."""
    champion_version: str | None = None
    """The champion that was evaluated (the compare-and-set's expected value)."""
    challenger_version: str | None = None
    """The contestant (for a rollback, the version made live)."""
    live_before: str | None = None
    """LIVE_VERSION just before the decision was applied."""
    live_after: str | None = None
    """LIVE_VERSION just after."""
    verdict: str | None = None
    """The policy's verdict ("promote", "keep", "inconclusive"), if a policy ran."""
    policy: str | None = None
    """Name of the policy that decided."""
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    """Effective parameters of that policy."""
    holdout_fingerprint: str | None = None
    """SHA-256 of the hold-out rows both models were scored on."""
    holdout_weeks: tuple[int, int] | None = None
    """Inclusive week range of the hold-out."""
    data_week: int | None = None
    """Newest week in the data when the decision was made."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """``{"champion": {...}, "challenger": {...}}`` hold-out metrics."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """The numbers behind the verdict (p-value, confidence interval, ...)."""
    run_id: str | None = None
    """Orchestrator run that made the decision, when there is one."""
    plan: Mapping[str, Any] = field(default_factory=dict)
    """The cycle's plan (data span and windows, see ``flows.plan``), when a cycle made it."""
    id: int | None = None
    """Position in the ledger, assigned when recorded."""
    has_evidence: bool = False
    """Whether the hold-out labels and both models' scores are stored with the entry."""

    def stamped(self, **changes: Any) -> LedgerEntry:
        """A copy with ``changes`` applied and ``recorded_at`` set if it was empty."""
        entry = replace(self, **changes)
        if not entry.recorded_at:
            entry = replace(entry, recorded_at=utc_now())
        return entry

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for storage, ``--json`` output and artifacts."""
        data = json.loads(json.dumps(asdict(self), default=json_default))
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["outcome"] = Outcome(values["outcome"])
        if values.get("holdout_weeks") is not None:
            values["holdout_weeks"] = tuple(values["holdout_weeks"])
        return cls(**values)


@dataclass(frozen=True)
class RegistryStatus:
    """A consistent snapshot of the registry's pointers, for ``ccflows status``."""

    model_name: str
    live_version: str | None
    champion_alias: str | None
    challenger_alias: str | None
    challenger_tag: str | None
    default_version: str | None
    n_versions: int
    last_entry: LedgerEntry | None

    @property
    def consistent(self) -> bool:
        """Whether CHAMPION, LIVE_VERSION and the default version agree."""
        return self.live_version == self.champion_alias == self.default_version

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        data = asdict(self)
        data["last_entry"] = self.last_entry.to_dict() if self.last_entry else None
        data["consistent"] = self.consistent
        return data


class Registry(ABC):
    """A model registry bound to one registered model.

    Subclasses implement the primitives; :meth:`live_version`, :meth:`champion`,
    :meth:`status` and :meth:`previous_champion` are written once here.
    """

    model_name: str

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
    def ledger(self, *, limit: int | None = None) -> list[LedgerEntry]:
        """Recorded decisions, oldest first (the newest ``limit`` if given)."""

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


def parse_time(text: str) -> datetime:
    """An ISO-8601 time (date only means midnight; no zone means UTC).

    Raises:
        ConfigError: naming the text and the expected form.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"Cannot read time {text!r}; use ISO-8601 such as 2026-11-26 or 2026-11-26T09:30:00+08:00."
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_now() -> str:
    """The current UTC time as ISO-8601 with microseconds, sortable as text."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def json_default(value: Any) -> Any:
    """JSON fallback for tuples, sets and numpy scalars."""
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)
