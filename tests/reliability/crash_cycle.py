"""A weekly cycle that touches every crash point, run in a process that may be killed.

In order: store a new week (when asked), retrain and log a challenger, evaluate,
decide (promote or keep), roll back, then a dry run that only appends to the
ledger. Between them these reach every point of :data:`flows.backends.local.durable.CRASH_POINTS`,
so setting ``CC_CRASH_AT`` to any one of them kills the process at that point.
"""

from __future__ import annotations

import os
from pathlib import Path

import ccpolicy
from flows.backends.local.durable import CRASH_ENV
from flows.cycle import stages, steps
from flows.names import CHALLENGER
from tests.reliability.helpers import GENERATOR, open_home


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
    """:func:`run_cycle` in a process that kills itself at ``point``."""
    os.environ[CRASH_ENV] = point
    run_cycle(Path(home), new_weeks=new_weeks)
