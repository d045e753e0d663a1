"""Scoring on every core by row chunks: the same scores as one call, in row order."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from flows.cycle.prediction import MIN_ROWS_PER_CHUNK, chunk_bounds, positive_scores
from flows.data.quickstart import generate_applications
from flows.data.specs import CHALLENGER_SPEC, ModelSpec
from flows.names import FEATURE_COLUMNS


@pytest.fixture(scope="module")
def rows():
    return generate_applications(20)  # 8,000 rows: four chunks at the minimum size


@pytest.fixture(scope="module")
def forest(rows):
    spec = ModelSpec(params={**CHALLENGER_SPEC.params, "n_estimators": 15})
    model = spec.build().fit(rows[list(FEATURE_COLUMNS)], rows["approved"])
    model.set_params(classifier__n_jobs=None)
    return model


class RecordingModel:
    """Wraps a model and records which thread scored which rows."""

    def __init__(self, model):
        self.model = model
        self.calls: list[tuple[str, int, int]] = []

    def predict_proba(self, features):
        self.calls.append((threading.current_thread().name, features.index[0], len(features)))
        return self.model.predict_proba(features)


@pytest.mark.parametrize(
    ("n_rows", "cores", "expected"),
    [
        (10, 8, [(0, 10)]),
        (MIN_ROWS_PER_CHUNK * 2 - 1, 8, [(0, MIN_ROWS_PER_CHUNK * 2 - 1)]),
        (10_000, 2, [(0, 5_000), (5_000, 10_000)]),
        (10_000, 1, [(0, 10_000)]),
        (9_001, 3, [(0, 3_000), (3_000, 6_000), (6_000, 9_001)]),
        (0, 4, [(0, 0)]),
    ],
)
def test_chunks_cover_every_row_once_one_per_core(n_rows, cores, expected):
    assert chunk_bounds(n_rows, cores) == expected


def test_forest_scores_equal_one_call_bit_for_bit(rows, forest):
    features = rows[list(FEATURE_COLUMNS)]
    expected = forest.predict_proba(features)[:, 1]
    for cores in (2, 3, 4):
        np.testing.assert_array_equal(positive_scores(forest, features, cores=cores), expected)


def test_chunks_run_in_parallel_threads_and_come_back_in_row_order(rows, forest):
    features = rows[list(FEATURE_COLUMNS)]
    recording = RecordingModel(forest)
    scores = positive_scores(recording, features, cores=4)
    assert sorted(start for _, start, _ in recording.calls) == [0, 2_000, 4_000, 6_000]
    assert all(name.startswith("score") for name, _, _ in recording.calls)
    assert len(scores) == len(rows)
    # Reversing the rows reverses the scores: each score stays with its row.
    backwards = positive_scores(forest, features.iloc[::-1], cores=4)
    np.testing.assert_array_equal(backwards, scores[::-1])


def test_small_inputs_are_scored_in_the_calling_thread(rows, forest):
    recording = RecordingModel(forest)
    positive_scores(recording, rows[list(FEATURE_COLUMNS)].head(100), cores=4)
    assert recording.calls == [(threading.current_thread().name, 0, 100)]
