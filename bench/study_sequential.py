"""Error rate and power of the live sequential test (``sequential_margin``), by simulation.

A live candidate is judged at up to LOOKS equally spaced looks as outcomes
mature, in shadow mode (both models score every row: paired evidence) and in
split mode (each row decided, and scored, by one model: independent evidence).
For each: how often an A/A candidate (truly no better) is promoted, how often a
+0.02 AUC candidate is, after how many looks and rows, and what the fixed-sample
test (``significance_margin`` once, on the same final rows) and that test
repeated at every look do instead. Scores are simulated exactly as in
``bench/study_decision_quality.py``. The results replace the marked table in
docs/decision-quality.md.

Run from the repository root (a few minutes on one core):

    .venv/bin/python bench/study_sequential.py
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

import ccpolicy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study_decision_quality import (
    CHAMPION_AUC,
    DOC,
    POSITIVE_RATE,
    Rate,
    _logistic,
    write_results,
)

ALPHA = 0.05
"""One-sided false-promotion rate of every test here, as the built-ins' default."""
LOOKS = 20
"""Looks per live test, equally spaced in matured rows."""
SPLIT_SHARE = 0.5
"""The challenger's share of traffic in split mode."""
GAIN = 0.02
"""The true AUC gain whose power the study measures."""
CORRELATIONS = (0.85, 0.5)
"""Within-class score correlation of the two models, as in the decision-quality study."""
BEGIN, END = "<!-- sequential-results:begin -->", "<!-- sequential-results:end -->"


@dataclass(frozen=True)
class Plan:
    """One live mode: its evidence design and the matured rows its test plans for."""

    mode: str
    """``shadow`` (paired evidence) or ``split`` (independent evidence)."""
    max_rows: int
    """Planned matured rows (both arms together in split mode): the last look's rows."""
    correlations: tuple[float, ...]
    """Score correlations simulated; split evidence has none (each row has one score)."""


PLANS = (Plan("shadow", 5_200, CORRELATIONS), Plan("split", 20_000, (0.5,)))
"""Rows chosen for 80 % power at +0.02 and correlation 0.5 (see docs/decision-quality.md)."""


@dataclass(frozen=True)
class Outcome:
    """What one simulated live test ended in."""

    promoted: bool
    """The sequential test promoted."""
    looks: int
    """Looks taken until promote or keep."""
    rows: int
    """Matured rows at that look."""
    fixed_promoted: bool
    """significance_margin promoted once, on all ``max_rows`` rows."""
    naive_promoted: bool
    """significance_margin would have promoted at some look (p < alpha at any look)."""


@dataclass(frozen=True)
class Summary:
    """Outcomes of one scenario, summarised."""

    sequential: Rate
    fixed: Rate
    naive: Rate
    mean_looks: float
    mean_rows: float


def score_stream(
    rows: int, *, gain: float, correlation: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and both models' scores for ``rows`` applications, in arrival order.

    The equal-variance binormal model of ``study_decision_quality.binormal_evidence``:
    latent ``mu * y + noise``, true AUCs CHAMPION_AUC and CHAMPION_AUC + gain, the two
    noises correlated ``correlation`` within each class, then the logistic function.
    """
    normal = NormalDist()
    mu_champion = math.sqrt(2) * normal.inv_cdf(CHAMPION_AUC)
    mu_challenger = math.sqrt(2) * normal.inv_cdf(CHAMPION_AUC + gain)
    y = (rng.random(rows) < POSITIVE_RATE).astype(float)
    shared, own = rng.standard_normal(rows), rng.standard_normal(rows)
    champion = _logistic(mu_champion * y + shared)
    challenger_noise = correlation * shared + math.sqrt(1 - correlation**2) * own
    return y, champion, _logistic(mu_challenger * y + challenger_noise)


def evidence_at(
    plan: Plan,
    stream: tuple[np.ndarray, np.ndarray, np.ndarray],
    arm: np.ndarray,
    rows: int,
    earlier: Sequence[ccpolicy.Look] = (),
) -> ccpolicy.Evidence:
    """The evidence of the first ``rows`` matured rows, as the live mode records it.

    In split mode a row carries only the deciding model's score (``arm`` True: the
    challenger decided), so each model is judged on its own rows.
    """
    y, champion, challenger = (values[:rows] for values in stream)
    if plan.mode == "shadow":
        return ccpolicy.Evidence(y, champion, challenger, earlier_looks=tuple(earlier))
    to_challenger = arm[:rows]
    return ccpolicy.Evidence.independent(
        y[~to_challenger],
        champion[~to_challenger],
        y[to_challenger],
        challenger[to_challenger],
        earlier_looks=tuple(earlier),
    )


def live_test(
    plan: Plan,
    sequential: ccpolicy.Policy,
    fixed: ccpolicy.Policy,
    *,
    gain: float,
    correlation: float,
    looks: int,
    rng: np.random.Generator,
) -> Outcome:
    """Run one live test to its end; also judge its final rows with the fixed-sample test."""
    stream = score_stream(plan.max_rows, gain=gain, correlation=correlation, rng=rng)
    arm = rng.random(plan.max_rows) < SPLIT_SHARE
    earlier: list[ccpolicy.Look] = []
    naive_bar = NormalDist().inv_cdf(1 - ALPHA)
    naive = False
    for number in range(1, looks + 1):
        rows = round(plan.max_rows * number / looks)
        decision = sequential(evidence_at(plan, stream, arm, rows, earlier))
        look = ccpolicy.look_of(decision)
        if look is not None:  # None: too few rows for a defined statistic, not a look
            earlier.append(look)
            # Every sequential boundary lies above z(1 - alpha), so the test stops before
            # the naive one could first cross only when it promotes, and then naive did too.
            naive = naive or look.z > naive_bar
        if decision.verdict is not ccpolicy.Verdict.INCONCLUSIVE:
            break
    final = fixed(evidence_at(plan, stream, arm, plan.max_rows))
    return Outcome(
        promoted=decision.verdict is ccpolicy.Verdict.PROMOTE,
        looks=number,
        rows=rows,
        fixed_promoted=final.verdict is ccpolicy.Verdict.PROMOTE,
        naive_promoted=naive,
    )


def scenario(
    plan: Plan, *, gain: float, correlation: float, replications: int, looks: int, seed: int
) -> Summary:
    """Simulate ``replications`` live tests of one scenario (seeded by its own parameters)."""
    key = [seed, round(gain * 1000), round(correlation * 100), plan.max_rows, looks]
    rng = np.random.default_rng(key)
    sequential = ccpolicy.load_policy(
        "sequential_margin", alpha=ALPHA, max_looks=looks, max_rows=plan.max_rows
    )
    fixed = ccpolicy.load_policy("significance_margin", alpha=ALPHA)
    outcomes = [
        live_test(plan, sequential, fixed, gain=gain, correlation=correlation, looks=looks, rng=rng)
        for _ in range(replications)
    ]
    return Summary(
        sequential=Rate(sum(o.promoted for o in outcomes), replications),
        fixed=Rate(sum(o.fixed_promoted for o in outcomes), replications),
        naive=Rate(sum(o.naive_promoted for o in outcomes), replications),
        mean_looks=float(np.mean([o.looks for o in outcomes])),
        mean_rows=float(np.mean([o.rows for o in outcomes])),
    )


def results_markdown(
    results: dict[tuple[str, float, float], Summary], *, replications: int, seed: int
) -> str:
    """The results as one markdown table per live mode."""
    lines = [
        f"Generated by `.venv/bin/python bench/study_sequential.py` ({replications:,} simulated "
        f"live tests per row, seed {seed}; champion AUC {CHAMPION_AUC}; alpha {ALPHA} one-sided; "
        f"up to {LOOKS} equally spaced looks). Rates: promotion rate [Wilson 95% interval].",
    ]
    for plan in PLANS:
        per_look = plan.max_rows // LOOKS
        lines += [
            "",
            f"**{plan.mode.capitalize()}** ({'paired' if plan.mode == 'shadow' else 'independent'}"
            f" evidence; max_rows {plan.max_rows:,}, a look every {per_look:,} matured rows"
            + (f"; challenger share {SPLIT_SHARE}" if plan.mode == "split" else "")
            + ")",
            "",
            "| true AUC gain | score correlation | `sequential_margin` | looks to a decision, "
            "mean | rows at the decision, mean | fixed test on all rows | fixed test at every look |",
            "|---|---|---|---|---|---|---|",
        ]
        for (mode, gain, correlation), summary in results.items():
            if mode != plan.mode:
                continue
            label = "0 (A/A: false promotion)" if gain == 0 else f"+{gain:.2f} (power)"
            shown = correlation if plan.mode == "shadow" else "none (one score a row)"
            lines.append(
                f"| {label} | {shown} | {summary.sequential} | {summary.mean_looks:.1f} | "
                f"{summary.mean_rows:,.0f} | {summary.fixed} | {summary.naive} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every scenario, print the tables and write them into the doc."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=1000, help="live tests per row")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the simulation")
    parser.add_argument("--output", type=Path, default=DOC, help="markdown file with the markers")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = {}
    for plan in PLANS:
        for gain in (0.0, GAIN):
            for correlation in plan.correlations:
                summary = scenario(
                    plan,
                    gain=gain,
                    correlation=correlation,
                    replications=args.replications,
                    looks=LOOKS,
                    seed=args.seed,
                )
                results[plan.mode, gain, correlation] = summary
                print(f"{plan.mode}, gain {gain:+.2f}, correlation {correlation}: {summary}")
    table = results_markdown(results, replications=args.replications, seed=args.seed)
    write_results(args.output, table, begin=BEGIN, end=END)
    print(f"\n{table}\n\nwritten to {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
