"""The operations table: every name it gives exists, and nothing runs a step it does not list."""

from __future__ import annotations

import argparse
import inspect

import pytest
from prefect.tasks import Task

from deployments.graph_contract import STEPS
from flows.cli import build_parser
from flows.cycle import steps
from flows.cycle.operations import OPERATIONS
from flows.orchestration import pipeline, score_flow

NOT_AN_OPERATION: set[str] = set()
"""Step functions that compose operations rather than being one."""
NOT_A_STEP = {"reconcile-ended-runs"}
"""Prefect tasks that run the orchestrator's own bookkeeping (flows.orchestration.run_ends)."""


def _defined_for_steps(function: object) -> bool:
    """Defined in steps, or one of the bodies steps lists as its own (reads, ingest, scoring)."""
    own = (
        steps.__name__,
        "flows.cycle.reads",
        "flows.cycle.upkeep",
        "flows.cycle.rollback",
        "flows.cycle.endings",
    )
    return function.__module__ in own or function in (
        steps.check_files,
        steps.generate_data,
        steps.ingest,
        steps.score_file,
        steps.score_to_table,
    )


def _prefect_task_names() -> set[str]:
    found = (*vars(pipeline).values(), *vars(score_flow).values())
    return {obj.name for obj in found if isinstance(obj, Task)}


def _cli_commands() -> set[str]:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(commands.choices)


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_name_of_an_operation_exists(name: str) -> None:
    operation = OPERATIONS[name]
    assert callable(getattr(steps, operation.step, None)), operation.step
    if operation.prefect_task is not None:
        assert operation.prefect_task in _prefect_task_names()
    if operation.graph_task is not None:
        assert operation.graph_task in STEPS
    if operation.cli_command is not None:
        assert operation.cli_command in _cli_commands()


def test_every_step_function_is_an_operation() -> None:
    functions = {
        name
        for name, obj in vars(steps).items()
        if inspect.isfunction(obj) and not name.startswith("_") and _defined_for_steps(obj)
    }
    listed = {operation.step for operation in OPERATIONS.values()}
    assert functions - NOT_AN_OPERATION == listed


def test_every_prefect_task_runs_a_listed_operation() -> None:
    listed = {o.prefect_task for o in OPERATIONS.values() if o.prefect_task is not None}
    assert _prefect_task_names() - NOT_A_STEP == listed


def test_the_cycles_stages_are_operations_of_the_same_names() -> None:
    from flows.cycle.stages import RECORD_END, STAGES

    for stage in (*STAGES, RECORD_END):
        assert OPERATIONS[stage].prefect_task == stage


def test_every_graph_task_runs_listed_operations() -> None:
    assert {o.graph_task for o in OPERATIONS.values() if o.graph_task is not None} == set(STEPS)
