"""The steps that only read: pointers, versions, the ledger, the trend; nothing changes.

``flows.cycle.steps`` lists them beside the steps that write; the read-only commands
(``status``, ``history``, ``replay``, ``report``) run them on a backend opened in
``read`` mode. They import nothing from ``steps``, so the pieces ``steps`` lists
(loading, scoring) can use them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.errors import ConfigError, EmptyWindowError

if TYPE_CHECKING:
    import ccpolicy
    from flows.backends import Backend
    from flows.cycle.trend import Trend
    from flows.records import LedgerEntry, ModelVersion, RegistryStatus


@dataclass(frozen=True)
class Status:
    """The registry's pointers and every version, for ``ccflows status`` and the UI."""

    pointers: RegistryStatus
    versions: list[ModelVersion]


def data_span(backend: Backend) -> tuple[int, int]:
    """Oldest and newest period stored; raises when there is no data at all."""
    span = backend.source.period_span()
    if span is None:
        load = (
            "`ccflows generate` (or load data)"
            if backend.source.contract.is_quickstart
            else "`ccflows ingest FILE`"
        )
        raise EmptyWindowError(f"No rows are stored yet; run {load} first.")
    return span


def champion(backend: Backend) -> ModelVersion:
    """The live champion's record (a cycle's preflight check).

    Raises:
        NoChampionError: if nothing is live yet, naming ``ccflows train-champion``.
    """
    return backend.registry.champion()


def status(backend: Backend) -> Status:
    """The pointers and every version of the model."""
    return Status(pointers=backend.registry.status(), versions=backend.registry.list_versions())


def history(backend: Backend, *, limit: int | None = None) -> list[LedgerEntry]:
    """The ledger, oldest first (only the newest ``limit`` entries if given)."""
    return backend.registry.ledger(limit=limit)


def committed_decision(backend: Backend, run_id: str | None) -> LedgerEntry | None:
    """The decision run ``run_id`` already recorded, if one stands (see ``Registry.decision_of_run``).

    A deciding step that is retried calls this first and returns the entry it finds,
    so a retry after the decision committed records nothing new.
    """
    return backend.registry.decision_of_run(run_id)


def run_entries(backend: Backend, run_id: str) -> list[LedgerEntry]:
    """The ledger entries that run ``run_id`` recorded, oldest first."""
    return [entry for entry in backend.registry.ledger() if entry.run_id == run_id]


def live_at(backend: Backend, when: str) -> str | None:
    """The version that was live at ISO time ``when``, from the ledger."""
    return backend.registry.live_at(when)


def trend(backend: Backend, *, curves: bool = True) -> Trend:
    """The model over time, from the ledger (``flows.cycle.trend``).

    Args:
        curves: Also read the newest stored evidence for the ROC curves (the report
            draws them; a weekly run's artifacts do not).
    """
    from flows.cycle.trend import read_trend

    return read_trend(backend.registry, curves=curves)


def replay(
    backend: Backend, policy: ccpolicy.Policy, *, entry_ids: list[int] | None = None
) -> list[tuple[LedgerEntry, ccpolicy.Decision]]:
    """What ``policy`` would have decided on the evidence stored with past ledger entries.

    Nothing is changed or recorded. Without ``entry_ids``, entries without stored
    evidence are skipped.

    Raises:
        ConfigError: if an entry asked for does not exist or has no stored evidence,
            naming the entries that do.
    """
    import ccpolicy

    registry = backend.registry
    ledger = registry.ledger()
    replayable = [entry for entry in ledger if entry.has_evidence]
    if entry_ids:
        by_id = {entry.id: entry for entry in ledger}
        with_evidence = ", ".join(str(e.id) for e in replayable) or "none yet"
        for wanted in entry_ids:
            if wanted not in by_id:
                held = f"entries {ledger[0].id}–{ledger[-1].id}" if ledger else "no entry yet"
                raise ConfigError(f"No ledger entry {wanted}; the ledger holds {held}.")
            if not by_id[wanted].has_evidence:
                raise ConfigError(
                    f"Ledger entry {wanted} ({by_id[wanted].outcome.value}) has no stored "
                    f"evidence to replay; entries with evidence: {with_evidence}."
                )
        replayable = [entry for entry in replayable if entry.id in set(entry_ids)]
    results = []
    for entry in replayable:
        payload = registry.ledger_evidence(entry.id)
        results.append((entry, policy(ccpolicy.Evidence.from_npz_bytes(payload))))
    return results
