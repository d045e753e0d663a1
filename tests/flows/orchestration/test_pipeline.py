"""The flows' operational rules: what is retried, what never is, and nothing cached."""

from __future__ import annotations

import pytest
from prefect.cache_policies import NO_CACHE
from prefect.flow_engine import FlowRunTimeoutError
from prefect.states import Failed
from prefect.task_engine import TaskRunTimeoutError

from ccpolicy import PolicyParameterError
from flows.errors import DataValidationError, EmptyWindowError, RegistryBusyError
from flows.orchestration import pipeline, retries, score_flow

SnowflakeOperationalError = type(
    "OperationalError", (Exception,), {"__module__": "snowflake.connector.errors"}
)
SnowflakeProgrammingError = type(
    "ProgrammingError", (Exception,), {"__module__": "snowflake.connector.errors"}
)


class TestTransientFailures:
    @pytest.mark.parametrize(
        "error",
        [
            RegistryBusyError("registry.sqlite stayed locked"),
            ConnectionResetError("peer reset"),
            TimeoutError("read timed out"),
            SnowflakeOperationalError("250003: could not connect"),
        ],
    )
    def test_io_failures_are_retried(self, error):
        assert retries.is_transient(error)

    @pytest.mark.parametrize(
        "error",
        [
            DataValidationError("Column 'credit_score' in hold-out contains NaN values"),
            EmptyWindowError("hold-out has no rows"),
            PolicyParameterError("unexpected parameter 'bogus'"),
            KeyError("bug"),
            SnowflakeProgrammingError("001003: SQL compilation error"),
        ],
    )
    def test_bad_input_and_bugs_fail_at_once(self, error):
        assert not retries.is_transient(error)

    @pytest.mark.parametrize(
        "error",
        [
            TaskRunTimeoutError("Task run exceeded timeout of 3600 second(s)"),
            FlowRunTimeoutError("Flow run exceeded timeout of 10800 second(s)"),
            FileNotFoundError("week-00019.parquet"),
            PermissionError("registry.sqlite"),
        ],
    )
    def test_timeouts_and_missing_or_forbidden_files_are_final(self, error):
        assert isinstance(error, OSError), "all of these would pass a plain OSError check"
        assert not retries.is_transient(error)

    def test_the_retry_condition_reads_the_error_from_the_failed_state(self):
        assert retries.retry_transient(None, None, Failed(data=OSError("disk")))
        assert not retries.retry_transient(None, None, Failed(data=DataValidationError("NaN")))


TASKS = [
    value
    for module in (pipeline, score_flow)
    for value in vars(module).values()
    if type(value).__name__ == "Task" and value.fn.__module__ == module.__name__
]


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_every_task_has_a_timeout_and_caches_nothing(task):
    assert task.timeout_seconds
    assert task.cache_policy is NO_CACHE


@pytest.mark.parametrize("name", ["retrain", "bootstrap-champion", "decide", "check-policy"])
def test_training_promotion_and_the_policy_check_are_never_retried(name):
    [task] = [task for task in TASKS if task.name == name]
    assert task.retries == 0


@pytest.mark.parametrize(
    "name",
    [
        "plan",
        "record-end",
        "newest-week",
        "evaluate",
        "score-live",
        "list-versions",
        "reconcile-ended-runs",
    ],
)
def test_reads_are_retried_with_backoff_only_when_transient(name):
    named = [task for task in TASKS if task.name == name]  # the weekly and the bootstrap plan
    assert named
    for task in named:
        assert task.retries == retries.IO_RETRIES
        assert task.retry_delay_seconds == retries.IO_RETRY_DELAYS
        assert task.retry_condition_fn is retries.retry_transient
