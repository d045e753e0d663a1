"""Every end of a weekly run reaches the ledger, with the run id and the state it ended in.

Two paths, because a process that is killed outright runs no code at all:

- **Hooks** (``on_failure``, ``on_cancellation``, ``on_crashed``) record an end where
  a process still lives to see it: the flow-run process itself for a failure or a
  timeout, or the worker (or ``ccflows serve``) for a cancellation or a crash it
  reports.
- **The next cycle** records the others: when the flow-run process and its worker
  both died (SIGKILL, out of memory), the zombie automation marks the run Crashed,
  and the next weekly run of the same model finds it, before doing anything else.

Either path records at most one entry per run: a run that already has a ledger
entry (its decision, or a failure recorded in the flow) is left as it is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flows.backends import open_backend
from flows.config import Settings, load_settings
from flows.cycle import steps
from flows.errors import ChampionChallengerError

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun, State

    from flows.backends import Backend
    from flows.records import LedgerEntry

logger = logging.getLogger(__name__)

RECONCILE_LOOKBACK_RUNS = 50
"""How many of the newest ended runs the next cycle looks at."""


def settings_of(parameters: dict[str, Any]) -> Settings:
    """The backend a run used, from its parameters (windows do not matter here)."""
    return load_settings(
        home=parameters.get("home"),
        backend=parameters.get("backend"),
        model_name=parameters.get("model_name"),
        config=parameters.get("config"),
    )


def describe_end(state: State) -> str:
    """``<state name>: <message>`` on one line; a cancellation in progress reads Cancelled."""
    name = "Cancelled" if state.is_cancelling() else state.name
    return " ".join(f"The run ended {name}: {state.message or 'no message'}".split())


def record_end(backend: Backend, *, run_id: str, state: State) -> LedgerEntry | None:
    """Record that run ``run_id`` ended in ``state``, unless the ledger has it already."""
    return steps.record_end(backend, run_id=run_id, error=describe_end(state))


def record_run_end(flow: Any, flow_run: FlowRun, state: State) -> None:
    """Flow hook for failure, cancellation and crash: record the end in the run's ledger.

    Prefect calls it positionally in the flow-run process and by keyword from the
    worker, so the parameter names are Prefect's.
    """
    with open_backend(settings_of(flow_run.parameters)) as backend:
        entry = record_end(backend, run_id=str(flow_run.id), state=state)
    if entry is not None:
        logger.info("Recorded ledger entry #%s: %s", entry.id, entry.reason)


def reconcile_ended_runs(
    backend: Backend, settings: Settings, *, flow_name: str, current_run_id: str | None
) -> list[LedgerEntry]:
    """Record the recent runs of ``flow_name`` on this model that ended badly unrecorded.

    Those are runs whose process died with its worker: the zombie automation marked
    them Crashed, and nobody was left to run a hook.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    ended_badly = [StateType.CRASHED, StateType.CANCELLED, StateType.FAILED]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=ended_badly))
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=RECONCILE_LOOKBACK_RUNS,
        )
    runs = [run for run in runs if str(run.id) != current_run_id and run.state is not None]
    if not runs:  # nothing ended badly: no need to read the ledger
        return []
    recorded = {entry.run_id for entry in steps.history(backend)}
    entries = []
    for run in runs:
        run_id = str(run.id)
        if run_id in recorded:
            continue
        if not _same_model(run.parameters, settings):
            continue
        entry = record_end(backend, run_id=run_id, state=run.state)
        if entry is None:  # recorded meanwhile, by its own hook
            continue
        logger.info("Recorded run %s, which ended %s unrecorded", run_id, run.state.name)
        entries.append(entry)
    return entries


def _same_model(parameters: dict[str, Any], settings: Settings) -> bool:
    """Whether a run with ``parameters`` worked on the model ``settings`` names, where it lives."""
    try:
        theirs = settings_of(parameters)
    except ChampionChallengerError:  # parameters that no longer resolve: not ours to record
        return False
    return (theirs.backend, theirs.model_name, theirs.home) == (
        settings.backend,
        settings.model_name,
        settings.home,
    )
