"""How strong a decision's evidence is, whatever the policy: DeLong's p-value, interval, detectable gain.

The policy decides; these numbers are context, computed the same way for every
policy from the same hold-out. A rule such as ``auc_greater`` promotes on any
positive gain and its reason cannot say whether that gain is noise; the paired
DeLong test on the same labels and scores can. Every decision records them in the
ledger, and the terminal and the decision report show them; a promotion whose
95 % interval includes no gain at all says so in its reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CONFIDENCE = 0.95
"""Level of the two-sided interval of the AUC gain."""
DETECTION_ALPHA = 0.05
"""One-sided level at which the detectable gain is stated (the default policy's)."""
DETECTION_POWER = 0.8
"""Power at which the detectable gain is stated."""


@dataclass(frozen=True)
class EvidenceStrength:
    """Paired DeLong statistics of challenger minus champion on one hold-out (NaN: undefined)."""

    auc_gain: float
    """Challenger's ROC AUC minus the champion's."""
    p_value: float
    """Two-sided p-value of "no gain" (DeLong's paired test)."""
    ci_low: float
    """Lower end of the 95 % interval of the gain."""
    ci_high: float
    """Upper end of the 95 % interval of the gain."""
    min_detectable_gain: float
    """The true gain this hold-out detects with 80 % power at a one-sided 5 % level."""

    @property
    def defined(self) -> bool:
        """Whether the test could be computed (both classes, a variance)."""
        return not any(math.isnan(v) for v in (self.p_value, self.ci_low, self.ci_high))

    @property
    def within_noise(self) -> bool:
        """Whether the 95 % interval includes a gain of zero (or nothing could be computed)."""
        return not self.defined or self.ci_low <= 0.0 <= self.ci_high

    def summary(self) -> str:
        """One line for the terminal: p-value, interval, detectable gain."""
        if not self.defined:
            return "undefined on this hold-out (one class only, or no variance)"
        return (
            f"gain {self.auc_gain:+.4f}, paired DeLong {format_p_value(self.p_value)}, "
            f"95 % CI [{self.ci_low:+.4f}, {self.ci_high:+.4f}]; this hold-out detects a gain "
            f"of {self.min_detectable_gain:.4f} (80 % power)"
        )

    def noise_note(self) -> str:
        """The sentence a promotion inside the noise carries."""
        return (
            f"The gain of {self.auc_gain:+.4f} is within the noise: its 95 % interval "
            f"[{self.ci_low:+.4f}, {self.ci_high:+.4f}] includes no gain "
            f"(paired DeLong {format_p_value(self.p_value)})."
        )

    def to_dict(self) -> dict[str, float | None]:
        """For the ledger: NaN becomes None."""
        return {k: None if math.isnan(v) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvidenceStrength | None:
        """Inverse of :meth:`to_dict`; None for an entry recorded without it."""
        if not data:
            return None
        return cls(**{k: math.nan if data.get(k) is None else float(data[k]) for k in _FIELDS})


_FIELDS = tuple(EvidenceStrength.__dataclass_fields__)


def evidence_strength(
    y_true: np.ndarray, champion_scores: np.ndarray, challenger_scores: np.ndarray
) -> EvidenceStrength:
    """DeLong's paired test of the two score vectors on the same labels.

    Undefined statistics (a hold-out of one class) are NaN, without a warning: the
    policy has already warned about the same evidence.
    """
    from ccpolicy.errors import UndefinedStatisticWarning
    from ccpolicy.stats import delong_test, min_detectable_gain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedStatisticWarning)
        result = delong_test(
            y_true,
            champion_scores,
            challenger_scores,
            alternative="two-sided",
            confidence=CONFIDENCE,
        )
    detectable = min_detectable_gain(result.se, alpha=DETECTION_ALPHA, power=DETECTION_POWER)
    return EvidenceStrength(
        auc_gain=float(result.delta),
        p_value=float(result.p_value),
        ci_low=float(result.ci_low),
        ci_high=float(result.ci_high),
        min_detectable_gain=float(detectable),
    )


def format_p_value(p_value: float) -> str:
    """``p=0.41``, ``p=0.0023``, ``p<0.0001``: never a p-value of 0."""
    if math.isnan(p_value):
        return "p n/a"
    if p_value < 1e-4:
        return "p<0.0001"
    return f"p={p_value:.2g}"
