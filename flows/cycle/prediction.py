"""Scoring rows on every core, with the same result on every run.

A forest asked to score on several threads adds its trees' votes in whatever order
the threads finish, so its scores differ in the last bits from run to run; a trained
forest is therefore set to score on one thread. Splitting the *rows* instead keeps
each row's arithmetic on one thread and in one order: the chunks are scored in
parallel by single-threaded calls and concatenated in order. For estimators that
score each row on its own (trees, forests, gradient boosting) the result is bit for
bit that of one call; for the others (a linear model's matrix product) it is fixed
for a given number of cores.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MIN_ROWS_PER_CHUNK = 2_000
"""Below this a chunk's fixed cost (validating input, walking the trees) outweighs the gain."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def chunk_bounds(n_rows: int, cores: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, stop)`` row ranges: one per core, none under the minimum size."""
    chunks = max(1, min(cores, n_rows // MIN_ROWS_PER_CHUNK))
    edges = np.linspace(0, n_rows, chunks + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def positive_scores(model: Any, features: pd.DataFrame, *, cores: int | None = None) -> np.ndarray:
    """Probability of class 1 for every row of ``features``, computed on all cores.

    Args:
        model: A fitted classifier (or pipeline) with ``predict_proba`` that scores on
            one thread.
        features: The model's input columns, one row per row to score.
        cores: Threads to use; defaults to :func:`usable_cores`.
    """
    bounds = chunk_bounds(len(features), cores or usable_cores())

    def score(bound: tuple[int, int]) -> np.ndarray:
        start, stop = bound
        return np.asarray(model.predict_proba(features.iloc[start:stop])[:, 1], dtype=float)

    if len(bounds) == 1:
        return score(bounds[0])
    with ThreadPoolExecutor(max_workers=len(bounds), thread_name_prefix="score") as pool:
        return np.concatenate(list(pool.map(score, bounds)))
