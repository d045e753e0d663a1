"""Which task failures are retried: only those a retry can cure.

A busy registry, a dropped connection and the Snowflake connector's operational
errors go away by themselves; bad data, a bad setting, a missing file, a denied
permission and above all a timeout do not. A timed-out task that was retried would
swallow the flow's own timeout and let a hung cycle end Completed.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.flow_engine import FlowRunTimeoutError
from prefect.task_engine import TaskRunTimeoutError

from flows.errors import ChampionChallengerError, RegistryBusyError

IO_RETRIES = 3
"""Retries of a read, evaluation or scoring task after a transient failure."""
IO_RETRY_DELAYS = [2, 10, 30]
"""Backoff between those retries, in seconds."""
_SNOWFLAKE_TRANSIENT = frozenset(
    {
        "OperationalError",
        "InterfaceError",
        "ServiceUnavailableError",
        "GatewayTimeoutError",
        "BadGatewayError",
        "RequestTimeoutError",
        "OtherHTTPRetryableError",
    }
)
"""The Snowflake connector's errors that a retry can cure (its ``errors`` module)."""
_NEVER_RETRIED = (
    TaskRunTimeoutError,
    FlowRunTimeoutError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
"""OS errors that a retry cannot cure; Prefect's timeouts are TimeoutErrors, and final."""


def is_transient(error: BaseException) -> bool:
    """Whether a retry can cure ``error``.

    A busy registry, a dropped connection or a network timeout, and the Snowflake
    connector's operational errors are worth retrying. Bad data, a bad setting or
    policy parameter, a missing file, a denied permission and a Prefect task or flow
    timeout fail the same way every time, so they fail at once: a timed-out task
    retried would let the flow's own timeout pass unnoticed.
    """
    if isinstance(error, RegistryBusyError):
        return True
    if isinstance(error, (ChampionChallengerError, *_NEVER_RETRIED)):
        return False
    if type(error).__module__.startswith("snowflake."):
        return any(cls.__name__ in _SNOWFLAKE_TRANSIENT for cls in type(error).__mro__)
    return isinstance(error, OSError)  # a dropped connection, a network timeout, ...


def retry_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` of the I/O tasks: retry only :func:`is_transient` failures."""
    return is_transient(state.result(raise_on_failure=False))


IO_TASK_OPTIONS: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": IO_RETRIES,
    "retry_delay_seconds": IO_RETRY_DELAYS,
    "retry_condition_fn": retry_transient,
}
"""Options shared by the tasks that read or score: retried with backoff, never cached."""
