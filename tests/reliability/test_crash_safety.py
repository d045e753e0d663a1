"""A process killed (SIGKILL) at any point of a weekly cycle leaves a consistent registry.

Each case forks a process that runs a whole cycle (new week, retrain, log, evaluate,
decide, roll back, dry run) and kills itself with SIGKILL at one named checkpoint of
:mod:`flows.backends.local.durable`, through the hook the product offers tests. The
home is then checked for every invariant, and the next cycle must run to the end on it.
"""

from __future__ import annotations

import multiprocessing
import signal

import pytest

from flows.backends.local.durable import write_atomically
from tests.reliability import contenders, crash_cycle
from tests.reliability.crash_cycle import CRASH_POINTS, FILE_POINTS
from tests.reliability.helpers import assert_consistent, open_home, pointers

CASES = [
    *[pytest.param(point, 1, id=f"{point}-of-a-week-file") for point in FILE_POINTS],
    *[pytest.param(point, 0, id=f"{point}-of-an-artifact") for point in FILE_POINTS],
    *[pytest.param(point, 1, id=point) for point in CRASH_POINTS if point not in FILE_POINTS],
]


def _start(target, *args) -> multiprocessing.Process:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([crash_cycle.__name__, contenders.__name__])
    process = context.Process(target=target, args=args)
    process.start()
    return process


def _kill_at(home, point: str, new_weeks: int) -> int:
    process = _start(crash_cycle.run_crashing, str(home), new_weeks, point)
    process.join(120)
    return process.exitcode


def _assert_recovers(home, new_weeks: int) -> None:
    """The home is consistent, and the next cycle runs to the end on it and leaves no debris."""
    with open_home(home) as (backend, _):
        assert_consistent(backend.registry)
    crash_cycle.run_cycle(home, new_weeks=new_weeks)
    with open_home(home) as (backend, _):
        ledger = assert_consistent(backend.registry)
        assert ledger[-1].outcome.value == "dry-run"
        leftovers = list(backend.registry.artifacts.rglob(".*.tmp"))
    assert leftovers == []


@pytest.mark.parametrize(("point", "new_weeks"), CASES)
def test_a_cycle_killed_at_any_point_leaves_a_consistent_registry_and_the_next_run_succeeds(
    home, point, new_weeks
):
    with open_home(home) as (backend, _):
        before = pointers(backend.registry)
    assert _kill_at(home, point, new_weeks) == -signal.SIGKILL  # the point was reached
    with open_home(home) as (backend, _):
        if point.endswith("-uncommitted") and point != "ledger-uncommitted":
            assert pointers(backend.registry)["live"] == before["live"]
    _assert_recovers(home, new_weeks)


@pytest.mark.parametrize("delay", [0.1, 0.4, 1.2])
def test_a_cycle_killed_after_a_sweeping_delay_leaves_a_consistent_registry(home, delay):
    """Kills at arbitrary instructions (mid-fsync, mid-page write), not only at named points."""
    process = _start(crash_cycle.run_crashing, str(home), 1, "")
    process.join(delay)
    if process.exitcode is None:
        process.kill()
        process.join(60)
    _assert_recovers(home, 1)


def test_the_cases_cover_every_checkpoint_the_cycle_passes(home):
    """A checkpoint added to the product and not killed at here fails this test."""
    assert {case.values[0] for case in CASES} == set(CRASH_POINTS)
    passed = crash_cycle.checkpoints_passed(home, new_weeks=1)
    assert set(passed) == set(CRASH_POINTS)
    # The new week's file comes first, then the manifest that publishes it.
    assert passed[:3] == ["periods-staged", *FILE_POINTS]


def test_an_exclusive_write_never_replaces_an_existing_file(tmp_path):
    target = tmp_path / "week-00001.parquet"
    write_atomically(target, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomically(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
