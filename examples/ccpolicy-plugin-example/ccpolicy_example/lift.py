"""The ``minimum_lift`` policy: the challenger must find more positives among its top-scored rows.

Lift at fraction f is the positive rate among the f highest-scored rows divided by
the positive rate overall; a lift of 2 in the top decile means the model's top
10% hold twice as many approvals as a random 10%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from ccpolicy import Decision, Evidence, Interval, Parameter, Policy, Verdict


class MinimumLift(Policy):
    """Promote when the challenger's top-fraction lift beats the champion's by ``min_gain``."""

    name = "minimum_lift"
    description = (
        "Promote when the challenger's lift among its top `top_fraction` of scores exceeds "
        "the champion's by at least `min_gain`."
    )
    api_version = "1"
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "top_fraction": Parameter(
            Interval("float", 0.0, 1.0, closed="right"),
            0.1,
            "Share of the hold-out, taken from the top of each model's scores, whose lift is compared.",
        ),
        "min_gain": Parameter(
            Interval("float", 0.0),
            0.05,
            "How much higher the challenger's lift must be than the champion's.",
        ),
    }

    def decide(self, evidence: Evidence) -> Decision:
        """Compare the two models' lift among their top-scored rows."""
        top_fraction, min_gain = self.params["top_fraction"], self.params["min_gain"]
        champion = _lift(evidence.y_true, evidence.champion_scores, top_fraction)
        challenger = _lift(evidence.y_true, evidence.challenger_scores, top_fraction)
        gain = challenger - champion
        verdict = Verdict.PROMOTE if gain >= min_gain else Verdict.KEEP
        return Decision(
            verdict,
            f"lift in top {top_fraction:.0%}: challenger {challenger:.2f} vs champion "
            f"{champion:.2f} ({gain:+.2f}); needs {min_gain:+.2f} → {verdict.value}",
            {"champion_lift": champion, "challenger_lift": challenger, "lift_gain": gain},
        )


def _lift(y_true: np.ndarray, scores: np.ndarray, top_fraction: float) -> float:
    """Positive rate among the top ``top_fraction`` rows by score over the overall rate."""
    top = max(1, math.ceil(top_fraction * y_true.size))
    top_rows = np.argsort(-scores, kind="stable")[:top]
    return float(y_true[top_rows].mean() / y_true.mean())
