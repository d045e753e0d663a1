"""Decision: verdict coercion, JSON-safe dict, str and Rich rendering."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from rich.console import Console

from ccpolicy import Decision, Verdict


def test_verdict_is_a_str_enum() -> None:
    assert Verdict.PROMOTE == "promote" and str(Verdict.KEEP) == "keep"
    assert Decision("inconclusive", "r").verdict is Verdict.INCONCLUSIVE


def test_an_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="'promoted' is not a valid Verdict"):
        Decision("promoted", "r")


def test_str_is_the_reason() -> None:
    assert str(Decision(Verdict.KEEP, "auc: challenger 0.70 vs champion 0.71 → keep")) == (
        "auc: challenger 0.70 vs champion 0.71 → keep"
    )


def test_to_dict_is_strict_json() -> None:
    decision = Decision(
        Verdict.PROMOTE,
        "reason",
        {
            "p_value": np.float64(0.01),
            "n": np.int64(1600),
            "ci": (np.float32(0.5), math.nan),
            "flag": np.bool_(True),
            "verdict_before": Verdict.KEEP,
            "nested": {"inf": math.inf},
            "array": np.array([[1, 2], [3, 4]], dtype=np.int32),
            "scalar_array": np.array(0.25),
        },
        policy="significance_margin",
        params={"margin": 0.0, "max_metric_drop": {"f1": 0.02}},
    )
    as_dict = decision.to_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == {
        "verdict": "promote",
        "reason": "reason",
        "details": {
            "p_value": 0.01,
            "n": 1600,
            "ci": [0.5, None],
            "flag": True,
            "verdict_before": "keep",
            "nested": {"inf": None},
            "array": [[1, 2], [3, 4]],
            "scalar_array": 0.25,
        },
        "policy": "significance_margin",
        "params": {"margin": 0.0, "max_metric_drop": {"f1": 0.02}},
    }


def test_rich_renders_a_table_of_reason_params_and_details() -> None:
    decision = Decision(
        Verdict.KEEP, "auc lower → keep", {"auc_delta": -0.0123456}, policy="p", params={"a": 1}
    )
    out = io.StringIO()
    Console(file=out, width=60, color_system=None, legacy_windows=False, _environ={}).print(
        decision
    )
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert lines[0].strip() == "p: keep"
    assert any("reason" in line and "auc lower → keep" in line for line in lines)
    assert any("a " in line and " 1 " in line for line in lines)
    assert any("auc_delta" in line and "-0.01235" in line for line in lines)
