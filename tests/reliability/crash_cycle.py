"""A weekly cycle that passes every checkpoint, run in a process that may be killed.

In order: store a new week (when asked), retrain and log a challenger, evaluate,
decide (promote or keep), roll back, then a dry run that only appends to the
ledger. Between them these pass every one of :data:`CRASH_POINTS`, the checkpoints
of :mod:`flows.backends.local.durable`, so a hook that kills the process at one of
them (:func:`run_crashing`) crashes the cycle exactly there.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import ccpolicy
from flows.backends.local import durable
from flows.cycle import stages, steps
from flows.names import CHALLENGER
from tests.reliability.helpers import GENERATOR, open_home

CRASH_POINTS = (
    "file-temporary-written",
    "file-in-place",
    "periods-staged",
    "version-uncommitted",
    "version-committed",
    "challenger-uncommitted",
    "switch-uncommitted",
    "switch-committed",
    "ledger-uncommitted",
)
"""Every checkpoint: a file write, a store's period files written but not yet published,
then each registry transaction before and after COMMIT."""
FILE_POINTS = ("file-temporary-written", "file-in-place")
"""The checkpoints of a file write (a week's data, or an artifact)."""


def run_cycle(home: Path, *, new_weeks: int) -> None:
    """The sequence described above, on ``home``."""
    policy = ccpolicy.load_policy("auc_greater")
    with open_home(home) as (backend, settings):
        if new_weeks:
            steps.generate_data(backend, GENERATOR, append_weeks=new_weeks)
        stages.weekly_cycle(backend, settings, policy, actor="crash-test")
        registry = backend.registry
        target = registry.previous_champion() or registry.version_by_alias(CHALLENGER)
        steps.rollback(backend, to_version=target, reason="crash test", actor="crash-test")
        stages.weekly_cycle(backend, settings, policy, dry_run=True, actor="crash-test")


def run_crashing(home: str, new_weeks: int, point: str) -> None:
    """:func:`run_cycle` in a process that kills itself (SIGKILL, no cleanup) at ``point``."""

    def kill_at(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    durable.set_checkpoint_hook(kill_at)
    run_cycle(Path(home), new_weeks=new_weeks)


def checkpoints_passed(home: Path, *, new_weeks: int) -> list[str]:
    """The checkpoints :func:`run_cycle` passes on ``home``, in order, with nothing killed."""
    passed: list[str] = []
    previous = durable.set_checkpoint_hook(passed.append)
    try:
        run_cycle(home, new_weeks=new_weeks)
    finally:
        durable.set_checkpoint_hook(previous)
    return passed
