"""A run that writes to the registry is in the ledger from its start to its end, once per attempt.

The weekly, bootstrap and rollback flows write a ``started`` row first, with the run
id and Prefect's ``run_count`` (2 after a retry from the UI), and stamp every entry
they record with that attempt and their deployment's version (:func:`recorded_run`).
Ends that the run itself cannot record reach the ledger by two paths, because a
process that is killed outright runs no code at all:

- **Hooks** (``on_failure``, ``on_cancellation``, ``on_crashed``) record an end where
  a process still lives to see it: the flow-run process itself for a failure or a
  timeout, or the worker (or ``ccflows serve``) for a cancellation or a crash it
  reports. A cancellation is recorded with the operator's reason.
- **The next cycle** records the others: when the flow-run process and its worker
  both died (SIGKILL, out of memory), the zombie automation marks the run Crashed,
  and the next weekly run of the same ledger finds it, before doing anything else.

Both record an end only in a ledger that holds the attempt's ``started`` row, so a
run whose home came from a per-run job variable is never recorded in another home;
and both go through the one rule of :func:`flows.cycle.steps.record_end`, so an
attempt that has its end (its decision, or a failure the flow recorded) keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from flows.backends import open_backend
from flows.config import Settings, load_settings
from flows.cycle import steps
from flows.errors import one_line
from flows.records import recording_for

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun, State

    from flows.backends import Backend
    from flows.records import LedgerEntry

logger = logging.getLogger(__name__)

RECONCILE_LOOKBACK_RUNS = 50
"""How many of the newest ``started`` rows the next cycle looks at."""
WHAT_RAN = {"champion-challenger": "Cycle", "train-champion": "Bootstrap", "rollback": "Rollback"}
"""What each flow that writes to the registry is called in the ledger's reasons."""


@contextmanager
def recorded_run(backend: Backend, *, flow_name: str) -> Iterator[None]:
    """Write this attempt's ``started`` row first, and its failure if the block raises.

    Every entry of this run recorded in the block carries the attempt (``run_count``)
    and the deployment's version (:func:`flows.records.recording_for`). A failure is
    recorded here, while the run still holds the registry's slot, unless the attempt
    has its end already (a cycle records its own); a ledger that cannot be written
    then is logged, and the run's own error raised.
    """
    from prefect.runtime import deployment, flow_run

    run_id, run_count = str(flow_run.get_id()), flow_run.get_run_count()
    what = WHAT_RAN.get(flow_name, flow_name)
    with recording_for(run_id, run_count=run_count, deployment_version=deployment.get_version()):
        steps.record_start(backend, run_id=run_id, run_count=run_count, what=what)
        try:
            yield
        except Exception as exc:
            try:
                error = one_line(exc)
                steps.record_end(
                    backend, run_id=run_id, run_count=run_count, error=error, what=what
                )
            except Exception as failure:  # the run's own error is the one to report
                logger.warning("Could not record the failure in the ledger: %s", one_line(failure))
            raise


def settings_of(parameters: dict[str, Any]) -> Settings:
    """The backend a run used, from its parameters (windows do not matter here)."""
    return load_settings(
        home=parameters.get("home"),
        backend=parameters.get("backend"),
        model_name=parameters.get("model_name"),
        config=parameters.get("config"),
    )


def describe_end(state: State, *, asked: str | None = None) -> str:
    """``The run ended <state>: <message>`` on one line; a cancellation in progress reads Cancelled.

    Args:
        asked: The reason an operator gave when cancelling, which the final state's
            message no longer carries.
    """
    name = "Cancelled" if state.is_cancelling() else state.name
    return " ".join(f"The run ended {name}: {asked or state.message or 'no message'}".split())


def _as_the_server_has_it(flow_run: FlowRun) -> tuple[int | None, str | None]:
    """The run's attempt and the operator's cancel reason, read from the server.

    A worker hands its hooks the run as it was when submitted (``run_count`` 0, before
    it ran), and the final Cancelled state no longer carries the reason that the
    Cancelling state's message gave.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run_count = client.read_flow_run(flow_run.id).run_count
        states = client.read_flow_run_states(flow_run.id)
    asked = [s.message for s in states if s.is_cancelling() and s.message]
    return (run_count or None), (asked[-1] if asked else None)


def record_run_end(flow: Any, flow_run: FlowRun, state: State) -> None:
    """Flow hook for failure, cancellation and crash: record the end in the run's ledger.

    Prefect calls it positionally in the flow-run process and by keyword from the
    worker, so the parameter names are Prefect's. Nothing is recorded in a ledger
    that holds no ``started`` row of this attempt (the run failed before it could
    reach one, or its settings resolve elsewhere here).
    """
    run_id = str(flow_run.id)
    run_count, asked = _as_the_server_has_it(flow_run)
    if not (state.is_cancelled() or state.is_cancelling()):
        asked = None
    with open_backend(settings_of(flow_run.parameters)) as backend:
        if not steps.started_here(
            backend, run_id=run_id, run_count=run_count, lookback=RECONCILE_LOOKBACK_RUNS
        ):
            logger.info("Run %s did not start in this ledger; its end is not recorded", run_id)
            return
        entry = steps.record_end(
            backend,
            run_id=run_id,
            run_count=run_count,
            error=describe_end(state, asked=asked),
            what=WHAT_RAN.get(flow.name, flow.name),
        )
    if entry is not None:
        logger.info("Recorded ledger entry #%s: %s", entry.id, entry.reason)


def reconcile_ended_runs(backend: Backend, *, current_run_id: str | None) -> list[LedgerEntry]:
    """Record the attempts that started in this ledger and ended unrecorded.

    Those are attempts whose process died with its worker (the zombie automation
    marked the run Crashed, and nobody was left to run a hook), or that were followed
    by a retry of the run before anybody recorded them.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    open_attempts = [
        start
        for start in steps.unended_starts(backend, lookback=RECONCILE_LOOKBACK_RUNS)
        if start.run_id != current_run_id and _is_uuid(start.run_id)
    ]
    if not open_attempts:
        return []
    ids = [UUID(start.run_id) for start in open_attempts]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
        flows = {run.flow_id: client.read_flow(run.flow_id).name for run in runs}
    found = {str(run.id): run for run in runs}
    entries = []
    for start in open_attempts:
        run = found.get(str(start.run_id))
        end = _attempt_end(start, run) if run is not None else None
        if end is None:  # still going, or gone from the server
            continue
        entry = steps.record_end(
            backend,
            run_id=str(run.id),
            run_count=start.run_count,
            error=end,
            what=WHAT_RAN.get(flows[run.flow_id], "Run"),
        )
        if entry is not None:  # else recorded meanwhile, by its own hook
            logger.info("Recorded run %s late: %s", run.id, end)
            entries.append(entry)
    return entries


def _attempt_end(start: LedgerEntry, run: FlowRun) -> str | None:
    """How the attempt of ``start`` ended, as Prefect knows it; None while it may still run."""
    if start.run_count is not None and run.run_count > start.run_count:
        now = run.state.name if run.state else "unknown"
        return (
            f"The run ended unrecorded in attempt {start.run_count}; it was retried "
            f"(attempt {run.run_count}, now {now})."
        )
    state = run.state
    if state is None or not state.is_final() or state.is_completed():
        return None
    return describe_end(state)


def _is_uuid(text: str | None) -> bool:
    try:
        UUID(str(text))
    except ValueError:
        return False
    return True
