"""Decision quality of the built-in promotion policies: simulated, and on real retrained forests.

For each built-in policy: how often it promotes a challenger that is truly no
better (false promotion) and one that is truly better by a given AUC gain
(power), on hold-outs of the quickstart's size, with Wilson 95% intervals. The
results replace the marked table in docs/decision-quality.md.

Run from the repository root:

    .venv/bin/python bench/study_decision_quality.py --mode all

``--mode simulated`` (the default, a couple of minutes) runs only this module's
simulation; ``--mode real`` only the second mode, real forests retrained on the
project's generator (``bench/study_real_cycles.py``, about 17 CPU-minutes).

The simulation (``binormal_evidence``) and the counting (``promotion_rates``)
meet only at ``ccpolicy.Evidence``: the real mode's evidence plugs into
``promotion_rates`` unchanged.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

import ccpolicy

HOLDOUT_ROWS = 1600
"""The quickstart's evaluation hold-out: weeks 16-19, 4 x 400 applications."""
POSITIVE_RATE = 0.5
"""Share of approved applications (4,011 of the quickstart's 8,000)."""
CHAMPION_AUC = 0.64
"""True AUC of the champion (the quickstart's forests reach about 0.64 on the hold-out)."""
TRUE_GAINS = (0.0, 0.02, 0.03, 0.05)
"""True AUC gains of the challenger; 0 measures false promotion, the others power."""
CORRELATIONS = (0.85, 0.5)
"""Within-class correlation of the two models' scores: measured (0.85) and a low sensitivity case."""
POLICIES = ("auc_greater", "significance_margin")
"""The built-in policies, with their default parameters."""
BATCH = 500
"""Hold-outs simulated per vectorised draw."""
DOC = Path(__file__).resolve().parent.parent / "docs" / "decision-quality.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Rate:
    """How often a policy promoted, out of how many simulated decisions."""

    promotions: int
    """Decisions with verdict promote."""
    trials: int
    """Decisions made."""

    def wilson(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson score interval of the promotion rate (sound near 0 and 1, unlike Wald's)."""
        z = NormalDist().inv_cdf((1 + confidence) / 2)
        p, n = self.promotions / self.trials, self.trials
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half, centre + half

    def __str__(self) -> str:
        low, high = self.wilson()
        return f"{self.promotions / self.trials:.1%} [{low:.1%}, {high:.1%}]"


def binormal_evidence(
    *, gain: float, correlation: float, replications: int, rng: np.random.Generator
) -> Iterator[ccpolicy.Evidence]:
    """Simulated hold-outs on which the champion's true AUC is CHAMPION_AUC and the challenger's
    CHAMPION_AUC + gain.

    Equal-variance binormal model: a model's latent score is ``mu * y + noise`` with
    standard normal noise, whose true AUC is ``Phi(mu / sqrt(2))``. The two models'
    noises are correlated (``correlation``), as two models trained on overlapping data
    with the same features are; scores are passed through the logistic function so
    they read as probabilities (ranks, hence AUCs, are unchanged).
    """
    mu_champion = math.sqrt(2) * NormalDist().inv_cdf(CHAMPION_AUC)
    mu_challenger = math.sqrt(2) * NormalDist().inv_cdf(CHAMPION_AUC + gain)
    for start in range(0, replications, BATCH):
        shape = (min(BATCH, replications - start), HOLDOUT_ROWS)
        y = (rng.random(shape) < POSITIVE_RATE).astype(float)
        shared, own = rng.standard_normal(shape), rng.standard_normal(shape)
        champion = _logistic(mu_champion * y + shared)
        challenger_noise = correlation * shared + math.sqrt(1 - correlation**2) * own
        challenger = _logistic(mu_challenger * y + challenger_noise)
        for row in range(shape[0]):
            yield ccpolicy.Evidence(y[row], champion[row], challenger[row])


def promotion_rates(
    policies: Mapping[str, ccpolicy.Policy], evidence: Iterable[ccpolicy.Evidence]
) -> dict[str, Rate]:
    """Let every policy decide on every piece of evidence; count the promotions."""
    promotions = dict.fromkeys(policies, 0)
    trials = 0
    for item in evidence:
        trials += 1
        for name, policy in policies.items():
            promotions[name] += policy(item).verdict is ccpolicy.Verdict.PROMOTE
    return {name: Rate(count, trials) for name, count in promotions.items()}


def results_markdown(
    results: Mapping[tuple[float, float], Mapping[str, Rate]], *, replications: int, seed: int
) -> str:
    """The results as one markdown table per correlation."""
    lines = [
        f"Generated by `.venv/bin/python bench/study_decision_quality.py` "
        f"({replications:,} simulated hold-outs of {HOLDOUT_ROWS:,} rows per row of a table, "
        f"seed {seed}, champion AUC {CHAMPION_AUC}). Each cell: promotion rate "
        "[Wilson 95% interval].",
    ]
    for correlation in CORRELATIONS:
        lines += [
            "",
            f"**Score correlation {correlation}**",
            "",
            "| true AUC gain | " + " | ".join(f"`{name}`" for name in POLICIES) + " |",
            "|---|" + "---|" * len(POLICIES),
        ]
        for gain in TRUE_GAINS:
            label = "0 (false promotion)" if gain == 0 else f"+{gain:.2f} (power)"
            cells = " | ".join(str(results[correlation, gain][name]) for name in POLICIES)
            lines.append(f"| {label} | {cells} |")
    return "\n".join(lines)


def write_results(doc: Path, table: str, *, begin: str = BEGIN, end: str = END) -> None:
    """Replace the text between the markers ``begin`` and ``end`` of ``doc`` with ``table``."""
    text = doc.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise SystemExit(
            f"{doc} lacks the markers {begin} and {end}; add them where the table goes."
        )
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{table}\n{end}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every scenario of the chosen mode(s), print the tables and write them into the doc."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode",
        choices=("simulated", "real", "all"),
        default="simulated",
        help="simulated scores, real retrained forests, or both (default: simulated)",
    )
    parser.add_argument(
        "--replications",
        type=int,
        help="hold-outs per scenario (default: 10,000 simulated; 100 real data sets)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of either mode")
    parser.add_argument("--output", type=Path, default=DOC, help="markdown file with the markers")
    args = parser.parse_args(argv)

    policies = {name: ccpolicy.load_policy(name) for name in POLICIES}
    if args.mode in ("simulated", "all"):
        _run_simulated(
            policies, replications=args.replications or 10_000, seed=args.seed, output=args.output
        )
    if args.mode in ("real", "all"):
        import study_real_cycles  # the sibling module; it trains forests, so only when asked

        study_real_cycles.run(
            policies,
            replications=args.replications or study_real_cycles.REPLICATIONS,
            seed=args.seed,
            output=args.output,
        )
    return 0


def _run_simulated(
    policies: Mapping[str, ccpolicy.Policy], *, replications: int, seed: int, output: Path
) -> None:
    """Simulate every scenario and write its tables into ``output``."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    results = {}
    for correlation in CORRELATIONS:
        for gain in TRUE_GAINS:
            evidence = binormal_evidence(
                gain=gain, correlation=correlation, replications=replications, rng=rng
            )
            results[correlation, gain] = promotion_rates(policies, evidence)
            rates = {name: str(rate) for name, rate in results[correlation, gain].items()}
            print(f"correlation {correlation}, gain {gain:+.2f}: {rates}")
    table = results_markdown(results, replications=replications, seed=seed)
    write_results(output, table)
    print(f"\n{table}\n\nwritten to {output} in {time.perf_counter() - started:.0f} s")


def _logistic(x: np.ndarray) -> np.ndarray:
    """Map latent scores to probabilities."""
    return 1.0 / (1.0 + np.exp(-x))


if __name__ == "__main__":
    sys.exit(main())
