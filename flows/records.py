"""The records the registries keep: versions, ledger entries, outcomes and pointers.

Plain values, apart from the stores that keep them (as MLflow keeps its entities apart
from its stores): the steps, the CLI and the reports read them without importing a
registry.
"""

from __future__ import annotations

import enum
import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flows.data.contract import DataContract
from flows.data.periods import Calendar, PeriodRange
from flows.errors import ConfigError
from flows.package_identity import package_version

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


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
    IN_FLIGHT = "in-flight"
    """A switch under way, read before its commit point: the previous champion is live yet."""
    CANDIDATE = "candidate"
    """Live mode: the challenger passed offline and is now tested on live traffic."""
    CONTINUED = "continued"
    """Live mode: a look at the candidate's live evidence that decided nothing yet."""
    REJECTED = "rejected"
    """Live mode: the live evidence ended the candidate's test without a promotion."""
    STARTED = "started"
    """An orchestrator run began (one row per attempt); not a decision, and no end."""

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
    """Inclusive range of the training rows' periods, in the contract's unit (the stored
    name predates units; :attr:`train_periods` reads it with its unit)."""
    test_weeks: tuple[int, int] | None = None
    """Inclusive range of periods on which ``metrics['test_auc']`` was measured."""
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

    @property
    def train_periods(self) -> PeriodRange | None:
        """The training range in its contract's unit ("months 78–113"), when recorded."""
        if self.train_weeks is None:
            return None
        return Calendar(self.data_contract.period).range(*self.train_weeks)

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
    """Inclusive range of the hold-out's periods (the stored name predates units; the
    unit is ``plan["period"]``, weeks when the plan has none)."""
    data_week: int | None = None
    """Newest period in the data when the decision was made."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """``{"champion": {...}, "challenger": {...}}`` hold-out metrics."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """The numbers behind the verdict (p-value, confidence interval, ...)."""
    strength: Mapping[str, Any] = field(default_factory=dict)
    """The evidence's strength whatever the policy (``flows.cycle.strength``): the
    paired DeLong p-value, the 95 % interval of the AUC gain and the detectable gain."""
    run_id: str | None = None
    """Orchestrator run that made the decision, when there is one."""
    run_count: int | None = None
    """Which attempt of that run (Prefect's ``run_count``: 2 after a retry), when known."""
    package_version: str | None = None
    """Version of champion-challenger that wrote the entry; filled in when recorded."""
    deployment_version: str | None = None
    """Version of the Prefect deployment whose run wrote the entry, when there is one."""
    plan: Mapping[str, Any] = field(default_factory=dict)
    """The cycle's plan (data span and windows, see ``flows.data.plan``), when a cycle made it."""
    id: int | None = None
    """Position in the ledger, assigned when recorded."""
    has_evidence: bool = False
    """Whether the hold-out labels and both models' scores are stored with the entry."""

    @property
    def calendar(self) -> Calendar:
        """How its period numbers read: the plan's unit and first date (weeks for old entries)."""
        return Calendar.from_dict(self.plan)

    @property
    def holdout(self) -> PeriodRange | None:
        """The hold-out in the entry's unit ("months 110–113 (…)"), when recorded."""
        return None if self.holdout_weeks is None else self.calendar.range(*self.holdout_weeks)

    def stamped(self, **changes: Any) -> LedgerEntry:
        """A copy with ``changes`` applied, and the time and provenance filled in where empty.

        Provenance is the package version and, for an entry of the run that
        :func:`recording_for` declares, that run's attempt and deployment version.
        """
        entry = replace(self, **changes)
        provenance: dict[str, Any] = {"package_version": package_version()}
        run = _RUN_PROVENANCE.get() or {}
        if entry.run_id is not None and entry.run_id == run.get("run_id"):
            provenance |= {k: v for k, v in run.items() if k != "run_id"}
        missing = {k: v for k, v in provenance.items() if getattr(entry, k) is None}
        if not entry.recorded_at:
            missing["recorded_at"] = utc_now()
        return replace(entry, **missing) if missing else entry

    def same_attempt(self, other: LedgerEntry) -> bool:
        """Whether both entries belong to one attempt of one run.

        An unknown attempt (entries of orchestrators without retries, or written before
        attempts were recorded) matches every attempt of its run.
        """
        return (
            self.run_id is not None
            and self.run_id == other.run_id
            and (
                self.run_count is None
                or other.run_count is None
                or self.run_count == other.run_count
            )
        )

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


_RUN_PROVENANCE: ContextVar[Mapping[str, Any] | None] = ContextVar("run_provenance", default=None)
"""What :func:`recording_for` declares for the entries recorded in this context."""


@contextmanager
def recording_for(
    run_id: str, *, run_count: int | None, deployment_version: str | None
) -> Iterator[None]:
    """Stamp the entries of run ``run_id`` recorded inside the block with its attempt and version.

    The orchestrator knows them; the steps that build entries need not: a flow run
    wraps its body in this, and every registry write stamps them (:meth:`LedgerEntry.stamped`).
    Entries of other runs (recorded late by this one) keep their own.
    """
    provenance = {
        "run_id": run_id,
        "run_count": run_count,
        "deployment_version": deployment_version,
    }
    token = _RUN_PROVENANCE.set(provenance)
    try:
        yield
    finally:
        _RUN_PROVENANCE.reset(token)


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
