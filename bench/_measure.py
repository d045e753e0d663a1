"""One measurement, run by ``bench/run.py`` in a fresh process; prints one JSON line.

Workloads:

- ``setup HOME ROWS``: store 20 weeks of ROWS applications each and bootstrap the
  champion (not timed); export the live champion for the bare script.
- ``bare HOME`` / ``steps HOME`` / ``flow HOME``: one weekly cycle by the bare
  script, by ``flows.cycle.stages.weekly_cycle`` without Prefect, or by the
  ``champion-challenger`` flow against the server ``PREFECT_API_URL`` names.
- ``idle`` / ``floor``: nothing after the shared imports, or the smallest Prefect
  run (a flow with one task that adds 1 to 1) against that server: the
  difference of the two processes is what Prefect costs any run, whatever its work.
- ``stats ROWS REPEATS``: ``delong_test`` against one ``roc_auc_score``.

Every cycle first imports the libraries all three share (pandas, pyarrow,
scikit-learn's forest and metrics), then its own; ``import_seconds`` is that
part and ``cycle_seconds`` the work alone. The parent measures the process's
wall time and peak RSS.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()

# What all three workloads need, imported before their own modules and before the clock
# for the work alone starts.
import pyarrow.parquet  # noqa: E402,F401
import sklearn.ensemble  # noqa: E402
import sklearn.metrics  # noqa: E402,F401

POLICY = "significance_margin"
"""The default policy of ``ccflows run`` and of the weekly deployment."""
MANIFEST = "bench.json"
"""Written by ``setup`` into the home: the windows and the forest's parameters for the bare script."""
N_WEEKS = 20
"""Weeks of data, as in the quickstart."""


def setup(home: Path, rows_per_week: int) -> dict:
    """Generate the data and bootstrap the champion on the embedded backend."""
    import pickle

    from flows.backends import open_backend
    from flows.config import load_settings
    from flows.cycle import steps
    from flows.data.periods import challenger_windows
    from flows.data.quickstart import GeneratorSpec

    settings = load_settings(home=home)
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec(rows_per_week=rows_per_week), n_periods=N_WEEKS)
        champion = steps.train_champion(backend, settings, actor="bench")
        model = backend.registry.load_model(champion.name)
        first, newest = steps.data_span(backend)
    windows = challenger_windows(first, newest, settings.windows)
    # As a hand-rolled job would have pickled its own forest: scoring on every core.
    model.set_params(classifier__n_jobs=-1)
    (home / "champion.pkl").write_bytes(pickle.dumps(model, protocol=5))
    manifest = {
        "train": [windows.train.start, windows.train.end],
        "holdout": [windows.holdout.start, windows.holdout.end],
        "params": dict(settings.challenger_spec.params),
        "rows": rows_per_week * N_WEEKS,
    }
    (home / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def bare(home: Path) -> dict:
    """The bare script's weekly job on the home's Parquet files."""
    import bare_script

    manifest = json.loads((home / MANIFEST).read_text())
    ready = time.perf_counter()
    result = bare_script.weekly_job(
        weeks_dir=home / "data" / "applications",
        train=tuple(manifest["train"]),
        holdout=tuple(manifest["holdout"]),
        champion_path=home / "champion.pkl",
        out=home / "winner.pkl",
        params=manifest["params"],
    )
    return _timed(ready, promoted=bool(result["promoted"]))


def steps_cycle(home: Path) -> dict:
    """``flows.cycle.stages.weekly_cycle`` on the embedded backend, no Prefect."""
    import ccpolicy
    from flows.backends import open_backend
    from flows.config import load_settings
    from flows.cycle import stages

    ready = time.perf_counter()
    settings = load_settings(home=home)
    with open_backend(settings) as backend:
        report = stages.weekly_cycle(backend, settings, ccpolicy.load_policy(POLICY), actor="bench")
    return _timed(ready, outcome=report.entry.outcome.value)


def flow_cycle(home: Path) -> dict:
    """The ``champion-challenger`` flow, as ``ccflows run`` calls it, against a running server."""
    from flows.cli.pipeline_cmds import prepare_prefect

    prepare_prefect()
    from flows.orchestration.pipeline import champion_challenger

    ready = time.perf_counter()
    entry = champion_challenger(policy=POLICY, home=str(home))
    return _timed(ready, outcome=entry["outcome"])


def idle() -> dict:
    """The shared imports and nothing else: the baseline of :func:`floor`."""
    return _timed(time.perf_counter())


def floor() -> dict:
    """The smallest Prefect run: a flow with one trivial task, against a running server."""
    from prefect import flow, task

    @task
    def add_one(number: int) -> int:
        return number + 1

    @flow
    def smallest(number: int = 1) -> int:
        return add_one(number)

    ready = time.perf_counter()
    return _timed(ready, result=smallest())


def stats(rows: int, repeats: int) -> dict:
    """Best-of-``repeats`` seconds of ``delong_test`` and of one ``roc_auc_score``."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from ccpolicy.stats import delong_test

    rng = np.random.default_rng(rows)
    y = rng.binomial(1, 0.5, rows)
    champion = rng.normal(size=rows) + 0.5 * y
    challenger = 0.8 * champion + 0.6 * rng.normal(size=rows) + 0.1 * y
    sklearn_times, delong_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        auc = roc_auc_score(y, champion)
        sklearn_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = delong_test(y, champion, challenger)
        delong_times.append(time.perf_counter() - start)
    if not np.isclose(result.auc_a, auc, rtol=0, atol=1e-12):
        raise AssertionError(f"delong_test AUC {result.auc_a} differs from sklearn's {auc}")
    return {"roc_auc_score": sklearn_times, "delong_test": delong_times}


def _timed(ready: float, **facts: object) -> dict:
    done = time.perf_counter()
    return {"import_seconds": ready - STARTED, "cycle_seconds": done - ready, **facts}


def main(argv: list[str]) -> int:
    """Dispatch ``argv[0]`` and print its result as the last line of stdout."""
    kind, *rest = argv
    if kind == "setup":
        result = setup(Path(rest[0]), int(rest[1]))
    elif kind == "stats":
        result = stats(int(rest[0]), int(rest[1]))
    elif kind == "idle":
        result = idle()
    elif kind == "floor":
        result = floor()
    else:
        cycle = {"bare": bare, "steps": steps_cycle, "flow": flow_cycle}[kind]
        result = cycle(Path(rest[0]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
