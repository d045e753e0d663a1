"""A run's start and its ends in the ledger: one end per attempt, whoever records it first."""

from __future__ import annotations

import threading

from flows.backends import Backend
from flows.backends.local.registry import LocalRegistry
from flows.cycle import steps
from flows.package_identity import package_version
from flows.records import LedgerEntry, Outcome, recording_for

MODEL = "CREDIT_APPROVAL"


def _backend(home) -> Backend:
    return Backend(source=None, registry=LocalRegistry(home, MODEL))  # no data is read


class _SlowLookingRegistry(LocalRegistry):
    """A registry whose reads of the ledger pause until told to go on: a slow end hook."""

    def __init__(self, *args, looked: threading.Event, go_on: threading.Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.looked, self.go_on = looked, go_on

    def ledger(self, **kwargs) -> list[LedgerEntry]:
        entries = super().ledger(**kwargs)
        self.looked.set()
        assert self.go_on.wait(timeout=60)
        return entries


def test_a_slow_hook_racing_the_next_cycle_leaves_one_end(tmp_path):
    home = tmp_path / "home"
    steps.record_start(_backend(home), run_id="r1", run_count=1, what="Cycle")
    looked, go_on = threading.Event(), threading.Event()
    slow = Backend(
        source=None, registry=_SlowLookingRegistry(home, MODEL, looked=looked, go_on=go_on)
    )
    recorded_by_hook: list[LedgerEntry | None] = []
    hook = threading.Thread(
        target=lambda: recorded_by_hook.append(
            steps.record_end(slow, run_id="r1", run_count=1, error="The run ended Cancelled: x")
        )
    )
    hook.start()
    assert looked.wait(timeout=60), "the hook never read the ledger"
    # The hook has looked and found nothing; the next cycle records the end meanwhile.
    late = steps.record_end(_backend(home), run_id="r1", run_count=1, error="recorded late")
    go_on.set()
    hook.join(timeout=60)

    assert late is not None and recorded_by_hook == [None]
    ends = [e for e in _backend(home).registry.ledger() if e.run_id == "r1"]
    assert [(e.outcome, e.run_count) for e in ends] == [(Outcome.FAILED, 1)]
    assert "recorded late" in ends[0].reason


def test_a_retried_run_has_one_end_per_attempt_and_the_graph_finalizer_reads_the_last(tmp_path):
    backend = _backend(tmp_path / "home")
    for attempt in (1, 2):
        steps.record_start(backend, run_id="r1", run_count=attempt, what="Cycle")
        assert steps.record_end(backend, run_id="r1", run_count=attempt, error="boom") is not None
        assert steps.record_end(backend, run_id="r1", run_count=attempt, error="again") is None

    assert [e.run_count for e in steps.run_entries(backend, "r1")] == [1, 2]
    assert steps.unended_starts(backend, lookback=10) == []
    assert "attempt 2" in backend.registry.ledger(started=True)[-1].reason


def test_unended_starts_are_the_attempts_that_started_here_without_an_end(tmp_path):
    backend = _backend(tmp_path / "home")
    steps.record_start(backend, run_id="ended", run_count=1, what="Cycle")
    steps.record_end(backend, run_id="ended", run_count=1, error="boom")
    steps.record_start(backend, run_id="open", run_count=1, what="Rollback")
    steps.record_end(backend, run_id="elsewhere", run_count=1, error="never started here")

    assert [s.run_id for s in steps.unended_starts(backend, lookback=10)] == ["open"]


def test_entries_of_the_declared_run_carry_its_attempt_and_versions(tmp_path):
    backend = _backend(tmp_path / "home")
    with recording_for("r1", run_count=2, deployment_version="0.1.0+gabc"):
        own = steps.record_end(backend, run_id="r1", error="boom")
        other = steps.record_end(backend, run_id="r0", run_count=1, error="recorded late")

    assert (own.run_count, own.deployment_version) == (2, "0.1.0+gabc")
    assert (other.run_count, other.deployment_version) == (1, None)
    assert own.package_version == other.package_version == package_version() is not None
