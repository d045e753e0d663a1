"""Evidence: conversion, validation with messages that name the input, and the npz round trip."""

from __future__ import annotations

import io
import math
from dataclasses import fields

import numpy as np
import pytest

from ccpolicy import Evidence, EvidenceError

FULL_CONTEXT = {
    "champion_metrics": {"auc": 0.71, "f1": 0.66, "accuracy": math.nan},
    "challenger_metrics": {"auc": 0.73, "f1": 0.64, "accuracy": 0.65},
    "holdout_fingerprint": "sha256:0f3a",
    "champion_version": "V_3",
    "challenger_version": "V_4",
    "champion_window": (3, 12),
    "challenger_window": (6, 15),
    "data_week": 19,
    "last_promotion_week": 14,
}


class TestConversion:
    def test_arrays_become_read_only_1d_float_copies(self) -> None:
        labels = np.array([0, 1, 1], dtype=np.int64)
        evidence = Evidence(labels, [0.2, 0.7, 0.4], np.array([True, False, True]))
        assert evidence.y_true.dtype == np.float64 and evidence.y_true.ndim == 1
        np.testing.assert_array_equal(evidence.challenger_scores, [1.0, 0.0, 1.0])
        labels[0] = 1
        assert evidence.y_true[0] == 0.0
        with pytest.raises(ValueError, match="read-only"):
            evidence.champion_scores[0] = 0.5

    def test_context_is_normalised(self) -> None:
        evidence = Evidence(
            [0, 1], [0.1, 0.9], [0.2, 0.8],
            champion_metrics={"f1": np.float32(0.5)}, champion_window=[np.int64(0), 9],
            data_week=np.int64(19),
        )  # fmt: skip
        assert evidence.champion_metrics == {"f1": 0.5}
        assert type(evidence.champion_metrics["f1"]) is float
        assert evidence.champion_window == (0, 9) and type(evidence.data_week) is int

    def test_counts_and_repr_summarise_without_the_arrays(self) -> None:
        evidence = Evidence([0, 1, 1], [0.2, 0.7, 0.4], [0.1, 0.8, 0.6], data_week=0)
        assert (evidence.n_rows, evidence.n_positive) == (3, 2)
        assert repr(evidence) == "Evidence(n_rows=3, n_positive=2, data_week=0)"

    def test_context_is_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            Evidence([0, 1], [0.1, 0.9], [0.2, 0.8], {"f1": 0.5})


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"challenger_scores": [0.1, 0.2]}, r"challenger_scores has 2 rows while y_true has 3; score every model on the identical hold-out rows"),
            ({"champion_scores": [0.1, math.inf, 0.3]}, r"champion_scores must be finite; got 1 non-finite value\(s\), the first at row 1 \(inf\)"),
            ({"y_true": [0, 1, -1]}, r"y_true must hold only the labels 0 and 1; got -1\.0 at row 2"),
            ({"champion_metrics": {"f1": "high"}}, r"champion_metrics\['f1'\] must be a float \(NaN allowed\); got 'high'"),
            ({"challenger_metrics": [("f1", 0.5)]}, r"challenger_metrics must be a mapping"),
            ({"champion_window": (12, 3)}, r"champion_window must be a \(first, last\) pair of period numbers with first <= last; got \(12, 3\)"),
            ({"challenger_window": (1.0, 3)}, r"challenger_window must be a \(first, last\) pair"),
            ({"data_week": -1}, r"data_week must be a non-negative int period number or None; got -1"),
            ({"data_week": True}, r"data_week must be a non-negative int"),
            ({"holdout_fingerprint": 123}, r"holdout_fingerprint must be a str or None; got 123"),
            ({"data_week": 10, "last_promotion_week": 12}, r"last_promotion_week \(12\) is after data_week \(10\)"),
        ],
    )  # fmt: skip
    def test_malformed_evidence_names_the_input(self, kwargs: dict, message: str) -> None:
        arrays = {"y_true": [0, 1, 1], "champion_scores": [0.2, 0.7, 0.4]}
        arrays["challenger_scores"] = [0.1, 0.8, 0.6]
        context = {k: kwargs.pop(k) for k in list(kwargs) if k not in arrays}
        arrays.update(kwargs)
        with pytest.raises(EvidenceError, match=message):
            Evidence(**arrays, **context)

    def test_one_class_is_legal(self) -> None:
        assert Evidence([1, 1], [0.2, 0.7], [0.1, 0.8]).n_positive == 2


class TestNpzRoundTrip:
    def test_round_trip_is_lossless(self) -> None:
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 1600)
        original = Evidence(y, rng.random(1600), rng.random(1600) / 3, **FULL_CONTEXT)
        restored = Evidence.from_npz_bytes(original.to_npz_bytes())
        for f in fields(Evidence):
            got, want = getattr(restored, f.name), getattr(original, f.name)
            if isinstance(want, np.ndarray):
                assert got.tobytes() == want.tobytes(), f.name
            elif f.name == "champion_metrics":
                assert got.keys() == want.keys() and math.isnan(got["accuracy"])
                assert {k: v for k, v in got.items() if k != "accuracy"} == {
                    "auc": 0.71,
                    "f1": 0.66,
                }
            else:
                assert got == want, f.name

    def test_round_trip_keeps_absent_context_absent(self) -> None:
        restored = Evidence.from_npz_bytes(Evidence([0, 1], [0.1, 0.9], [0.2, 0.8]).to_npz_bytes())
        assert repr(restored) == "Evidence(n_rows=2, n_positive=1)"

    def test_garbage_or_truncated_bytes_are_refused(self) -> None:
        with pytest.raises(EvidenceError, match=r"bytes of length 7 are not an evidence archive"):
            Evidence.from_npz_bytes(b"garbage")
        data = Evidence([0, 1], [0.1, 0.9], [0.2, 0.8]).to_npz_bytes()
        with pytest.raises(EvidenceError, match=r"not an evidence archive .*BadZipFile"):
            Evidence.from_npz_bytes(data[: len(data) // 2])

    def test_an_archive_of_another_format_is_refused(self) -> None:
        data = Evidence([0, 1], [0.1, 0.9], [0.2, 0.8]).to_npz_bytes()
        with np.load(io.BytesIO(data)) as archive:
            arrays = {k: archive[k] for k in archive.files}
        arrays["metadata"] = np.array('{"format": 99}')
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with pytest.raises(EvidenceError, match=r"format 99; this ccpolicy reads formats 1 and 2"):
            Evidence.from_npz_bytes(buffer.getvalue())
