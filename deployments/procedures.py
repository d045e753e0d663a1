"""The stored procedure's handlers: the graph's tasks, each a part of the one weekly cycle.

Each graph task runs a contiguous part of :data:`flows.cycle.stages.STAGES` with
:meth:`~flows.cycle.stages.Cycle.run`, the same composition the Prefect flow runs:
the retraining task the stages up to ``retrain``, the deciding task ``evaluate`` and
``decide``. What one task hands the next is the cycle's own
:class:`~flows.cycle.stages.Handoff`, as the task's return value. The finalizer
applies the cycle's one rule for a run's end.

Each handler takes a :class:`TaskRuntime`, the little it needs from the orchestrator:
the graph's CONFIG, the run's id, the predecessor's return value and the first
error of the run. Inside Snowflake, :func:`run_step` (the handler of
``CHAMPION_CHALLENGER_STEP(STEP)``) wraps the procedure's Snowpark session in a
:class:`SnowflakeTaskRuntime`; :mod:`deployments.local_graph` runs the very same
handlers on the embedded backend. This module imports neither prefect nor snowflake.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from deployments.graph_config import GraphConfig
from deployments.graph_contract import (
    AUTO_DEPLOY_BEST_MODEL,
    RECORD_OUTCOME,
    STEPS,
    WEEKLY_RETRAINING,
)
from flows.backends import open_backend
from flows.cycle import stages, steps
from flows.cycle.stages import Cycle, Handoff
from flows.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from flows.backends import Backend
    from flows.config import Settings

logger = logging.getLogger(__name__)

NO_ERROR_SEEN = (
    "The graph run ended without recording a decision, and its task history shows no error "
    "yet; see `ccflows snowflake status`."
)
STAGES_OF_TASK: dict[str, tuple[str, str]] = {
    WEEKLY_RETRAINING: (stages.PLAN, stages.RETRAIN),
    AUTO_DEPLOY_BEST_MODEL: (stages.EVALUATE, stages.DECIDE),
}
"""The first and last stage each step task runs; together, the whole cycle, in order."""


class TaskRuntime(ABC):
    """What a step needs from the orchestrator that runs it."""

    @abstractmethod
    def graph_config(self) -> GraphConfig:
        """The run's parameters and settings (the root task's CONFIG)."""

    @abstractmethod
    def open_backend(self, settings: Settings) -> AbstractContextManager[Backend]:
        """Open the backend the steps work against."""

    @abstractmethod
    def run_id(self) -> str:
        """Identifier of the graph run, shared by all its tasks (recorded in the ledger)."""

    @abstractmethod
    def actor(self) -> str:
        """Who is acting, for the ledger: the running task."""

    @abstractmethod
    def predecessor_value(self) -> str | None:
        """The return value of the task this one follows."""

    @abstractmethod
    def set_return_value(self, value: str) -> None:
        """Hand ``value`` to the following task."""

    @abstractmethod
    def first_error(self) -> str | None:
        """The first failed task of this run and its error, or None."""


def run_cycle_part(task: str, runtime: TaskRuntime) -> str:
    """Run the part of the cycle that graph task ``task`` runs; hand its result on.

    A failed stage has recorded the run's end (with the plan when known) before the
    error is raised again, which fails the task as Snowflake records it.

    Returns:
        The hand-off as JSON, or the decision's outcome after the deciding task.
    """
    config = runtime.graph_config()
    first, last = STAGES_OF_TASK[task]
    handoff = Handoff()
    if first != stages.PLAN:
        handoff = Handoff.from_json(runtime.predecessor_value(), expected_by=f"Step {task}")
    with runtime.open_backend(config.settings) as backend:
        # A deciding task retried after its decision committed records nothing new.
        committed = (
            steps.committed_decision(backend, runtime.run_id()) if last == stages.DECIDE else None
        )
        if committed is None:
            cycle = Cycle(
                backend,
                config.settings,
                config.parameters,
                run_id=runtime.run_id(),
                actor=runtime.actor(),
            )
            outcome = cycle.run(first, last, handoff=handoff)
    if committed is not None:
        logger.info("Ledger entry #%s stands for this run: %s", committed.id, committed.reason)
        handed_on = committed.outcome.value
    else:
        outcome.raise_error()
        if outcome.report is None:
            handed_on = outcome.handoff.to_json()
        else:
            entry = outcome.report.entry
            logger.info("Ledger entry #%s: %s", entry.id, entry.reason)
            handed_on = entry.outcome.value
    runtime.set_return_value(handed_on)
    return handed_on


def record_outcome(runtime: TaskRuntime) -> str:
    """Finalizer: the run's end, recorded unless the run has an entry; returns the outcome."""
    config = runtime.graph_config()
    run_id = runtime.run_id()
    with runtime.open_backend(config.settings) as backend:
        entry = None
        if not steps.run_entries(backend, run_id):
            entry = steps.record_end(
                backend,
                run_id=run_id,
                error=runtime.first_error() or NO_ERROR_SEEN,
                actor=runtime.actor(),
            )
        if entry is None:  # the run recorded its decision or its failure, maybe just now
            return steps.run_entries(backend, run_id)[-1].outcome.value
    logger.warning("Graph run %s ended unrecorded; recorded as ledger entry #%s", run_id, entry.id)
    return entry.outcome.value


_STEP_FUNCTIONS: dict[str, Callable[[TaskRuntime], str]] = {
    WEEKLY_RETRAINING: lambda runtime: run_cycle_part(WEEKLY_RETRAINING, runtime),
    AUTO_DEPLOY_BEST_MODEL: lambda runtime: run_cycle_part(AUTO_DEPLOY_BEST_MODEL, runtime),
    RECORD_OUTCOME: record_outcome,
}


def run(step: str, runtime: TaskRuntime) -> str:
    """Run graph step ``step`` with ``runtime``.

    Raises:
        ConfigError: if ``step`` is not one of the graph's steps.
    """
    try:
        function = _STEP_FUNCTIONS[step]
    except KeyError:
        raise ConfigError(
            f"Unknown step {step!r}; the task graph's steps are {', '.join(STEPS)}."
        ) from None
    return function(runtime)


def run_step(session: Any, step: str) -> str:
    """Handler of ``CHAMPION_CHALLENGER_STEP(STEP)``: run ``step`` with the procedure's session."""
    return run(step, SnowflakeTaskRuntime(session))


_RUN_GROUP_ID = re.compile(r"^[0-9]+$")
_UUID = re.compile(r"^[0-9A-Fa-f-]{1,64}$")


class SnowflakeTaskRuntime(TaskRuntime):
    """A task's runtime inside Snowflake, through the procedure's Snowpark session.

    It calls the task system functions (``SYSTEM$GET_TASK_GRAPH_CONFIG``,
    ``SYSTEM$TASK_RUNTIME_INFO``, ``SYSTEM$GET_PREDECESSOR_RETURN_VALUE``,
    ``SYSTEM$SET_RETURN_VALUE``) directly, which is what snowflake.core's
    ``TaskContext`` does, without adding snowflake.core to the procedure's packages.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._config: GraphConfig | None = None

    def _scalar(self, query: str, params: list[Any] | None = None) -> Any:
        rows = self._session.sql(query, params=params).collect()
        return rows[0][0] if rows else None

    def graph_config(self) -> GraphConfig:
        """The CONFIG of the running graph, read once.

        Raises:
            ConfigError: outside a graph run, where there is no CONFIG.
        """
        if self._config is None:
            text = self._scalar("SELECT SYSTEM$GET_TASK_GRAPH_CONFIG()")
            if not text:
                raise ConfigError(
                    "There is no task graph CONFIG: CHAMPION_CHALLENGER_STEP runs as a task of "
                    "the graph; start it with `ccflows snowflake run` (EXECUTE TASK)."
                )
            self._config = GraphConfig.from_config(json.loads(text))
        return self._config

    def open_backend(self, settings: Settings) -> AbstractContextManager[Backend]:
        """The Snowflake backend on the procedure's own session."""
        return open_backend(settings, session=self._session)

    def _runtime_info(self, name: str) -> str:
        return str(self._scalar(f"SELECT TO_CHAR(SYSTEM$TASK_RUNTIME_INFO('{name}'))"))

    def run_id(self) -> str:
        """The graph run group id (the same in every task of a run and its retries)."""
        return self._runtime_info("CURRENT_TASK_GRAPH_RUN_GROUP_ID")

    def actor(self) -> str:
        """``snowflake-task:<fully qualified task name>``."""
        return f"snowflake-task:{self._scalar('SELECT SYSTEM$CURRENT_USER_TASK_NAME()')}"

    def predecessor_value(self) -> str | None:
        """The return value of the only predecessor."""
        return self._scalar("SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE()") or None

    def set_return_value(self, value: str) -> None:
        """``SYSTEM$SET_RETURN_VALUE``."""
        self._session.sql("CALL SYSTEM$SET_RETURN_VALUE(?)", params=[value]).collect()

    def first_error(self) -> str | None:
        """The first failed or cancelled task of this run, from the task history."""
        root_id = self._runtime_info("CURRENT_ROOT_TASK_UUID")
        run_id = self.run_id()
        if not (_UUID.match(root_id) and _RUN_GROUP_ID.match(run_id)):
            return None
        rows = self._session.sql(
            "SELECT NAME, STATE, ERROR_MESSAGE FROM TABLE("
            f"{self.graph_config().settings.snowflake.database}.INFORMATION_SCHEMA.TASK_HISTORY("
            f"ROOT_TASK_ID => '{root_id}', ERROR_ONLY => TRUE, RESULT_LIMIT => 1000)) "
            "WHERE GRAPH_RUN_GROUP_ID = ? ORDER BY COMPLETED_TIME LIMIT 1",
            params=[run_id],
        ).collect()
        if not rows:
            return None
        name, state, message = rows[0]
        return f"{name} {str(state).lower()}: {message}"
