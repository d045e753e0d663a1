"""The bodies of the processes that race on one home in ``test_concurrency``.

Kept apart from the test modules so that the processes, forked from a server that
imported this module once, carry no pytest and start in a few milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccpolicy
from flows.backends import Backend
from flows.backends.local.registry import LocalRegistry
from flows.backends.local.source import LocalPeriodStore
from flows.cycle import stages, steps
from flows.cycle.evaluation import Evaluation
from flows.data.periods import PeriodRange
from flows.errors import VersionExistsError
from flows.names import DEFAULT_MODEL_NAME
from flows.records import ModelVersion
from tests.reliability.helpers import open_home

VERSIONS = ("V0", "V1", "V2", "V3")
"""The versions the contenders switch between."""
TIMEOUT_SECONDS = 120


def record(name: str) -> ModelVersion:
    """A minimal version record."""
    return ModelVersion(model_name=DEFAULT_MODEL_NAME, name=name, created_at="", train_weeks=(0, 1))


def action(index: int, round_: int) -> str:
    """What process ``index`` does in round ``round_``: all promote, all roll back, or a mix."""
    if round_ % 3 == 0:
        return "promote"
    if round_ % 3 == 1:
        return "rollback"
    return "promote" if index % 2 else "rollback"


def contend(
    home: str, index: int, barrier: Any, failures: Any, rounds: int, evidence: dict[str, Any]
) -> None:
    """Each round: observe the live version, wait for everybody, then switch away from it.

    Promotions go through :func:`flows.cycle.steps.decide` with evidence on
    which the policy promotes; rollbacks through :func:`flows.cycle.steps.rollback`
    against the observed version. Any exception is reported to the parent.
    """
    try:
        registry = LocalRegistry(Path(home), DEFAULT_MODEL_NAME)
        backend = Backend(source=LocalPeriodStore(Path(home) / "data"), registry=registry)
        policy = ccpolicy.load_policy("auc_greater")
        for round_ in range(rounds):
            barrier.wait(TIMEOUT_SECONDS)
            observed = registry.live_version()
            barrier.wait(TIMEOUT_SECONDS)  # nobody switches before everybody has observed
            shift = (index + round_) % len(VERSIONS)
            target = next(v for v in VERSIONS[shift:] + VERSIONS[:shift] if v != observed)
            run_id = f"round-{round_}/process-{index}"
            if action(index, round_) == "rollback":
                steps.rollback(backend, to_version=target, if_live=observed, run_id=run_id,
                         actor=f"operator-{index}", reason="concurrency test")  # fmt: skip
                continue
            evaluation = Evaluation(
                champion=registry.get_version(observed),
                challenger=registry.get_version(target),
                holdout=PeriodRange(16, 19),
                holdout_fingerprint="f" * 64,
                data_period=round_,
                **evidence,
            )
            steps.decide(backend, evaluation, policy, actor=f"weekly-{index}", run_id=run_id)
    except BaseException as exc:
        failures.put(f"process {index}: {type(exc).__name__}: {exc}")
        barrier.abort()


def log_same_version(home: str, index: int, barrier: Any, results: Any) -> None:
    """Log version ``RACE`` with this process's own 1 MB payload, all processes at once."""
    registry = LocalRegistry(Path(home), DEFAULT_MODEL_NAME)
    payload = {"writer": index, "padding": bytes([index]) * 1_000_000}
    barrier.wait(TIMEOUT_SECONDS)
    try:
        stored = registry.log_version(payload, record("RACE"), sample_input=None)
        results.put((index, stored.sha256))
    except VersionExistsError:
        results.put((index, None))


def weekly_run(home: str, index: int, barrier: Any, results: Any) -> None:
    """One whole weekly cycle (retrain, evaluate, decide), all processes starting at once."""
    policy = ccpolicy.load_policy("auc_greater")
    with open_home(Path(home)) as (backend, settings):
        barrier.wait(TIMEOUT_SECONDS)
        try:
            report = stages.weekly_cycle(backend, settings, policy, actor=f"weekly-{index}")
            results.put((index, report.entry.outcome.value))
        except Exception as exc:
            results.put((index, f"{type(exc).__name__}: {exc}"))


def open_and_log(home: str, index: int, barrier: Any, results: Any) -> None:
    """Open a home no process has opened yet, all at once, and log a version of one's own."""
    barrier.wait(TIMEOUT_SECONDS)
    registry = LocalRegistry(Path(home), DEFAULT_MODEL_NAME)
    stored = registry.log_version({"writer": index}, record(f"V{index}"), sample_input=None)
    results.put((index, stored.name))
