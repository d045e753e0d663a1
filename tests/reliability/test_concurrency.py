"""Many processes promoting and rolling back at once on one home directory.

Real processes (``multiprocessing``, forked from a clean server process), not
threads: SQLite's locks, the WAL and the artifact files are exercised exactly as by
concurrent weekly runs, deployments and operators. The versions are tiny logistic
regressions logged once up front: what is under test is the registry, not training.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from flows.backends.local.registry import LocalRegistry
from flows.cycle.evaluation import classification_metrics
from flows.data.quickstart import generate_applications
from flows.data.specs import ModelSpec
from flows.names import DEFAULT_MODEL_NAME, FEATURE_COLUMNS, LABEL_COLUMN
from flows.records import LedgerEntry, Outcome
from tests.reliability import contenders
from tests.reliability.helpers import assert_consistent, open_home

N_PROCESSES = 8
N_ROUNDS = 12


def _race(target, home: Path, *extra, n_processes: int = N_PROCESSES) -> list:
    """Run ``target(home, index, barrier, queue, *extra)`` in ``n_processes`` processes at once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([contenders.__name__])
    barrier = context.Barrier(n_processes)
    queue = context.Queue()
    processes = [
        context.Process(target=target, args=(str(home), i, barrier, queue, *extra))
        for i in range(n_processes)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(contenders.TIMEOUT_SECONDS)
    assert [p.exitcode for p in processes] == [0] * n_processes
    items = []
    while not queue.empty():
        items.append(queue.get(timeout=10))
    return items


def _promoting_evidence() -> dict:
    """Hold-out labels and scores on which every policy promotes the challenger."""
    rng = np.random.default_rng(0)
    y_true = np.tile([0, 1], 100)
    champion_scores = rng.uniform(size=y_true.size)
    challenger_scores = 0.1 + 0.8 * y_true + rng.uniform(-0.05, 0.05, size=y_true.size)
    return {
        "y_true": y_true,
        "champion_scores": champion_scores,
        "challenger_scores": challenger_scores,
        "champion_metrics": classification_metrics(y_true, champion_scores),
        "challenger_metrics": classification_metrics(y_true, challenger_scores),
    }


@pytest.fixture
def registry(tmp_path: Path) -> LocalRegistry:
    """A registry with four small fitted versions logged and V0 live."""
    registry = LocalRegistry(tmp_path / "home", DEFAULT_MODEL_NAME)
    data = generate_applications(2)
    features = data[list(FEATURE_COLUMNS)]
    for i, name in enumerate(contenders.VERSIONS):
        spec = ModelSpec("sklearn.linear_model.LogisticRegression", params={"C": 0.1 * (i + 1)})
        model = spec.build().fit(features, data[LABEL_COLUMN])
        registry.log_version(model, contenders.record(name), sample_input=features.head(5))
    registry.promote_if_champion_is(
        None, "V0", LedgerEntry(outcome=Outcome.BOOTSTRAPPED, reason="first", actor="setup")
    )
    return registry


def test_concurrent_promotions_and_rollbacks_switch_once_per_observed_champion(registry):
    failures = _race(contenders.contend, registry.home, N_ROUNDS, _promoting_evidence())
    assert failures == []
    ledger = assert_consistent(registry)
    attempts = [e for e in ledger if e.run_id]
    assert len(attempts) == N_PROCESSES * N_ROUNDS  # every attempt recorded, none lost
    assert len({e.run_id for e in attempts}) == len(attempts)
    by_round: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in attempts:
        by_round[entry.run_id.partition("/")[0]].append(entry)
    assert len(by_round) == N_ROUNDS
    for round_, entries in by_round.items():
        assert len({e.champion_version for e in entries}) == 1, round_
        outcomes = Counter(e.outcome for e in entries)
        winners = [e for e in entries if e.outcome.switched_live]
        assert len(winners) == 1, (round_, outcomes)
        assert outcomes[Outcome.STALE_CHAMPION] == N_PROCESSES - 1, (round_, outcomes)
        assert winners[0].live_before == winners[0].champion_version
    kinds = Counter(e.outcome for e in attempts if e.outcome.switched_live)
    assert kinds[Outcome.PROMOTED] >= N_ROUNDS // 3 and kinds[Outcome.ROLLED_BACK] >= N_ROUNDS // 3


def test_racing_writers_of_one_version_leave_exactly_one_intact_artifact(registry):
    results = _race(contenders.log_same_version, registry.home)
    winners = [(index, sha) for index, sha in results if sha is not None]
    assert len(results) == N_PROCESSES and len(winners) == 1
    ((index, sha),) = winners
    assert registry.get_version("RACE").sha256 == sha
    assert registry.load_model("RACE")["writer"] == index
    folder = registry.artifacts / "RACE"
    assert sorted(p.name for p in folder.iterdir()) == ["model.pkl"]
    assert_consistent(registry)


def test_concurrent_weekly_cycles_promote_once_and_record_every_run(home):
    n_runs = 4
    results = dict(_race(contenders.weekly_run, home, n_processes=n_runs))
    with open_home(home) as (backend, _):
        ledger = assert_consistent(backend.registry)
        assert len(backend.registry.list_versions()) == 2  # one champion, one shared challenger
    outcomes = Counter(results.values())
    assert outcomes[Outcome.PROMOTED.value] == 1, results
    assert set(outcomes) <= {"promoted", "stale-champion", "kept"}, results
    assert len(ledger) == 1 + n_runs


def test_processes_creating_one_home_at_once_all_succeed(tmp_path):
    home = tmp_path / "fresh"
    results = dict(_race(contenders.open_and_log, home))
    assert results == {i: f"V{i}" for i in range(N_PROCESSES)}
    registry = LocalRegistry(home, DEFAULT_MODEL_NAME)
    assert sorted(v.name for v in registry.list_versions()) == sorted(results.values())
    assert_consistent(registry)
