"""Deploy, run and watch the task graph in a Snowflake account.

The code and the procedure go through the session as the same SQL statements the
emitted script holds (the archive through ``session.file.put``); the tasks go
through snowflake.core's ``DAGOperation``, which creates the graph over Snowflake's
REST API. Every function takes the tasks' ``SchemaResource`` as an optional
argument: it is where snowflake.core meets the network, and the seam the tests use.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deployments.graph_contract import PROCEDURE
from deployments.snowflake_graph import CODE_STAGE, PROCEDURE_PACKAGES, to_snowflake_dag
from deployments.snowflake_sql import render_script, stage_procedure_sql
from flows.backends.snowflake import stage_procedure
from flows.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from deployments.snowflake_graph import TaskGraph
    from flows.config import SnowflakeSettings

_TASK_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
HISTORY_DAYS = 7
"""How far back ``status`` reads the task history (the Information Schema keeps 7 days)."""


def check_packages(session: Any, packages: tuple[str, ...]) -> None:
    """Fail unless Snowflake's Anaconda channel hosts every pinned package version.

    CREATE PROCEDURE would fail on an unhosted pin anyway, but only after the
    graph was suspended; this fails first and names the versions on offer.

    Raises:
        ConfigError: naming each missing pin and the hosted versions of that package.
    """
    pins = [pin.partition("==")[::2] for pin in packages]
    placeholders = ", ".join("?" for _ in pins)
    rows = session.sql(
        "SELECT PACKAGE_NAME, VERSION FROM INFORMATION_SCHEMA.PACKAGES "
        f"WHERE LANGUAGE = 'python' AND PACKAGE_NAME IN ({placeholders})",
        params=[name for name, _ in pins],
    ).collect()
    hosted: dict[str, set[str]] = defaultdict(set)
    for name, version in rows:
        hosted[name].add(version)
    missing = [
        f"{name}=={version} (hosted: {', '.join(sorted(hosted[name])[-5:]) or 'none'})"
        for name, version in pins
        if version not in hosted[name]
    ]
    if missing:
        raise ConfigError(
            f"Snowflake's Anaconda channel does not host {'; '.join(missing)}. Pin a hosted "
            "version with --package NAME==VERSION (re-test the steps with it), or pass "
            "--no-package-check if the account resolves packages from another repository."
        )


def install_stage_procedure(
    session: Any,
    settings: SnowflakeSettings,
    *,
    archive: Path,
    packages: tuple[str, ...] = PROCEDURE_PACKAGES,
    package_check: bool = True,
) -> list[str]:
    """Ship the code and create the stage procedure a flow in warehouse mode calls.

    The pins are checked against the channel first, so an unhosted one fails in one
    line before anything is created.

    Returns:
        The statements that ran (the PUT as its target).

    Raises:
        ConfigError: if a pinned package is not hosted (nothing was created then).
    """
    if package_check:
        check_packages(session, packages)
    schema = f"{settings.database}.{settings.schema}"
    stage = f"{schema}.{CODE_STAGE}"
    statements = [
        f"CREATE STAGE IF NOT EXISTS {stage}",
        stage_procedure_sql(
            f"{schema}.{stage_procedure.PROCEDURE}",
            stage=stage,
            archive_name=archive.name,
            packages=packages,
        ),
    ]
    session.sql(statements[0]).collect()
    session.file.put(str(archive), f"@{stage}", auto_compress=False, overwrite=True)
    session.sql(statements[1]).collect()
    return [statements[0], f"PUT {archive.name} @{stage}", statements[1]]


@dataclass(frozen=True)
class DeployReport:
    """What a deploy created."""

    stage: str
    """Where the code archive went."""
    procedure: str
    """The procedure the tasks call."""
    tasks: tuple[str, ...]
    """The tasks, root first, all resumed."""


def deploy_graph(
    graph: TaskGraph,
    *,
    session: Any,
    archive: Path,
    schema: Any = None,
    package_check: bool = True,
) -> DeployReport:
    """Replace the graph in the account: ship code and procedure, suspend, recreate the tasks.

    Args:
        graph: The task graph.
        session: A Snowpark session with the privileges listed in docs/snowflake-tasks.md.
        archive: The built package archive (see :mod:`deployments.code_archive`).
        schema: The tasks' snowflake.core ``SchemaResource``; defaults to the graph's.
        package_check: Check the pinned packages against INFORMATION_SCHEMA.PACKAGES first.

    Raises:
        ConfigError: if a pinned package is not hosted (nothing was changed then).
    """
    from snowflake.core._common import CreateMode
    from snowflake.core.task.dagv1 import DAGOperation

    script = render_script(graph, archive=archive.resolve())
    stage = graph.qualified(graph.options.stage)
    with _account(graph, f"deploy task graph {graph.options.name}"):
        if package_check:
            check_packages(session, graph.options.packages)
        session.sql(script.create_stage).collect()
        session.file.put(str(archive), f"@{stage}", auto_compress=False, overwrite=True)
        session.sql(script.create_procedure).collect()  # an unhosted pin fails before the stop
        session.sql(script.create_stage_procedure).collect()
        session.sql(script.suspend_root).collect()
        # DAGOperation.deploy(or_replace) drops the old graph's tasks, stale children included
        with warnings.catch_warnings():
            # snowflake.core's own notices, not ours to act on: replacing a graph keeps its
            # finalizer (what we want), and DAGOperation still uses its deprecated FQN class.
            warnings.filterwarnings("ignore", "Setting drop_finalizer", DeprecationWarning)
            warnings.filterwarnings("ignore", "The 'FQN' class is deprecated", DeprecationWarning)
            DAGOperation(schema or tasks_schema(session, graph)).deploy(
                to_snowflake_dag(graph), mode=CreateMode.or_replace
            )
    return DeployReport(
        stage=stage,
        procedure=graph.qualified(PROCEDURE),
        tasks=tuple(graph.qualified(t.name) for t in graph.tasks()),
    )


def run_graph(graph: TaskGraph, *, session: Any, schema: Any = None) -> None:
    """Start one graph run now (EXECUTE TASK on the root, resumed first as snowflake.core does).

    Raises:
        ConfigError: if the graph is not deployed.
    """
    from snowflake.core.task.dagv1 import DAGOperation

    with _account(graph, f"run task graph {graph.options.name}"):
        DAGOperation(schema or tasks_schema(session, graph)).run(graph.options.name)


@dataclass(frozen=True)
class GraphRun:
    """A running or scheduled graph run (CURRENT_TASK_GRAPHS)."""

    run_id: int
    state: str
    scheduled_time: Any
    first_error: str | None


@dataclass(frozen=True)
class TaskRunRecord:
    """One task run of the last days (TASK_HISTORY)."""

    run_group_id: str
    task: str
    state: str
    scheduled_time: Any
    completed_time: Any
    return_value: str | None
    error: str | None


@dataclass(frozen=True)
class GraphStatus:
    """Current and recent runs of the graph."""

    current: tuple[GraphRun, ...]
    """Runs executing now or scheduled in the next 8 days."""
    history: tuple[TaskRunRecord, ...]
    """Task runs of the last ``HISTORY_DAYS`` days, newest first."""


def graph_status(graph: TaskGraph, *, session: Any, schema: Any = None) -> GraphStatus:
    """The graph's current runs (snowflake.core) and its task history (Information Schema).

    Raises:
        ConfigError: if the graph is not deployed.
    """
    from snowflake.core.task.dagv1 import DAGOperation

    with _account(graph, f"report on task graph {graph.options.name}"):
        schema = schema or tasks_schema(session, graph)
        root_id = str(schema.tasks[graph.options.name].fetch().id)
        if not _TASK_ID.match(root_id):
            raise ConfigError(f"Snowflake returned an unexpected root task id {root_id!r}.")
        current = DAGOperation(schema).get_current_dag_runs(graph.options.name)
        rows = session.sql(
            "SELECT GRAPH_RUN_GROUP_ID, NAME, STATE, SCHEDULED_TIME, COMPLETED_TIME, RETURN_VALUE, "
            f"ERROR_MESSAGE FROM TABLE({graph.database}.INFORMATION_SCHEMA.TASK_HISTORY("
            f"ROOT_TASK_ID => '{root_id}', "
            f"SCHEDULED_TIME_RANGE_START => DATEADD('day', -{HISTORY_DAYS}, CURRENT_TIMESTAMP()), "
            "RESULT_LIMIT => 1000)) ORDER BY SCHEDULED_TIME DESC, NAME"
        ).collect()
    return GraphStatus(
        current=tuple(
            GraphRun(
                run_id=run.run_id,
                state=run.state,
                scheduled_time=run.scheduled_time,
                first_error=(
                    f"{run.first_error_task_name}: {run.first_error_message}"
                    if run.first_error_task_name
                    else None
                ),
            )
            for run in current
        ),
        history=tuple(
            TaskRunRecord(str(row[0]), row[1], row[2], row[3], row[4], row[5], row[6])
            for row in rows
        ),
    )


def tasks_schema(session: Any, graph: TaskGraph) -> Any:
    """snowflake.core's ``SchemaResource`` of the graph's database and schema."""
    from snowflake.core import Root

    return Root(session).databases[graph.database].schemas[graph.schema]


@contextmanager
def _account(graph: TaskGraph, action: str) -> Iterator[None]:
    """Turn Snowflake's refusals into user errors: a missing graph names the fix."""
    from snowflake.connector.errors import Error
    from snowflake.core.exceptions import APIError, NotFoundError
    from snowflake.snowpark.exceptions import SnowparkClientException

    try:
        yield
    except NotFoundError as exc:
        raise ConfigError(
            f"Task graph {graph.qualified(graph.options.name)} is not deployed (or not visible "
            "to this role); run `ccflows snowflake deploy` first."
        ) from exc
    except (APIError, Error, SnowparkClientException) as exc:
        raise ConfigError(f"Snowflake refused to {action}: {exc}") from exc
