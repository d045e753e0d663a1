"""sequential_margin and its alpha spending: published boundaries, the looks, and refusals."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

import ccpolicy
from ccpolicy import Evidence, EvidenceError, Look, Verdict, look_of
from ccpolicy._stats.spending import (
    crossing_probabilities,
    next_boundary,
    obrien_fleming_spent,
)
from ccpolicy.stats import delong_test, delong_test_independent


def spending_boundaries(informations: list[float], alpha: float) -> list[float]:
    """Each look's boundary when it spends the O'Brien–Fleming-type alpha(t), all at the last."""
    earlier: list[tuple[float, float]] = []
    spent = 0.0
    for t in informations:
        target = alpha if t == informations[-1] else obrien_fleming_spent(t, alpha)
        earlier.append((t, next_boundary(earlier, t, target - spent)))
        spent = target
    return [b for _, b in earlier]


class TestSpending:
    def test_lan_demets_obrien_fleming_boundaries_match_published_values(self) -> None:
        # gsDesign::gsDesign(k=5, test.type=1, alpha=0.025, sfu=sfLDOF)$upper$bound
        got = spending_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], 0.025)
        assert got == pytest.approx([4.8769, 3.3569, 2.6803, 2.2898, 2.0310], abs=2e-4)

    def test_classic_obrien_fleming_boundaries_hold_their_level(self) -> None:
        # O'Brien & Fleming (1979), K = 5, one-sided 0.025: c sqrt(K / k), c = 2.040
        # (Jennison & Turnbull 2000, table 2.3): 4.56, 3.23, 2.63, 2.28, 2.04.
        boundaries = [2.040 * math.sqrt(5 / k) for k in range(1, 6)]
        assert [round(b, 2) for b in boundaries] == [4.56, 3.23, 2.63, 2.28, 2.04]
        total = crossing_probabilities([0.2, 0.4, 0.6, 0.8, 1.0], boundaries).sum()
        assert total == pytest.approx(0.025, abs=1e-4)

    @pytest.mark.parametrize(
        "informations",
        [[1.0], [0.5, 1.0], [k / 20 for k in range(1, 21)], [0.07, 0.3, 0.31, 0.65, 1.0]],
    )
    def test_total_alpha_spent_equals_alpha_and_each_look_spends_its_share(
        self, informations
    ) -> None:
        boundaries = spending_boundaries(informations, 0.05)
        per_look = crossing_probabilities(informations, boundaries)
        assert per_look.sum() == pytest.approx(0.05, abs=1e-7)
        wanted = np.diff([0.0] + [obrien_fleming_spent(t, 0.05) for t in informations[:-1]])
        assert per_look[:-1] == pytest.approx(wanted, abs=1e-9)

    def test_spending_is_monotone_and_boundaries_fall(self) -> None:
        ts = np.linspace(0.01, 1, 100)
        spent = [obrien_fleming_spent(t, 0.05) for t in ts]
        assert all(b >= a for a, b in pairwise(spent))
        assert spent[-1] == pytest.approx(0.05)
        boundaries = spending_boundaries([k / 10 for k in range(1, 11)], 0.05)
        assert all(b < a for a, b in pairwise(boundaries))
        assert boundaries[-1] > 1.6448536269514722  # dearer than one fixed look

    def test_crossing_probabilities_match_simulated_brownian_paths(self) -> None:
        informations = [0.15, 0.4, 0.45, 0.8, 1.0]
        boundaries = spending_boundaries(informations, 0.1)
        for drift in (0.0, 2.5):
            rng = np.random.default_rng(12)
            steps = np.diff([0.0, *informations])
            paths = np.cumsum(rng.standard_normal((400_000, 5)) * np.sqrt(steps) + drift * steps, 1)
            crossed = paths / np.sqrt(informations) >= boundaries
            first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
            simulated = np.array([(first == k).mean() for k in range(5)])
            computed = crossing_probabilities(informations, boundaries, drift=drift)
            tolerance = 4 * np.sqrt(computed * (1 - computed) / 400_000) + 1e-4
            assert np.all(np.abs(simulated - computed) <= tolerance), (simulated, computed)

    def test_one_look_is_the_fixed_sample_test(self) -> None:
        assert next_boundary([], 1.0, 0.05) == pytest.approx(1.6448536269514722)
        assert next_boundary([(0.5, 3.0)], 0.5 + 1e-3, 0.0) == math.inf


def stream(n: int, *, gain: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    shared, own = rng.standard_normal(n), rng.standard_normal(n)
    return y, 0.5 * y + shared, (0.5 + gain) * y + 0.5 * shared + 0.87 * own


def run_looks(policy, arrays, rows: list[int]) -> list:
    """Decide at each number of rows, feeding back the stored looks, until a verdict ends it."""
    decisions, looks = [], []
    for n in rows:
        decision = policy(Evidence(*(a[:n] for a in arrays), earlier_looks=looks))
        decisions.append(decision)
        if look_of(decision) is not None:
            looks.append(look_of(decision))
        if decision.verdict is not Verdict.INCONCLUSIVE:
            break
    return decisions


class TestSequentialMargin:
    def test_is_registered_with_its_parameters(self) -> None:
        assert "sequential_margin" in {p.name for p in ccpolicy.available_policies()}
        policy = ccpolicy.load_policy("sequential_margin")
        assert {k: policy.params[k] for k in ("alpha", "margin", "max_looks")} == {
            "alpha": 0.05,
            "margin": 0.0,
            "max_looks": 10,
        }
        with pytest.raises(ccpolicy.PolicyParameterError, match="'max_looks' parameter"):
            ccpolicy.load_policy("sequential_margin", max_looks=51)

    def test_looks_apply_the_published_boundaries_and_keep_at_the_last(self) -> None:
        policy = ccpolicy.load_policy("sequential_margin", alpha=0.025, max_looks=5, max_rows=1000)
        decisions = run_looks(policy, stream(1000, gain=0.0, seed=4), [200, 400, 600, 800, 1000])
        assert [d.details["look"] for d in decisions] == [1, 2, 3, 4, 5]
        assert [d.details["boundary"] for d in decisions] == pytest.approx(
            [4.8769, 3.3569, 2.6803, 2.2898, 2.0310], abs=2e-4
        )
        assert [d.verdict for d in decisions] == [Verdict.INCONCLUSIVE] * 4 + [Verdict.KEEP]
        assert decisions[-1].details["alpha_spent"] == 0.025
        assert "last look" in decisions[-1].reason
        record = look_of(decisions[2])
        assert record == Look(
            3, 0.6, decisions[2].details["z"], record.alpha_spent, record.boundary
        )

    def test_z_is_delongs_and_a_clear_gain_promotes_early(self) -> None:
        arrays = stream(4000, gain=0.8, seed=5)
        policy = ccpolicy.load_policy("sequential_margin", max_rows=4000, margin=0.01)
        decisions = run_looks(policy, arrays, [400 * k for k in range(1, 11)])
        last = decisions[-1]
        assert last.verdict is Verdict.PROMOTE and len(decisions) < 10
        rows = 400 * len(decisions)
        want = delong_test(*(a[:rows] for a in arrays), margin=0.01)
        assert last.details["z"] == pytest.approx(want.z)
        assert last.details["z"] >= last.details["boundary"]

    def test_the_planned_rows_end_the_test_before_max_looks(self) -> None:
        policy = ccpolicy.load_policy("sequential_margin", max_rows=600, max_looks=10)
        decisions = run_looks(policy, stream(800, gain=0.0, seed=6), [300, 800])
        assert decisions[-1].details["information"] == 1.0
        assert decisions[-1].details["alpha_spent"] == 0.05
        assert decisions[-1].verdict in (Verdict.KEEP, Verdict.PROMOTE)

    def test_a_review_without_new_rows_is_no_look_and_spends_nothing(self) -> None:
        policy = ccpolicy.load_policy("sequential_margin", max_rows=1000)
        arrays = stream(400, gain=0.0, seed=7)
        first = policy(Evidence(*arrays))
        again = policy(Evidence(*arrays, earlier_looks=[look_of(first)]))
        assert again.verdict is Verdict.INCONCLUSIVE and look_of(again) is None
        assert again.details["alpha_spent"] == first.details["alpha_spent"]
        assert again.details["look"] == 1 and "not a look, no alpha spent" in again.reason
        assert "400 rows are 40.0% of max_rows, less than 0.5% beyond look 1's 40.0%" in (
            again.reason
        )
        early = policy(Evidence([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.3], [0.2, 0.8, 0.3, 0.6]))
        assert look_of(early) is None and early.details["alpha_spent"] == 0.0
        assert "less than the 0.5% a first look needs" in early.reason

    def test_a_look_after_the_test_ended_is_refused_in_one_line(self) -> None:
        policy = ccpolicy.load_policy("sequential_margin", max_looks=2, max_rows=1000)
        looks = [Look(1, 0.3, 0.1, 0.001, 3.2), Look(2, 0.6, 0.2, 0.05, 1.7)]
        with pytest.raises(EvidenceError, match=r"^sequential_margin refuses look 3: all 2 looks"):
            policy(Evidence(*stream(800, gain=0.0, seed=8), earlier_looks=looks))
        crossed = [Look(1, 0.3, 3.5, 0.001, 3.2)]
        with pytest.raises(EvidenceError, match=r"look 1 crossed its boundary \(promote\)"):
            policy(Evidence(*stream(800, gain=0.0, seed=8), earlier_looks=crossed))

    def test_independent_evidence_uses_the_unpaired_variance(self) -> None:
        y, a, b = stream(1200, gain=0.3, seed=9)
        arm = np.arange(1200) % 2 == 1
        evidence = Evidence.independent(y[~arm], a[~arm], y[arm], b[arm])
        decision = ccpolicy.load_policy("sequential_margin", max_rows=6000)(evidence)
        want = delong_test_independent(y[~arm], a[~arm], y[arm], b[arm])
        assert decision.details["z"] == pytest.approx(want.z)
        assert decision.details["design"] == "independent"
        assert decision.details["information"] == pytest.approx(0.2)


class TestBuiltinsOnIndependentEvidence:
    def test_significance_margin_uses_the_unpaired_test(self) -> None:
        y, a, b = stream(1000, gain=0.3, seed=10)
        evidence = Evidence.independent(y[:500], a[:500], y[500:], b[500:])
        decision = ccpolicy.load_policy("significance_margin")(evidence)
        want = delong_test_independent(y[:500], a[:500], y[500:], b[500:])
        assert decision.details["z"] == pytest.approx(want.z)
        assert decision.details["se"] == pytest.approx(want.se)

    def test_auc_greater_compares_each_arms_auc(self) -> None:
        evidence = Evidence.independent([0, 1, 0, 1], [0.2, 0.9, 0.3, 0.25], [0, 1], [0.6, 0.4])
        decision = ccpolicy.load_policy("auc_greater")(evidence)
        assert decision.details["champion_auc"] == 0.75
        assert decision.details["challenger_auc"] == 0.0
        assert decision.verdict is Verdict.KEEP

    def test_one_class_in_an_arm_is_inconclusive(self) -> None:
        evidence = Evidence.independent([0, 1], [0.2, 0.9], [1, 1], [0.6, 0.4])
        decision = ccpolicy.load_policy("significance_margin")(evidence)
        assert decision.verdict is Verdict.INCONCLUSIVE
        assert decision.reason.startswith("challenger's rows labels hold one class only (2 rows")
