"""``ccflows snowflake``: the task graph equivalent to prefect.yaml's weekly deployment.

``emit`` writes the reviewable SQL script (fast: no snowflake, prefect or
scikit-learn import); ``deploy`` creates the graph through snowflake.core;
``run`` starts a graph run now (``--local`` rehearses it on the embedded backend);
``status`` shows current and recent graph runs; ``setup`` creates the registry's
tables and tags (and upgrades the previous release's in place), so that a read-only
role can use ``status``, ``history`` and ``score`` from the start; ``repair`` shows
what would bring a registry back in line with its ledger, and does it with ``--yes``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from flows.cli._console import get_console, print_json
from flows.cli._render import Column, human, print_table

if TYPE_CHECKING:
    from deployments.snowflake_graph import TaskGraph
    from flows.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``snowflake setup|repair|emit|deploy|run|status``."""
    group = subparsers.add_parser(
        "snowflake", help="the Snowflake task graph equivalent to the weekly deployment"
    )
    group.set_defaults(handler=lambda args: _help(group))
    commands = group.add_subparsers(dest="snowflake_command", metavar="COMMAND")

    setup = commands.add_parser(
        "setup",
        help="create the ledger, lock and row-hash tables and the two model tags, or upgrade "
        "the previous release's in place, and (compute = warehouse) ship the code and "
        "create the stage procedure",
    )
    _add_settings_options(setup)
    _add_connection_option(setup)
    _add_package_options(setup)
    setup.set_defaults(handler=setup_command)

    repair = commands.add_parser(
        "repair",
        help="show how the registry's pointers and pending ledger rows would be brought in "
        "line with the ledger; act only with --yes",
    )
    _add_settings_options(repair)
    _add_connection_option(repair)
    repair.add_argument("--yes", action="store_true", help="do it (default: only show the plan)")
    repair.set_defaults(handler=repair_command)

    emit = commands.add_parser("emit", help="write the graph as a reviewable SQL script")
    _add_graph_options(emit)
    emit.add_argument("--out", metavar="FILE", help="write the script here (default: stdout)")
    emit.add_argument(
        "--archive",
        metavar="DIR",
        help="build the code archive into DIR (default with --out: the script's folder); "
        "the script's PUT uploads it from there",
    )
    emit.set_defaults(handler=emit_command)

    deploy = commands.add_parser("deploy", help="create or replace the graph in the account")
    _add_graph_options(deploy)
    _add_connection_option(deploy)
    _add_package_check_option(deploy)
    deploy.set_defaults(handler=deploy_command)

    run = commands.add_parser("run", help="start one graph run now")
    _add_graph_options(run)
    _add_connection_option(run)
    run.add_argument(
        "--local",
        action="store_true",
        help="rehearse the graph's steps on the embedded backend (no account needed)",
    )
    run.set_defaults(handler=graph_run_command)

    status = commands.add_parser("status", help="current and recent graph runs")
    _add_graph_options(status)
    _add_connection_option(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=status_command)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _add_graph_options(parser: argparse.ArgumentParser) -> None:
    from deployments import snowflake_graph as defaults
    from deployments.snowflake_graph import DAG_NAME, WAREHOUSE_SIZES

    source = parser.add_argument_group("source")
    source.add_argument(
        "--prefect-yaml",
        help="the project's prefect.yaml (default: ./prefect.yaml, else this checkout's)",
    )
    source.add_argument(
        "--deployment", default="weekly", help="deployment to mirror (default: weekly)"
    )
    _add_settings_options(source)
    graph = parser.add_argument_group("graph")
    graph.add_argument(
        "--name", default=DAG_NAME, help=f"graph and root task name (default: {DAG_NAME})"
    )
    compute = graph.add_mutually_exclusive_group()
    compute.add_argument(
        "--warehouse",
        help="warehouse of every task (default: [snowflake] warehouse of the settings)",
    )
    compute.add_argument(
        "--serverless", action="store_true", help="serverless tasks, even if a warehouse is set"
    )
    graph.add_argument(
        "--serverless-size",
        choices=WAREHOUSE_SIZES,
        default=defaults.DEFAULT_SERVERLESS_SIZE,
        help=f"initial size of serverless step tasks (default: {defaults.DEFAULT_SERVERLESS_SIZE})",
    )
    graph.add_argument(
        "--retries",
        type=int,
        default=defaults.DEFAULT_RETRY_ATTEMPTS,
        help=f"automatic retries of a failed run (default: {defaults.DEFAULT_RETRY_ATTEMPTS})",
    )
    graph.add_argument(
        "--timeout-minutes",
        type=int,
        default=defaults.DEFAULT_TIMEOUT_MINUTES,
        help=f"timeout of each task (default: {defaults.DEFAULT_TIMEOUT_MINUTES})",
    )
    graph.add_argument(
        "--suspend-after",
        type=int,
        default=defaults.DEFAULT_SUSPEND_AFTER_FAILURES,
        metavar="N",
        help=f"suspend after N failed runs in a row (default: {defaults.DEFAULT_SUSPEND_AFTER_FAILURES})",
    )
    _add_package_pin_option(graph)


def _add_package_pin_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME==VERSION",
        help="pin another version of a procedure package (repeatable)",
    )


def _add_package_check_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-package-check",
        action="store_true",
        help="skip checking the pinned packages against INFORMATION_SCHEMA.PACKAGES",
    )


def _add_package_options(parser: argparse.ArgumentParser) -> None:
    _add_package_pin_option(parser)
    _add_package_check_option(parser)


def _pins(args: argparse.Namespace) -> tuple[str, ...]:
    """The procedure's package pins: the defaults, with ``--package`` replacing some."""
    from deployments.snowflake_graph import GraphOptions

    return GraphOptions().with_packages(args.package).packages


def _add_settings_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--home",
        help="home folder holding config.toml (default: $CC_HOME or ~/.champion-challenger)",
    )
    parser.add_argument("--config", help="TOML settings file (default: <home>/config.toml)")


def _add_connection_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connection",
        metavar="NAME",
        help="connections.toml entry (default: [snowflake] connection_name, else the default)",
    )


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from --home/--config, with --connection applied."""
    from flows.config import load_settings

    settings = load_settings(home=args.home, config=args.config)
    if getattr(args, "connection", None):
        snowflake = dataclasses.replace(settings.snowflake, connection_name=args.connection)
        settings = settings.with_overrides(snowflake=snowflake)
    return settings


def _graph(args: argparse.Namespace, settings: Settings | None = None) -> TaskGraph:
    """The graph the options describe, its policy checked."""
    from deployments.prefect_deploy import PREFECT_FILE, find_project_dir
    from deployments.snowflake_graph import GraphOptions, load_graph

    settings = settings or _settings(args)
    prefect_yaml = args.prefect_yaml or find_project_dir() / PREFECT_FILE
    options = GraphOptions(
        name=args.name,
        warehouse=None if args.serverless else args.warehouse or settings.snowflake.warehouse,
        serverless_size=args.serverless_size,
        retry_attempts=args.retries,
        timeout_minutes=args.timeout_minutes,
        suspend_after_failures=args.suspend_after,
    ).with_packages(args.package)
    return load_graph(prefect_yaml, settings=settings, deployment=args.deployment, options=options)


def setup_command(args: argparse.Namespace) -> int:
    """Create the Snowflake backend's tables and tags, or upgrade them; print what changed.

    In warehouse mode (``[snowflake] compute``, the default) it also ships this
    release's code and creates the stage procedure the flow calls.
    """
    from deployments.code_archive import build_archive
    from deployments.snowflake_deploy import install_stage_procedure
    from flows.backends import SNOWFLAKE, open_backend
    from flows.config import WAREHOUSE_COMPUTE
    from flows.cycle import steps

    settings = _settings(args).with_overrides(backend=SNOWFLAKE)
    with open_backend(settings) as backend:
        statements = steps.setup(backend)
        stages = backend.warehouse
        if settings.snowflake.compute == WAREHOUSE_COMPUTE and stages is not None:
            with tempfile.TemporaryDirectory() as folder:
                statements += install_stage_procedure(
                    stages.session,  # type: ignore[attr-defined]
                    settings.snowflake,
                    archive=build_archive(folder),
                    packages=_pins(args),
                    package_check=not args.no_package_check,
                )
    get_console().print(
        "\n".join(
            [
                f"Set up {settings.snowflake.database}.{settings.snowflake.schema} for "
                f"{settings.model_name}:",
                *(f"  {change}" for change in getattr(statements, "changes", [])),
                "Statements run:",
                *(f"  {statement};" for statement in statements),
            ]
        ),
        highlight=False,
        soft_wrap=True,
    )
    return 0


def repair_command(args: argparse.Namespace) -> int:
    """Show the repair plan; with --yes, settle and move the pointers, and say what was done."""
    from flows.backends import SNOWFLAKE, open_backend
    from flows.cycle import steps

    settings = _settings(args).with_overrides(backend=SNOWFLAKE)
    with open_backend(settings, mode="write" if args.yes else "read") as backend:
        plan = steps.repair(backend, act=args.yes)
    lines = [f"Pointers {'before' if args.yes else 'now'}: {plan.current.describe()}."]
    if not plan.needed:
        lines.append("The registry agrees with its ledger; nothing to repair.")
    lines += [f"  settle {line}" for line in plan.settle]
    lines += [f"  {statement};" for statement in plan.statements]
    lines += [f"  note: {note}" for note in plan.notes]
    if args.yes:
        lines += [f"  refused {line}" for line in plan.refused]
        lines.append("Done." if not plan.refused else "Done, except what was refused.")
    elif plan.needed:
        lines.append("Nothing was changed; run again with --yes to do it.")
    get_console().print("\n".join(lines), highlight=False, soft_wrap=True)
    return 1 if args.yes and plan.refused else 0


def emit_command(args: argparse.Namespace) -> int:
    """Write the SQL script (and the code archive with --archive)."""
    from deployments.code_archive import archive_name, build_archive
    from deployments.snowflake_sql import render_script

    graph = _graph(args)
    folder = args.archive or (Path(args.out).resolve().parent if args.out else None)
    if folder is None:  # a script on stdout: no file is written, the header says how
        archive = Path.cwd().resolve() / archive_name()
        sys.stdout.write(render_script(graph, archive=archive, built=False).text())
        return 0
    archive = build_archive(folder).resolve()
    script = render_script(graph, archive=archive).text()
    if not args.out:
        sys.stdout.write(script)
        return 0
    Path(args.out).write_text(script)
    _summary(graph, f"Wrote {args.out}")
    get_console().print(f"Code archive: {archive}")
    return 0


def deploy_command(args: argparse.Namespace) -> int:
    """Ship the code, replace the procedure and recreate the graph, resumed."""
    from deployments.code_archive import build_archive
    from deployments.snowflake_deploy import deploy_graph
    from flows.backends.snowflake.session import open_session

    graph = _graph(args)
    with (
        tempfile.TemporaryDirectory() as folder,
        open_session(graph.config.settings.snowflake) as opened,
    ):
        report = deploy_graph(
            graph,
            session=opened.session,
            archive=build_archive(folder),
            package_check=not args.no_package_check,
        )
    _summary(
        graph, f"Deployed {report.tasks[0]} (code on @{report.stage}, procedure {report.procedure})"
    )
    return 0


def graph_run_command(args: argparse.Namespace) -> int:
    """Start a graph run in the account, or rehearse it with --local."""
    if args.local:
        return _rehearse(args)
    from deployments.snowflake_deploy import run_graph
    from flows.backends.snowflake.session import open_session

    graph = _graph(args)
    with open_session(graph.config.settings.snowflake) as opened:
        run_graph(graph, session=opened.session)
    get_console().print(
        f"Started a run of {graph.qualified(graph.options.name)}; "
        "follow it with `ccflows snowflake status`."
    )
    return 0


def _rehearse(args: argparse.Namespace) -> int:
    from deployments.local_graph import run_graph_locally

    settings = _settings(args)
    result = run_graph_locally(_graph(args, settings), home=settings.home)
    styles = {"SUCCEEDED": "green", "FAILED": "red"}
    print_table(
        get_console(),
        f"Rehearsal {result.run_id} on the embedded backend",
        [
            Column("task"),
            Column("state"),
            Column("returned", fold=True),
            Column("error", fold=True),
        ],
        [
            [
                t.task,
                (t.state, styles.get(t.state, "yellow")),
                human(t.return_value),
                human(t.error),
            ]
            for t in result.tasks
        ],
    )
    return 0 if result.succeeded else 1


def status_command(args: argparse.Namespace) -> int:
    """Show the graph's current runs and the task runs of the last days."""
    from deployments.snowflake_deploy import HISTORY_DAYS, graph_status
    from flows.backends.snowflake.session import open_session

    graph = _graph(args)
    with open_session(graph.config.settings.snowflake) as opened:
        status = graph_status(graph, session=opened.session)
    if args.json:
        print_json(dataclasses.asdict(status))
        return 0
    console = get_console()
    print_table(
        console,
        f"{graph.options.name}: current and next runs",
        [Column("run"), Column("state"), Column("scheduled"), Column("first error", fold=True)],
        [
            [str(run.run_id), run.state, str(run.scheduled_time), human(run.first_error)]
            for run in status.current
        ],
    )
    print_table(
        console,
        f"Task runs of the last {HISTORY_DAYS} days",
        [
            Column("graph run"),
            Column("task"),
            Column("state"),
            Column("scheduled", drop=2),
            Column("returned", fold=True, drop=1),
            Column("error", fold=True),
        ],
        [
            [
                record.run_group_id,
                record.task,
                record.state,
                str(record.scheduled_time),
                human(record.return_value),
                human(record.error),
            ]
            for record in status.history
        ],
    )
    return 0


def _summary(graph: TaskGraph, headline: str) -> None:
    """What the graph is: schedule, compute and its tasks."""
    schedule = graph.deployment.schedule
    compute = (
        f"warehouse {graph.options.warehouse}"
        if graph.options.warehouse
        else f"serverless ({graph.options.serverless_size})"
    )
    lines = [
        headline,
        f"  schedule: {schedule.expr} {schedule.timezone}; {compute}; "
        f"{graph.options.retry_attempts} retries; suspended after "
        f"{graph.options.suspend_after_failures} failed runs",
        f"  policy: {graph.config.parameters.policy} {dict(graph.config.parameters.policy_params)}",
    ]
    lines += [f"  task: {task.name}" for task in graph.tasks()]
    get_console().print("\n".join(lines), highlight=False)
