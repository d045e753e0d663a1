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
    def __init__(self, value: str) -> None:
        self.value = value

    def collect(self) -> list[Row]:
        return [Row(**{PROCEDURE: self.value})]


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
        answer = run_stage(procedure, stage, request)
        traffic.transfers.append(Transfer(query, 1, 1))
        return _Answer(answer)

    worker.sql = routed
    return calls
