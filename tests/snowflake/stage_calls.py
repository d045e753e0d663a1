"""The stage procedure, run in-process: the worker's ``CALL`` handed to the handler.

fakesnow cannot create or call a Python procedure, so a test routes the worker
session's ``CALL <db>.<schema>.CHAMPION_CHALLENGER_STAGE(?, ?)`` to
:func:`flows.backends.snowflake.stage_procedure.run_stage`, given a second session on
the same warehouse: the procedure's own, as Snowflake would give it. The worker's
meter (:mod:`tests.snowflake.traffic`) records the CALL and its one-cell answer, and
nothing of what the procedure reads, which is what crosses to a worker.
"""

from __future__ import annotations

import re
from typing import Any

from snowflake.snowpark import Row

from flows.backends.snowflake.stage_procedure import PROCEDURE, run_stage
from tests.snowflake.traffic import Transfer, watch

_CALL = re.compile(rf"^\s*CALL\s+[\w$.\"]*\b{PROCEDURE}\s*\(\s*\?\s*,\s*\?\s*\)\s*$", re.I)


class _Answer:
    """The CALL's result, as Snowpark's ``AsyncJob`` gives it: the stage CALL runs asynchronously."""

    def __init__(self, value: str) -> None:
        self.value = value

    def collect_nowait(self) -> _Answer:
        return self

    def result(self) -> list[Row]:
        return [Row(**{PROCEDURE: self.value})]

    def collect(self) -> list[Row]:
        raise AssertionError(
            "the stage CALL ran synchronously: the connector would cancel it after its "
            "network timeout, whatever the stage timeout"
        )


def route_stage_calls(worker: Any, procedure: Any) -> list[tuple[str, str]]:
    """Answer ``worker``'s CALLs of the stage procedure with the handler on ``procedure``.

    Returns:
        The ``(stage, request)`` of every call, in order (the list fills as calls come).
    """
    calls: list[tuple[str, str]] = []
    sql = worker.sql
    traffic = watch(worker)

    def routed(query: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if not _CALL.match(query):
            return sql(query, params, *args, **kwargs)
        stage, request = params
        calls.append((stage, request))
        traffic.transfers.append(Transfer(query, 1, 1))  # sent, and one cell answers it
        return _Answer(run_stage(procedure, stage, request))

    worker.sql = routed
    return calls
