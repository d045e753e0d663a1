"""The model over time, read from the ledger: AUCs per cycle, the live version, the latest ROC curves.

Every decision keeps both models' hold-out metrics and, since the evidence is
stored with it, the labels and scores, so the whole picture comes from the ledger
and works the same on every backend. :func:`read_trend` collects it,
:func:`trend_rows` is the table; :mod:`flows.cycle.trend_render` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.records import Outcome

_ABBREVIATIONS = {"week": "wk", "month": "mo", "day": "day"}
"""Short units for axis labels."""

if TYPE_CHECKING:
    import numpy as np

    from flows.backends.registry import Registry
    from flows.data.periods import PeriodRange
    from flows.records import LedgerEntry


@dataclass(frozen=True)
class TrendPoint:
    """One ledger entry, as the trend shows it."""

    entry_id: int
    """Position in the ledger."""
    recorded_at: str
    """When it was recorded (UTC, to the second)."""
    data_period: int | None
    """Newest period in the data at the time (None for a rollback)."""
    outcome: Outcome
    """What the entry did."""
    live: str | None
    """The version live after it."""
    champion: str | None
    """The champion that was evaluated."""
    challenger: str | None
    """The contestant."""
    champion_auc: float | None
    """The champion's ROC AUC on the hold-out (None when nothing was evaluated)."""
    challenger_auc: float | None
    """The challenger's ROC AUC on the same hold-out."""
    p_value: float | None
    """The paired DeLong p-value of no gain (entries before it: the policy's, if any)."""
    min_detectable_gain: float | None
    """The gain the hold-out detects with 80 % power (earlier entries: the policy's, if any)."""
    unit: str = "week"
    """The unit of ``data_period`` (the entry's plan says; weeks before units)."""

    @property
    def evaluated(self) -> bool:
        """Whether both models were scored on a hold-out for this entry."""
        return self.champion_auc is not None and self.challenger_auc is not None

    @property
    def label(self) -> str:
        """``#id wk N`` (``mo N``, ``day N``) for axes and tables."""
        period = "—" if self.data_period is None else str(self.data_period)
        return f"#{self.entry_id} {_ABBREVIATIONS.get(self.unit, self.unit)} {period}"


@dataclass(frozen=True)
class LivePeriod:
    """A stretch of ledger entries during which one version was live."""

    version: str
    """The live version."""
    start: TrendPoint
    """The first entry after which it was live."""
    end: TrendPoint | None
    """The entry that replaced it, or None while it is still live."""


@dataclass(frozen=True)
class RocCurve:
    """One model's ROC curve on a hold-out."""

    version: str
    """The version scored."""
    fpr: np.ndarray
    """False-positive rates, increasing."""
    tpr: np.ndarray
    """True-positive rates at those thresholds."""
    auc: float
    """Area under the curve."""


@dataclass(frozen=True)
class LatestCurves:
    """Both models' ROC curves from the newest entry that stored its evidence."""

    point: TrendPoint
    """The entry they come from."""
    holdout: PeriodRange | None
    """Its hold-out periods."""
    n_rows: int
    """Hold-out rows."""
    champion: RocCurve
    """The champion's curve."""
    challenger: RocCurve
    """The challenger's curve."""


@dataclass(frozen=True)
class Trend:
    """Everything the trend report shows."""

    model_name: str
    """The registered model."""
    points: list[TrendPoint]
    """Every ledger entry, oldest first."""
    live_periods: list[LivePeriod]
    """Which version was live when, oldest first."""
    latest: LatestCurves | None
    """The newest cycle's ROC curves, if any entry stored evidence."""

    @property
    def live_now(self) -> str | None:
        """The version live after the newest entry."""
        return self.live_periods[-1].version if self.live_periods else None

    @property
    def period_column(self) -> str:
        """The header of the data-period column: ``data week`` (the newest entry's unit)."""
        return f"data {self.points[-1].unit if self.points else 'week'}"


def read_trend(registry: Registry, *, curves: bool = True) -> Trend:
    """Collect the trend from ``registry``'s ledger; reads only, changes nothing.

    Args:
        curves: Also read the newest stored evidence for the ROC curves (the report
            draws them; a weekly run's artifacts do not).
    """
    entries = registry.ledger()
    points = [_point(entry) for entry in entries]
    latest = None
    evaluated = [
        (e, p) for e, p in zip(entries, points, strict=True) if e.has_evidence and p.evaluated
    ]
    if curves and evaluated:
        latest = _latest_curves(registry, *evaluated[-1])
    return Trend(registry.model_name, points, live_periods(points), latest)


def live_periods(points: list[TrendPoint]) -> list[LivePeriod]:
    """Group consecutive entries by the version live after them."""
    periods: list[LivePeriod] = []
    for point in points:
        if point.live is None or (periods and periods[-1].version == point.live):
            continue
        if periods:
            periods[-1] = LivePeriod(periods[-1].version, periods[-1].start, point)
        periods.append(LivePeriod(point.live, point, None))
    return periods


def trend_rows(trend: Trend) -> list[dict[str, Any]]:
    """One row per ledger entry, AUCs to 4 decimals and p-values to 2 significant digits.

    The ledger keeps them raw.
    """
    return [
        {
            "entry": p.entry_id,
            "recorded (UTC)": p.recorded_at,
            trend.period_column: p.data_period,
            "outcome": p.outcome.value,
            "live after": p.live,
            "champion AUC": _round(p.champion_auc),
            "challenger AUC": _round(p.challenger_auc),
            "p-value": _two_digits(p.p_value),
            "detectable gain": _round(p.min_detectable_gain),
        }
        for p in trend.points
    ]


def _point(entry: LedgerEntry) -> TrendPoint:
    metrics = entry.metrics or {}
    details = {**(entry.details or {}), **(entry.strength or {})}  # every policy's, else its own
    return TrendPoint(
        entry_id=entry.id or 0,
        recorded_at=entry.recorded_at[:19].replace("T", " "),
        data_period=entry.data_week,
        outcome=entry.outcome,
        live=entry.live_after,
        champion=entry.champion_version,
        challenger=entry.challenger_version,
        champion_auc=_number(metrics.get("champion", {}).get("roc_auc")),
        challenger_auc=_number(metrics.get("challenger", {}).get("roc_auc")),
        p_value=_number(details.get("p_value")),
        min_detectable_gain=_number(details.get("min_detectable_gain")),
        unit=entry.calendar.unit,
    )


def _latest_curves(
    registry: Registry, entry: LedgerEntry, point: TrendPoint
) -> LatestCurves | None:
    """Both ROC curves from the evidence stored with ``entry`` (None if it has one class)."""
    import ccpolicy

    payload = registry.ledger_evidence(entry.id or 0)
    if payload is None:
        return None
    evidence = ccpolicy.Evidence.from_npz_bytes(payload)
    if evidence.n_positive in (0, evidence.n_rows):
        return None
    return LatestCurves(
        point=point,
        holdout=entry.holdout,
        n_rows=evidence.n_rows,
        champion=_roc(point.champion or "champion", evidence.y_true, evidence.champion_scores),
        challenger=_roc(
            point.challenger or "challenger", evidence.y_true, evidence.challenger_scores
        ),
    )


def _roc(version: str, y_true: np.ndarray, scores: np.ndarray) -> RocCurve:
    from ccpolicy.stats import roc_auc, roc_curve

    fpr, tpr = roc_curve(y_true, scores)
    return RocCurve(version, fpr, tpr, roc_auc(y_true, scores))


def _number(value: Any) -> float | None:
    """A finite float, or None (missing, None or NaN in the ledger)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _two_digits(value: float | None) -> float | None:
    """Two significant digits: a p-value of 1.4e-12 stays one, never 0.0."""
    return None if value is None else float(f"{value:.2g}")
