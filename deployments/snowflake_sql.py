"""The task graph as a reviewable SQL script: code, procedure, tasks, resumption.

Order matters and is fixed here: ship the code and replace the procedure first,
so that a package pin Snowflake does not host fails while the schedule still
runs; then suspend the root (a task graph can only be changed while its root is
suspended) and drop the child tasks no longer in the graph, as snowflake.core's
``DAGOperation.deploy`` does; create the tasks root first (they are created
suspended); resume the step tasks and the finalizer before the root, which starts
the schedule. ``ccflows snowflake deploy`` runs the same statements for the code
and procedure and lets snowflake.core create the identical tasks.

Every identifier reaching this module was validated by ``validate_identifier``;
literals are escaped here the way snowflake.core escapes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from deployments.graph_contract import PROCEDURE
from flows.backends.snowflake import stage_procedure
from flows.errors import ConfigError
from flows.identifiers import check_dollar_quotable, sql_literal

if TYPE_CHECKING:
    from pathlib import PurePath

    from deployments.snowflake_graph import TaskGraph

RUNTIME_VERSION: Final = "3.11"
"""Python of the procedure: the project's minimum, which Snowflake supports."""
HANDLER: Final = "deployments.procedures.run_step"
"""The procedure's handler, imported from the staged package archive."""


def render_task(task: Any, *, database: str, schema: str) -> str:
    """``CREATE OR REPLACE TASK`` for ``task``.

    Args:
        task: A :class:`~deployments.snowflake_graph.TaskSpec`, or a snowflake.core
            ``Task`` with a SQL definition (they share attribute names), so both
            render identically.
        database: Database of the task and its predecessors.
        schema: Schema of the task and its predecessors.

    Raises:
        TypeError: if the definition is not SQL text (a Python callable needs a session).
    """
    if not isinstance(task.definition, str):
        raise TypeError(f"Task {task.name} must have a SQL definition to be rendered offline.")

    def qualified(name: str) -> str:
        return f"{database}.{schema}.{name}"

    lines = [f"CREATE OR REPLACE TASK {qualified(task.name)}"]
    if task.warehouse:
        lines.append(f"  WAREHOUSE = {task.warehouse}")
    elif task.user_task_managed_initial_warehouse_size:
        size = sql_literal(task.user_task_managed_initial_warehouse_size)
        lines.append(f"  USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = {size}")
    if task.schedule is not None:
        cron = f"USING CRON {task.schedule.expr} {task.schedule.timezone}"
        lines.append(f"  SCHEDULE = {sql_literal(cron)}")
    if task.config:
        config = check_dollar_quotable(json.dumps(dict(task.config), sort_keys=True), what="CONFIG")
        lines.append(f"  CONFIG = $${config}$$")
    if task.allow_overlapping_execution is not None:
        lines.append(
            f"  ALLOW_OVERLAPPING_EXECUTION = {str(task.allow_overlapping_execution).upper()}"
        )
    if task.user_task_timeout_ms is not None:
        lines.append(f"  USER_TASK_TIMEOUT_MS = {int(task.user_task_timeout_ms)}")
    if task.suspend_task_after_num_failures is not None:
        failures = int(task.suspend_task_after_num_failures)
        lines.append(f"  SUSPEND_TASK_AFTER_NUM_FAILURES = {failures}")
    if task.comment:
        lines.append(f"  COMMENT = {sql_literal(task.comment)}")
    if task.finalize:
        lines.append(f"  FINALIZE = {qualified(task.finalize)}")
    if task.task_auto_retry_attempts is not None:
        lines.append(f"  TASK_AUTO_RETRY_ATTEMPTS = {int(task.task_auto_retry_attempts)}")
    if task.predecessors:
        lines.append("  AFTER " + ", ".join(qualified(p) for p in task.predecessors))
    lines.append(f"AS\n  {task.definition}")
    return "\n".join(lines)


@dataclass(frozen=True)
class GraphScript:
    """The statements that deploy a graph, in the order they must run."""

    header: str
    """Comment lines saying where the script comes from and how to apply it."""
    create_stage: str
    """The stage holding the code archive."""
    upload: str
    """PUT of the code archive, from its absolute path."""
    create_procedure: str
    """The procedure whose handler runs one step (fails on an unhosted package pin)."""
    create_stage_procedure: str
    """The procedure running one heavy stage for a flow in warehouse mode (same code, same pins)."""
    suspend_root: str
    """Stop the schedule while the graph is replaced (a no-op on the first deploy)."""
    drop_stale: str
    """Drop the root's child tasks that are no longer in the graph."""
    create_tasks: tuple[str, ...]
    """The tasks, root first, each after its predecessors, the finalizer last."""
    resume_tasks: tuple[str, ...]
    """Resume the step tasks and the finalizer, then the root."""

    def text(self) -> str:
        """The whole script: the header, then the four commented sections."""
        sections = [
            (
                "1. The code, before anything stops: the package archive on a stage, the "
                "procedure running one step, and the one running one stage for a flow in "
                "warehouse mode (an unhosted package pin fails here).",
                [
                    self.create_stage,
                    self.upload,
                    self.create_procedure,
                    self.create_stage_procedure,
                ],
            ),
            (
                "2. Stop the schedule; drop child tasks no longer in the graph.",
                [self.suspend_root, self.drop_stale],
            ),
            ("3. The tasks, root first; Snowflake creates them suspended.", self.create_tasks),
            (
                "4. Resume the step tasks and the finalizer, then the root (starts the schedule).",
                self.resume_tasks,
            ),
        ]
        parts = [self.header]
        for title, statements in sections:
            parts.append(f"-- {title}\n" + "\n\n".join(f"{s};" for s in statements))
        return "\n\n".join(parts) + "\n"


def render_script(graph: TaskGraph, *, archive: PurePath, built: bool = True) -> GraphScript:
    """The deploy statements of ``graph``, its procedure importing the archive at ``archive``.

    Args:
        graph: The task graph.
        archive: Absolute local path of the package archive (``PUT`` uploads it; its file
            name is what the procedure imports from the stage).
        built: Whether the archive is there already; if not, the header says how to build it.

    Raises:
        ConfigError: if ``archive`` is not an absolute path.
    """
    if not archive.is_absolute():
        raise ConfigError(f"The code archive path must be absolute; got {str(archive)!r}.")
    stage = graph.qualified(graph.options.stage)
    tasks = graph.tasks()
    root, steps = tasks[0], tasks[1:]
    deployment = graph.deployment
    build = (
        f"-- The PUT uploads the code archive {archive.as_posix()}, built by `ccflows snowflake emit`."
        if built
        else f"-- Build the code archive first: `ccflows snowflake emit --archive "
        f"{archive.parent.as_posix()}` writes {archive.name} there."
    )
    header = "\n".join(
        [
            f"-- Snowflake task graph {graph.options.name} of champion-challenger, derived from the",
            f"-- prefect.yaml deployment {deployment.name!r} ({deployment.entrypoint!r}): the same",
            "-- schedule, the same parameters (the root task's CONFIG), the same step code.",
            "-- Regenerate with `ccflows snowflake emit`; apply with `ccflows snowflake deploy`, or",
            "-- run this script as it is with SnowSQL or `snow sql -f`.",
            build,
        ]
    )
    return GraphScript(
        header=header,
        create_stage=(
            f"CREATE STAGE IF NOT EXISTS {stage}\n"
            f"  COMMENT = {sql_literal('champion-challenger: code of the task graph procedure')}"
        ),
        upload=(
            f"PUT {sql_literal('file://' + archive.as_posix())} @{stage}\n"
            "  AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
        ),
        create_procedure=_procedure(graph, stage=stage, archive_name=archive.name),
        create_stage_procedure=stage_procedure_sql(
            graph.qualified(stage_procedure.PROCEDURE),
            stage=stage,
            archive_name=archive.name,
            packages=graph.options.packages,
        ),
        suspend_root=f"ALTER TASK IF EXISTS {graph.qualified(root.name)} SUSPEND",
        drop_stale=_drop_stale(graph, keep=[task.name for task in tasks]),
        create_tasks=tuple(
            render_task(task, database=graph.database, schema=graph.schema) for task in tasks
        ),
        resume_tasks=tuple(
            f"ALTER TASK {graph.qualified(task.name)} RESUME" for task in (*steps, root)
        ),
    )


def _drop_stale(graph: TaskGraph, *, keep: list[str]) -> str:
    """A Snowflake Scripting block dropping the root's dependents that are not in ``keep``.

    The first deploy has no root yet, so the block looks for it before asking for its
    dependents. Names are matched exactly and dropped double-quoted.
    """
    root = graph.options.name
    schema = f"{graph.database}.{graph.schema}"
    kept = ", ".join(sql_literal(name) for name in keep)
    return "\n".join(
        [
            "EXECUTE IMMEDIATE $$",
            "DECLARE",
            "  roots INTEGER DEFAULT 0;",
            "  stale RESULTSET;",
            "BEGIN",
            f"  SHOW TASKS IN SCHEMA {schema};",
            "  SELECT COUNT(*) INTO :roots FROM TABLE(RESULT_SCAN(LAST_QUERY_ID())) "
            f'WHERE "name" = {sql_literal(root)};',
            "  IF (roots = 0) THEN",
            "    RETURN 'first deploy: no earlier graph';",
            "  END IF;",
            "  stale := (SELECT NAME FROM TABLE("
            f"{graph.database}.INFORMATION_SCHEMA.TASK_DEPENDENTS("
            f"TASK_NAME => {sql_literal(graph.qualified(root))}, RECURSIVE => TRUE)) "
            f"WHERE NAME NOT IN ({kept}));",
            "  LET stale_tasks CURSOR FOR stale;",
            "  FOR t IN stale_tasks DO",
            f"    EXECUTE IMMEDIATE 'DROP TASK IF EXISTS {schema}.\"' || "
            "REPLACE(t.NAME, '\"', '\"\"') || '\"';",
            "  END FOR;",
            "  RETURN 'dropped the child tasks no longer in the graph';",
            "END;",
            "$$",
        ]
    )


def _procedure(graph: TaskGraph, *, stage: str, archive_name: str) -> str:
    comment = "champion-challenger: runs one step of the cycle with the Prefect flow's step code"
    return _create_procedure(
        f"{graph.qualified(PROCEDURE)}(STEP VARCHAR)",
        handler=HANDLER,
        comment=comment,
        import_path=f"@{stage}/{archive_name}",
        packages=graph.options.packages,
    )


def stage_procedure_sql(
    qualified_name: str, *, stage: str, archive_name: str, packages: tuple[str, ...]
) -> str:
    """``CREATE OR REPLACE PROCEDURE <name>(STAGE VARCHAR, REQUEST VARCHAR)`` of the stage handler.

    Args:
        qualified_name: ``DATABASE.SCHEMA.CHAMPION_CHALLENGER_STAGE`` (validated parts).
        stage: The qualified stage holding the code archive.
        archive_name: The archive's file name on that stage.
        packages: ``name==version`` pins, as the step procedure's.
    """
    return _create_procedure(
        f"{qualified_name}(STAGE VARCHAR, REQUEST VARCHAR)",
        handler=stage_procedure.HANDLER,
        comment="champion-challenger: runs one heavy stage of the cycle inside Snowflake",
        import_path=f"@{stage}/{archive_name}",
        packages=packages,
    )


def _create_procedure(
    signature: str, *, handler: str, comment: str, import_path: str, packages: tuple[str, ...]
) -> str:
    return "\n".join(
        [
            f"CREATE OR REPLACE PROCEDURE {signature}",
            "  RETURNS VARCHAR",
            "  LANGUAGE PYTHON",
            f"  RUNTIME_VERSION = {sql_literal(RUNTIME_VERSION)}",
            f"  PACKAGES = ({', '.join(sql_literal(p) for p in packages)})",
            f"  IMPORTS = ({sql_literal(import_path)})",
            f"  HANDLER = {sql_literal(handler)}",
            f"  COMMENT = {sql_literal(comment)}",
            "  EXECUTE AS OWNER",
        ]
    )
