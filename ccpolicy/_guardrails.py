"""Guardrails every policy accepts: a promotion cool-down and non-inferiority limits on metrics.

They are parameters of the base class, so ``--param cooldown_weeks=4`` works for
any policy, built-in or plugin. A guardrail can only stop a promotion; it never
turns KEEP or INCONCLUSIVE into PROMOTE.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ccpolicy._decision import Verdict
from ccpolicy._evidence import Evidence
from ccpolicy._params import Interval, MetricLimits, Parameter
from ccpolicy._stats.metrics import METRICS
from ccpolicy.errors import EvidenceError, PolicyParameterError

COOLDOWN_WEEKS = "cooldown_weeks"
MAX_METRIC_DROP = "max_metric_drop"
_LOWER_IS_BETTER_SUFFIXES = ("_loss", "_error")
_TOLERANCE = 1e-12
"""Slack so a drop exactly at the limit is allowed despite float rounding."""

GUARDRAIL_PARAMETERS: dict[str, Parameter] = {
    COOLDOWN_WEEKS: Parameter(
        Interval("int", 0),
        0,
        "No promotion while fewer than this many periods (weeks, days or months, as the "
        "evidence counts them) have passed since the last one "
        "(data_week - last_promotion_week < cooldown_weeks); 0 disables the cool-down.",
    ),
    MAX_METRIC_DROP: Parameter(
        MetricLimits(Interval("float", 0.0)),
        {},
        "Non-inferiority limits: metric name -> how far the challenger may fall below "
        "the champion (for *_loss and *_error metrics: rise above) and still be promoted.",
    ),
}


@dataclass(frozen=True)
class GuardrailBlock:
    """Why the guardrails stop a promotion."""

    verdict: Verdict
    """KEEP for a violated limit; INCONCLUSIVE when a guarded metric is undefined."""
    reasons: list[str]
    """One sentence per violated guardrail."""


def greater_is_better(metric: str) -> bool:
    """Whether a higher value of ``metric`` is better, as ``ccpolicy.stats.METRICS`` says.

    A metric not in the table (a plugin's own) follows scikit-learn's naming: all but
    ``*_loss`` and ``*_error`` metrics are better higher.
    """
    if metric in METRICS:
        return METRICS[metric].greater_is_better
    return not metric.endswith(_LOWER_IS_BETTER_SUFFIXES)


def check_guardrail_metrics(
    policy: str, params: Mapping[str, Any], available: Collection[str]
) -> None:
    """Raise if ``max_metric_drop`` limits a metric that is not among ``available``.

    Raises:
        PolicyParameterError: naming the unknown metric, the available ones and the
            closest name.
    """
    for metric in params[MAX_METRIC_DROP]:
        if metric in available:
            continue
        close = difflib.get_close_matches(metric, list(available), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise PolicyParameterError(
            f"The {MAX_METRIC_DROP!r} parameter of {policy} limits {metric!r}, which is not "
            f"a metric of the evaluation; metrics: {', '.join(sorted(available))}{hint}"
        )


def check_guardrail_inputs(policy: str, params: Mapping[str, Any], evidence: Evidence) -> None:
    """Raise if the evidence lacks what the configured guardrails need.

    Raises:
        EvidenceError: The cool-down is on but ``data_week`` is missing, or a limited
            metric is missing from either model's metrics.
    """
    if params[COOLDOWN_WEEKS] and evidence.data_week is None:
        raise EvidenceError(
            f"{policy} has cooldown_weeks={params[COOLDOWN_WEEKS]} but the evidence has no "
            "data_week; pass data_week (and last_promotion_week) or set cooldown_weeks=0."
        )
    for metric in params[MAX_METRIC_DROP]:
        for side in ("champion_metrics", "challenger_metrics"):
            available = getattr(evidence, side)
            if metric not in available:
                raise EvidenceError(
                    f"{policy} limits the drop of {metric!r} but evidence.{side} has no "
                    f"{metric!r} (it has: {', '.join(sorted(available)) or 'nothing'}); "
                    f"compute {metric!r} for both models or remove it from max_metric_drop."
                )


def guardrail_block(params: Mapping[str, Any], evidence: Evidence) -> GuardrailBlock | None:
    """Return why the guardrails stop a promotion, or None when they allow it."""
    violations = _cooldown_violations(params[COOLDOWN_WEEKS], evidence)
    undefined = []
    for metric, limit in params[MAX_METRIC_DROP].items():
        champion = evidence.champion_metrics[metric]
        challenger = evidence.challenger_metrics[metric]
        if math.isnan(champion) or math.isnan(challenger):
            undefined.append(
                f"{metric} is undefined (champion {champion:.3f}, challenger {challenger:.3f}) "
                f"so its limit of {limit:.3f} cannot be checked"
            )
            continue
        worsening = champion - challenger if greater_is_better(metric) else challenger - champion
        if worsening > limit + _TOLERANCE:
            direction = "fell" if greater_is_better(metric) else "rose"
            violations.append(
                f"{metric} {direction} by {worsening:.3f} (champion {champion:.3f}, challenger "
                f"{challenger:.3f}), more than the allowed {limit:.3f}"
            )
    if violations:
        return GuardrailBlock(Verdict.KEEP, violations + undefined)
    if undefined:
        return GuardrailBlock(Verdict.INCONCLUSIVE, undefined)
    return None


def _cooldown_violations(cooldown_weeks: int, evidence: Evidence) -> list[str]:
    """The cool-down sentence if the last promotion is too recent, else nothing."""
    if not cooldown_weeks or evidence.last_promotion_week is None:
        return []
    assert evidence.data_week is not None  # guaranteed by check_guardrail_inputs
    elapsed = evidence.data_week - evidence.last_promotion_week
    if elapsed >= cooldown_weeks:
        return []
    unit = evidence.period
    return [
        f"cool-down: last promotion at data {unit} {evidence.last_promotion_week}, {elapsed} "
        f"{unit}(s) before {unit} {evidence.data_week}, within the {cooldown_weeks}-{unit} "
        "cool-down"
    ]
