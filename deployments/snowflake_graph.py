"""The Snowflake task graph equivalent to a Prefect deployment, as plain values.

One definition, two orchestrators: the graph takes its schedule and parameters
from ``prefect.yaml`` (see :mod:`deployments.prefect_yaml`) and its steps call the
procedure that runs the same step functions as the Prefect flow. The graph is kept
as frozen dataclasses because importing snowflake.core takes seconds;
:func:`to_snowflake_dag` converts it to snowflake.core's ``DAG`` only to deploy.

Shape: snowflake.core's. The root is the DAG's own no-op task carrying the
schedule, CONFIG, retries and failure suspension; ``WEEKLY_RETRAINING`` follows it,
then ``AUTO_DEPLOY_BEST_MODEL``, and ``RECORD_OUTCOME`` is the finalizer. Making
the retraining step the root would save one trivial statement per week, but the
graph would then differ from what ``DAGOperation.deploy`` creates, and the reviewed
SQL script would no longer be the deployed graph; the warehouse the root wakes is
the one the retraining task uses next, so it is not woken for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from deployments.graph_contract import (
    AUTO_DEPLOY_BEST_MODEL,
    PROCEDURE,
    RECORD_OUTCOME,
    WEEKLY_RETRAINING,
)
from deployments.prefect_yaml import DEFAULT_DEPLOYMENT, read_deployment
from flows.errors import ConfigError
from flows.identifiers import MAX_IDENTIFIER_LENGTH, validate_identifier

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from snowflake.core.task.dagv1 import DAG

    from deployments.graph_config import ConfigValue, GraphConfig
    from deployments.prefect_yaml import CronSchedule, DeploymentDefinition
    from flows.config import Settings

DAG_NAME: Final = "CHAMPION_CHALLENGER_DAG"
"""The graph's (and its root task's) name: the quickstart's ``Champion_Challenger_DAG``."""
CODE_STAGE: Final = "CHAMPION_CHALLENGER_CODE"
"""Stage holding the package archive the procedure imports."""
ROOT_DEFINITION: Final = "select 'dag dummy root'"
"""The root's body, as snowflake.core's ``DAG`` creates it."""
WAREHOUSE_SIZES: Final = ("XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE")
DEFAULT_SERVERLESS_SIZE: Final = "XSMALL"
DEFAULT_RETRY_ATTEMPTS: Final = 2
MAX_RETRY_ATTEMPTS: Final = 30
"""The most TASK_AUTO_RETRY_ATTEMPTS allows (snowflake.core's Task model says 0–30)."""
DEFAULT_TIMEOUT_MINUTES: Final = 60
"""As the Prefect flow's step timeout."""
DEFAULT_SUSPEND_AFTER_FAILURES: Final = 3

PROCEDURE_PACKAGES: Final = (
    "numpy==2.4.6",
    "pandas==2.3.3",
    "scikit-learn==1.9.1",
    "snowflake-ml-python==2.6.0",
    "snowflake-snowpark-python==1.56.0",
)
"""What the procedure imports, pinned to the versions the step code is tested with.

Exact pins keep the procedure's training identical to the Prefect flow's; the
deploy command checks them against ``INFORMATION_SCHEMA.PACKAGES`` before changing
anything, and ``--package name==version`` pins another hosted version.
"""
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9][A-Za-z0-9.+!_-]*")


@dataclass(frozen=True)
class GraphOptions:
    """How the graph runs in Snowflake: its name, compute, retries, timeout, suspension."""

    name: str = DAG_NAME
    """Name of the graph and its root task."""
    warehouse: str | None = None
    """Warehouse every task runs on; None makes the tasks serverless."""
    serverless_size: str = DEFAULT_SERVERLESS_SIZE
    """Initial size of the serverless step tasks (ignored with a warehouse)."""
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    """TASK_AUTO_RETRY_ATTEMPTS: how often a failed graph run is retried from the failed task."""
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES
    """USER_TASK_TIMEOUT_MS of every task, in minutes (the Prefect steps' limit)."""
    suspend_after_failures: int = DEFAULT_SUSPEND_AFTER_FAILURES
    """SUSPEND_TASK_AFTER_NUM_FAILURES: consecutive failed runs before the graph suspends."""
    packages: tuple[str, ...] = PROCEDURE_PACKAGES
    """Packages of the procedure, ``name==version`` each."""
    stage: str = CODE_STAGE
    """Stage holding the code archive."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", validate_identifier(self.name, what="--name"))
        object.__setattr__(self, "stage", validate_identifier(self.stage, what="code stage"))
        if self.warehouse is not None:
            object.__setattr__(
                self, "warehouse", validate_identifier(self.warehouse, what="warehouse")
            )
        if self.serverless_size not in WAREHOUSE_SIZES:
            raise ConfigError(
                f"Serverless size must be one of {', '.join(WAREHOUSE_SIZES)}; "
                f"got {self.serverless_size!r}."
            )
        for option, value, low, high in (
            ("--retries", self.retry_attempts, 0, MAX_RETRY_ATTEMPTS),
            ("--timeout-minutes", self.timeout_minutes, 1, None),
            ("--suspend-after", self.suspend_after_failures, 0, None),
        ):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < low
                or (high is not None and value > high)
            ):
                bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
                raise ConfigError(f"{option} must be a whole number {bound}; got {value!r}.")
        for package in self.packages:
            if not _PACKAGE.fullmatch(package):
                raise ConfigError(
                    f"--package {package!r} must be pinned as name==version, "
                    "e.g. 'scikit-learn==1.6.1'."
                )

    def with_packages(self, pins: list[str]) -> GraphOptions:
        """A copy where each ``name==version`` in ``pins`` replaces that package's pin."""
        names = {pin.partition("==")[0].lower() for pin in pins}
        kept = [p for p in self.packages if p.partition("==")[0].lower() not in names]
        return replace(self, packages=tuple(sorted([*kept, *pins])))


@dataclass(frozen=True)
class GraphStep:
    """One step task of the graph; its task name is the step name the procedure runs."""

    name: str
    """Step (and short task) name."""
    after: str | None = None
    """The step it follows; None means it follows the root."""
    is_finalizer: bool = False
    """Whether it is the finalizer, which runs after every run, failed or not."""
    comment: str = ""
    """What it does, stored as the task's comment."""


WEEKLY_STEPS: Final = (
    GraphStep(
        WEEKLY_RETRAINING,
        comment="Check the policy, then retrain the challenger on the newest weeks.",
    ),
    GraphStep(
        AUTO_DEPLOY_BEST_MODEL,
        after=WEEKLY_RETRAINING,
        comment="Score both models on one hold-out; the policy decides; promote or keep.",
    ),
    GraphStep(
        RECORD_OUTCOME,
        is_finalizer=True,
        comment="Make sure the run's outcome is in the ledger, failures included.",
    ),
)
"""The flow's order: retrain, then evaluate and promote; the finalizer records the outcome."""


@dataclass(frozen=True)
class TaskSpec:
    """One task as Snowflake stores it; attribute names are snowflake.core ``Task``'s."""

    name: str
    definition: str
    warehouse: str | None = None
    user_task_managed_initial_warehouse_size: str | None = None
    schedule: CronSchedule | None = None
    config: Mapping[str, ConfigValue] | None = None
    allow_overlapping_execution: bool | None = None
    user_task_timeout_ms: int | None = None
    suspend_task_after_num_failures: int | None = None
    task_auto_retry_attempts: int | None = None
    comment: str | None = None
    finalize: str | None = None
    predecessors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TaskGraph:
    """The graph for one deployment: where it lives, what it carries, how it runs."""

    deployment: DeploymentDefinition
    """The Prefect deployment it mirrors."""
    config: GraphConfig
    """The root task's CONFIG."""
    options: GraphOptions = field(default_factory=GraphOptions)
    """Compute, retries, timeout and suspension."""
    steps: tuple[GraphStep, ...] = WEEKLY_STEPS
    """Step tasks, each after the one it follows."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for step in self.steps:
            if step.after is not None and step.after not in seen:
                raise ConfigError(
                    f"Step {step.name} follows {step.after}, which is not an earlier step."
                )
            seen.add(step.name)
            task = self.task_name(step)
            if len(task) > MAX_IDENTIFIER_LENGTH:
                raise ConfigError(
                    f"--name is too long: the task name {task[:40]}… would have {len(task)} "
                    f"characters, and Snowflake allows {MAX_IDENTIFIER_LENGTH}."
                )
        if sum(step.is_finalizer for step in self.steps) > 1:
            raise ConfigError("A task graph has at most one finalizer.")

    @property
    def database(self) -> str:
        """Database of the tasks, the procedure and the data."""
        return self.config.settings.snowflake.database

    @property
    def schema(self) -> str:
        """Schema of the tasks, the procedure and the data."""
        return self.config.settings.snowflake.schema

    def qualified(self, name: str) -> str:
        """``DATABASE.SCHEMA.name``."""
        return f"{self.database}.{self.schema}.{name}"

    def task_name(self, step: GraphStep | str) -> str:
        """The Snowflake name of a step's task: ``<graph>$<step>``, as snowflake.core names it."""
        return f"{self.options.name}${step if isinstance(step, str) else step.name}"

    def root_task(self) -> TaskSpec:
        """The root: schedule, CONFIG, no overlap, retries, timeout and failure suspension."""
        return TaskSpec(
            name=self.options.name,
            definition=ROOT_DEFINITION,
            warehouse=self.options.warehouse,
            schedule=self.deployment.schedule,
            config=self.config.to_config(),
            allow_overlapping_execution=False,
            user_task_timeout_ms=self._timeout_ms,
            suspend_task_after_num_failures=self.options.suspend_after_failures,
            task_auto_retry_attempts=self.options.retry_attempts,
            comment=(
                f"champion-challenger: the prefect.yaml deployment {self.deployment.name!r} "
                f"({self.deployment.entrypoint}) as a task graph"
            ),
        )

    def step_tasks(self) -> tuple[TaskSpec, ...]:
        """The step tasks in creation order (each after its predecessor; finalizer last)."""
        ordered = sorted(self.steps, key=lambda step: step.is_finalizer)
        return tuple(self.step_task(step) for step in ordered)

    def tasks(self) -> tuple[TaskSpec, ...]:
        """Root first, then the step tasks."""
        return (self.root_task(), *self.step_tasks())

    @property
    def _timeout_ms(self) -> int:
        return self.options.timeout_minutes * 60_000

    def step_task(self, step: GraphStep) -> TaskSpec:
        """The task that runs ``step``: a CALL of the procedure with the step's name."""
        serverless = self.options.warehouse is None
        predecessors = None
        if not step.is_finalizer:
            predecessors = (self.task_name(step.after) if step.after else self.options.name,)
        return TaskSpec(
            name=self.task_name(step),
            definition=f"CALL {self.qualified(PROCEDURE)}('{step.name}')",
            warehouse=self.options.warehouse,
            user_task_managed_initial_warehouse_size=(
                self.options.serverless_size if serverless else None
            ),
            user_task_timeout_ms=self._timeout_ms,
            comment=step.comment,
            finalize=self.options.name if step.is_finalizer else None,
            predecessors=predecessors,
        )


def build_graph(
    deployment: DeploymentDefinition, settings: Settings, options: GraphOptions | None = None
) -> TaskGraph:
    """The task graph equivalent to ``deployment``, located by ``settings.snowflake``.

    Raises:
        ConfigError: if the deployment's parameters cannot be carried (see
            :meth:`GraphConfig.from_deployment`).
    """
    from deployments.graph_config import GraphConfig

    return TaskGraph(
        deployment=deployment,
        config=GraphConfig.from_deployment(deployment.parameters, settings),
        options=options or GraphOptions(),
    )


def load_graph(
    prefect_yaml: str | Path,
    *,
    settings: Settings,
    deployment: str = DEFAULT_DEPLOYMENT,
    options: GraphOptions | None = None,
) -> TaskGraph:
    """Read ``deployment`` from ``prefect_yaml``, build its graph and check its policy.

    The policy is loaded here so that an unknown name or a bad parameter fails when
    the graph is emitted or deployed, not every week inside Snowflake.

    Raises:
        ConfigError: for an unreadable file, a missing deployment or schedule, or a
            parameter the graph cannot carry.
        ccpolicy.PolicyError: for an unknown policy or a bad policy parameter.
    """
    graph = build_graph(read_deployment(prefect_yaml, deployment), settings, options)
    graph.config.check_policy()
    return graph


def to_snowflake_dag(graph: TaskGraph) -> DAG:
    """The same graph as snowflake.core objects, for ``DAGOperation`` (imports snowflake.core)."""
    from snowflake.core.task import Cron
    from snowflake.core.task.dagv1 import DAG, DAGTask

    root = graph.root_task()
    schedule = graph.deployment.schedule
    dag = DAG(
        root.name,
        schedule=Cron(schedule.expr, schedule.timezone),
        warehouse=root.warehouse,
        comment=root.comment,
        task_auto_retry_attempts=root.task_auto_retry_attempts,
        allow_overlapping_execution=root.allow_overlapping_execution,
        user_task_timeout_ms=root.user_task_timeout_ms,
        suspend_task_after_num_failures=root.suspend_task_after_num_failures,
        config=dict(root.config or {}),
    )
    created: dict[str, Any] = {}
    for step in graph.steps:
        spec = graph.step_task(step)
        task = DAGTask(
            step.name,
            spec.definition,
            warehouse=spec.warehouse,
            user_task_managed_initial_warehouse_size=spec.user_task_managed_initial_warehouse_size,
            user_task_timeout_ms=spec.user_task_timeout_ms,
            comment=spec.comment,
            is_finalizer=step.is_finalizer,
            is_serverless=spec.warehouse is None,
            dag=dag,
        )
        if step.after:
            created[step.after] >> task
        created[step.name] = task
    return dag
