"""Rehearse the Snowflake task graph on the embedded backend, the way Snowflake runs it.

The tasks run in the graph's order with the procedure's own step functions; the
CONFIG goes through the same JSON round trip as ``SYSTEM$GET_TASK_GRAPH_CONFIG``;
a failed task skips the tasks after it, and the finalizer always runs and sees the
first error. No account is needed, which makes the graph testable end to end.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deployments import procedures
from deployments.graph_config import GraphConfig
from flows.backends import LOCAL, open_backend

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from pathlib import Path

    from deployments.snowflake_graph import GraphStep, TaskGraph
    from flows.backends import Backend
    from flows.config import Settings

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class TaskRun:
    """One task of a rehearsed graph run, with Snowflake's task-history states."""

    task: str
    """Snowflake name of the task (``<graph>$<step>``)."""
    state: str
    """SUCCEEDED, FAILED or SKIPPED."""
    return_value: str | None = None
    """What the step returned."""
    error: str | None = None
    """``ExceptionType: message`` of a failed step."""


@dataclass(frozen=True)
class LocalGraphRun:
    """A rehearsed graph run."""

    run_id: str
    """The id recorded in the ledger entries of this run."""
    tasks: tuple[TaskRun, ...]
    """The step tasks, in the order they ran (finalizer last)."""

    @property
    def succeeded(self) -> bool:
        """Whether every task succeeded."""
        return all(t.state == SUCCEEDED for t in self.tasks)


@dataclass
class _RunState:
    """What the tasks of one rehearsed run share: its id, the return values, the errors."""

    run_id: str
    config_text: str
    returns: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class LocalTaskRuntime(procedures.TaskRuntime):
    """The runtime one step sees in a rehearsal: the embedded backend under ``home``."""

    def __init__(self, graph: TaskGraph, step: GraphStep, *, home: Path, state: _RunState) -> None:
        self._graph = graph
        self._step = step
        self._home = home
        self._state = state

    def graph_config(self) -> GraphConfig:
        """The CONFIG, read back from its JSON text as in Snowflake, on the embedded backend."""
        return GraphConfig.from_config(
            json.loads(self._state.config_text), backend=LOCAL, home=str(self._home)
        )

    def open_backend(self, settings: Settings) -> AbstractContextManager[Backend]:
        """The embedded backend."""
        return open_backend(settings)

    def run_id(self) -> str:
        """The rehearsal's run id."""
        return self._state.run_id

    def actor(self) -> str:
        """``local-graph:<task name>``."""
        return f"local-graph:{self._graph.task_name(self._step)}"

    def predecessor_value(self) -> str | None:
        """What the step this one follows handed on."""
        return self._state.returns.get(self._step.after) if self._step.after else None

    def set_return_value(self, value: str) -> None:
        """Keep ``value`` for the following step."""
        self._state.returns[self._step.name] = value

    def first_error(self) -> str | None:
        """The first failure of this run."""
        return self._state.errors[0] if self._state.errors else None


def run_graph_locally(graph: TaskGraph, *, home: Path, run_id: str | None = None) -> LocalGraphRun:
    """Run ``graph``'s steps on the embedded backend under ``home``, as Snowflake would.

    A step that raises is recorded as FAILED (as a failed task, not an exception),
    the steps after it are SKIPPED, and the finalizer runs regardless.

    Args:
        graph: The task graph (its CONFIG supplies the parameters).
        home: Home directory of the embedded backend.
        run_id: Id for the ledger; a fresh ``local-…`` id by default.

    Returns:
        The state and return value of every step task.
    """
    state = _RunState(
        run_id=run_id or f"local-{uuid.uuid4().hex[:12]}",
        config_text=json.dumps(graph.config.to_config()),
    )
    runs: list[TaskRun] = []
    stopped: set[str] = set()
    for step in sorted(graph.steps, key=lambda s: s.is_finalizer):
        name = graph.task_name(step)
        if step.after in stopped:
            stopped.add(step.name)
            runs.append(TaskRun(name, SKIPPED))
            continue
        runtime = LocalTaskRuntime(graph, step, home=home, state=state)
        try:
            value = procedures.run(step.name, runtime)
        except Exception as exc:  # a failed task, as Snowflake records it; the graph goes on
            error = f"{type(exc).__name__}: {exc}"
            state.errors.append(f"{name} failed: {error}")
            stopped.add(step.name)
            runs.append(TaskRun(name, FAILED, error=error))
        else:
            runs.append(TaskRun(name, SUCCEEDED, return_value=value))
    return LocalGraphRun(run_id=state.run_id, tasks=tuple(runs))
