"""Scoring a file with the live version: streamed in row batches, checked before the first row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.backends import open_backend
from flows.cycle import steps
from flows.cycle.scoring import VERSION_COLUMN
from flows.data import files
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.output import write_table
from flows.data.quickstart import GeneratorSpec, generate_weeks
from flows.errors import ConfigError, DataValidationError
from flows.names import FEATURE_COLUMNS, LABEL_COLUMN
from tests.flows.homes import quickstart_home

SCORE_COLUMN = DEFAULT_CONTRACT.score_column


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A home with the quickstart's data and a small live champion."""
    return quickstart_home(tmp_path_factory.mktemp("scoring-home"))


@pytest.fixture
def backend(home):
    with open_backend(home) as opened:
        yield opened


@pytest.fixture
def seen_batches(backend, monkeypatch) -> list[int]:
    """The row counts of every frame the registry was asked to score (calls go through)."""
    seen: list[int] = []
    score = backend.registry.predict_proba

    def recording(name, features):
        seen.append(len(features))
        return score(name, features)

    monkeypatch.setattr(backend.registry, "predict_proba", recording)
    return seen


def _new_rows() -> pd.DataFrame:
    """Two weeks the model never saw, without the label (as a scoring file arrives)."""
    return generate_weeks(20, 21, GeneratorSpec()).drop(columns=[LABEL_COLUMN])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_file_is_scored_in_batches_no_larger_than_asked(
    backend, seen_batches, tmp_path, suffix
):
    rows = _new_rows()
    source = write_table(rows, tmp_path / f"in{suffix}")
    result = steps.score_file(backend, source, tmp_path / "out.parquet", batch_rows=300)

    assert seen_batches == [300, 300, 200] == list(result.batch_rows)
    assert result.n_rows == len(rows) == 800
    scored = files.read_table(result.out)
    live = backend.registry.live_version()
    assert (scored[VERSION_COLUMN] == live).all()
    expected = backend.registry.predict_proba(live, rows)
    np.testing.assert_allclose(scored[SCORE_COLUMN], expected)


def test_without_an_id_column_the_output_keeps_every_input_column(backend, tmp_path):
    rows = _new_rows()
    source = write_table(rows, tmp_path / "in.csv")
    result = steps.score_file(backend, source, tmp_path / "out.csv")
    scored = files.read_table(result.out)
    assert list(scored.columns) == [*rows.columns, SCORE_COLUMN, VERSION_COLUMN]
    assert result.batch_rows == (800,)


def test_a_missing_feature_fails_before_any_row_is_scored(backend, seen_batches, tmp_path):
    source = write_table(_new_rows().drop(columns=["credit_score"]), tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    with pytest.raises(
        DataValidationError, match="scored by version .* missing column\\(s\\) 'credit_score'"
    ):
        steps.score_file(backend, source, out)
    assert seen_batches == []
    assert not out.exists()


def test_a_file_with_a_header_and_no_rows_writes_nothing(backend, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(",".join(_new_rows().columns) + "\n")
    out = tmp_path / "out.parquet"
    with pytest.raises(DataValidationError, match="has no rows to score"):
        steps.score_file(backend, source, out)
    assert list(tmp_path.iterdir()) == [source]


def test_scores_are_never_written_over_their_input(backend, tmp_path):
    source = write_table(_new_rows(), tmp_path / "in.csv")
    with pytest.raises(ConfigError, match="is the input file"):
        steps.score_file(backend, source, source)


def test_the_output_keeps_the_feature_order_the_model_needs_whatever_the_file_order(
    backend, tmp_path
):
    rows = _new_rows()
    shuffled = rows[list(reversed(rows.columns))]
    source = write_table(shuffled, tmp_path / "in.parquet")
    scored = files.read_table(steps.score_file(backend, source, tmp_path / "o.parquet").out)
    live = backend.registry.live_version()
    np.testing.assert_allclose(
        scored[SCORE_COLUMN],
        backend.registry.predict_proba(live, rows[list(FEATURE_COLUMNS)]),
    )
