"""The sequential_margin policy: judge a live candidate at repeated looks, alpha spent over them.

Evidence keeps arriving (outcomes mature), and looking at it repeatedly with a
fixed-sample test inflates the false-promotion rate. This policy spends its alpha
over at most ``max_looks`` looks with Lan–DeMets O'Brien–Fleming-type spending,
exact boundaries from ``ccpolicy._stats.spending``; docs/decision-quality.md says
why this choice and what it costs in rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from ccpolicy._base import API_VERSION, Policy
from ccpolicy._builtin import SignificanceMargin, auc_comparison, evidence_delong
from ccpolicy._decision import Decision, Verdict
from ccpolicy._evidence import Evidence
from ccpolicy._looks import LOOK_RECORD, Look
from ccpolicy._params import Interval, Parameter
from ccpolicy._stats.spending import next_boundary, obrien_fleming_spent
from ccpolicy.errors import EvidenceError

MIN_INFORMATION_STEP = 0.005
"""A look must add at least this share of the planned rows, else it is not a look."""


class SequentialMargin(Policy):
    """Promote once the AUC gain over ``margin`` crosses a group-sequential boundary.

    At look k, with information ``t = min(1, rows / max_rows)``, the statistic is
    ``z = (gain - margin) / se`` (DeLong; paired or independent per
    ``evidence.design``). The cumulative alpha spent is the O'Brien–Fleming-type
    ``alpha(t)``, all of ``alpha`` at the last look (``max_looks`` or ``t = 1``); the
    boundary makes the chance of a first crossing at look k, under a true gain equal
    to the margin, exactly the alpha newly spent, given the earlier looks' stored
    information and boundaries. PROMOTE when ``z >= boundary``; KEEP (reject the
    candidate) at the last look without a crossing; INCONCLUSIVE (continue) otherwise.

    A review that adds less than ``MIN_INFORMATION_STEP`` of the planned rows is
    not a look: it spends no alpha, answers INCONCLUSIVE, and its ``look_record`` is
    None. Whoever runs the test stores ``look_of(decision)`` of every look and
    passes them all back in ``Evidence.earlier_looks``.
    """

    name = "sequential_margin"
    description = (
        "Live test over repeated looks: promote when the ROC AUC gain over `margin` crosses "
        "an O'Brien–Fleming-type alpha-spending boundary; keep (reject) at the last look "
        "without a crossing; else inconclusive (continue)."
    )
    api_version = API_VERSION
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "alpha": Parameter(
            Interval("float", 0.0, 0.5, closed="neither"),
            0.05,
            "One-sided false-promotion rate over all looks together, for a challenger whose "
            "true gain is at most the margin.",
        ),
        "margin": SignificanceMargin.parameters["margin"],
        "max_looks": Parameter(
            Interval("int", 1, 50),
            10,
            "The most looks the test takes; the last one decides promote or keep.",
        ),
        "max_rows": Parameter(
            Interval("int", 20, math.inf, closed="left"),
            5_200,
            "Planned matured rows (both arms together under split traffic); the "
            "information fraction is rows / max_rows, and reaching it ends the test.",
        ),
    }

    def check_evidence(self, evidence: Evidence) -> None:
        """Refuse a look after the test has ended or beyond ``max_looks``, in one line."""
        looks = evidence.earlier_looks
        if not looks:
            return
        last, alpha = looks[-1], self._params["alpha"]
        if len(looks) >= self._params["max_looks"]:
            ended = f"all {self._params['max_looks']} looks (max_looks) were taken"
        elif last.z >= last.boundary:
            ended = f"look {last.number} crossed its boundary (promote)"
        elif last.information >= 1:
            ended = f"look {last.number} reached the planned rows (max_rows)"
        elif last.alpha_spent > alpha + 1e-12:
            ended = f"the earlier looks spent {last.alpha_spent:.4g}, more than alpha {alpha:g}"
        else:
            return
        raise EvidenceError(
            f"{self.name} refuses look {last.number + 1}: {ended}; the test is over, "
            "start a new one for a new candidate."
        )

    def decide(self, evidence: Evidence) -> Decision:
        """Take the next look: the statistic against the boundary of the alpha spent so far."""
        alpha, margin = self._params["alpha"], self._params["margin"]
        max_looks, max_rows = self._params["max_looks"], self._params["max_rows"]
        looks = evidence.earlier_looks
        number = len(looks) + 1
        information = min(1.0, evidence.n_rows / max_rows)
        result = evidence_delong(evidence, margin=margin, confidence=1 - 2 * alpha)
        details: dict[str, Any] = {
            "champion_auc": result.auc_a,
            "challenger_auc": result.auc_b,
            "auc_delta": result.delta,
            "se": result.se,
            "z": result.z,
            "design": evidence.design,
            "rows": evidence.n_rows,
            "information": information,
        }
        opening = f"{auc_comparison(result.auc_a, result.auc_b)}, z {result.z:.2f})"
        last_information = looks[-1].information if looks else 0.0
        if information - last_information < MIN_INFORMATION_STEP or math.isnan(result.z):
            return self._no_look(evidence, opening, details)
        final = number == max_looks or information >= 1
        spent = alpha if final else obrien_fleming_spent(information, alpha)
        spent_before = looks[-1].alpha_spent if looks else 0.0
        boundary = next_boundary(
            [(look.information, look.boundary) for look in looks], information, spent - spent_before
        )
        look = Look(number, information, result.z, spent, boundary)
        if result.z >= boundary:
            verdict, rule = Verdict.PROMOTE, f"z ≥ boundary {boundary:.2f}"
        elif final:
            verdict, rule = Verdict.KEEP, f"last look, z < boundary {boundary:.2f}"
        else:
            verdict, rule = Verdict.INCONCLUSIVE, f"z < boundary {boundary:.2f}, continue"
        return Decision(
            verdict,
            f"{opening}; look {number} of at most {max_looks}, {evidence.n_rows:,} of "
            f"{max_rows:,} planned rows, alpha spent {spent:.4g} of {alpha:g}, margin "
            f"{margin:.3f}; {rule} → {verdict.value}",
            {
                **details,
                "look": number,
                "boundary": boundary,
                "alpha_spent": spent,
                "margin": margin,
                "alpha": alpha,
                LOOK_RECORD: look.to_dict(),
            },
        )

    def _no_look(self, evidence: Evidence, opening: str, details: dict[str, Any]) -> Decision:
        """INCONCLUSIVE without spending alpha: too few new rows, or the statistic undefined."""
        looks = evidence.earlier_looks
        last = looks[-1] if looks else None
        share = f"{evidence.n_rows:,} rows are {details['information']:.1%} of max_rows"
        if math.isnan(details["z"]):
            why = "the standard error is undefined"
        elif last is None:
            why = f"{share}, less than the {MIN_INFORMATION_STEP:.1%} a first look needs"
        else:
            why = (
                f"{share}, less than {MIN_INFORMATION_STEP:.1%} beyond look {last.number}'s "
                f"{last.information:.1%}"
            )
        return Decision(
            Verdict.INCONCLUSIVE,
            f"{opening}; {why}: not a look, no alpha spent → inconclusive",
            {
                **details,
                "look": last.number if last else 0,
                "boundary": last.boundary if last else math.inf,
                "alpha_spent": last.alpha_spent if last else 0.0,
                "margin": self._params["margin"],
                "alpha": self._params["alpha"],
                LOOK_RECORD: None,
            },
        )
