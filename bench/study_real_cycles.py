"""Decision quality of the built-in policies on real retrained forests.

The second mode of ``bench/study_decision_quality.py`` (``--mode real``). Each
replication draws a fresh data set from the project's generator, trains the
quickstart's random forests with the flows' own ``train_model`` on the flows' own
windows, and lets every policy decide on what a weekly cycle hands it: both
models' scores on the hold-out weeks 16-19. The true AUC gain is not set, as in
the simulated mode, but measured: each model is also scored on a large
independent sample of the hold-out weeks. The results replace the marked section
of docs/decision-quality.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import study_decision_quality as study

import ccpolicy
from ccpolicy.stats import roc_auc
from flows.cycle.evaluation import classification_metrics
from flows.cycle.training import train_model
from flows.data.periods import (
    PeriodRange,
    Windows,
    WindowSpec,
    challenger_windows,
    champion_windows,
)
from flows.data.quickstart import (
    ROWS_PER_WEEK,
    GeneratorSpec,
    generate_applications,
    generate_weeks,
)
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec
from flows.names import FEATURE_COLUMNS, LABEL_COLUMN, WEEK_COLUMN

if TYPE_CHECKING:
    import pandas as pd

N_WEEKS = 20
"""Weeks per data set, as in the quickstart: the cycle's newest week is 19."""
WINDOW_SPEC = WindowSpec()
"""The quickstart's windows: champion trains on weeks 0-9, challenger on 3-12, hold-out 16-19."""
REPLICATIONS = 100
"""Data sets per contest by default: about 17 minutes of CPU time (10 s a replication)."""
TRUTH_ROWS_PER_WEEK = 10_000
"""Rows per hold-out week of the independent sample that measures the true AUCs (40,000 in all)."""
BEGIN, END = "<!-- real-results:begin -->", "<!-- real-results:end -->"


@dataclass(frozen=True)
class Contest:
    """How the champion and the challenger of one table row are trained in every replication.

    The champion is always the quickstart's champion spec on the champion's windows.
    """

    label: str
    """The row's name in the table."""
    concept_drift: float = 0.0
    """The generator's weekly concept-drift speed (0 is the quickstart's data)."""
    null: bool = False
    """The challenger is the champion's spec with another ``random_state`` on the champion's
    weeks: truly no better. Otherwise it is the quickstart's challenger on its own windows."""
    other_sample: bool = False
    """The challenger trains on an independent draw of its weeks rather than on the same rows."""


CONTESTS = (
    Contest("same rows, another `random_state`", null=True),
    Contest("another sample of the same weeks", null=True, other_sample=True),
    Contest("no drift (the quickstart's data)"),
    Contest("concept drift 0.10 a week", concept_drift=0.10),
)
"""The table's rows: two truly-no-better challengers, then the quickstart's weekly cycle on its
own data and on data whose approval rule moves (fully, from week 10 on)."""


@dataclass(frozen=True)
class RealCycle:
    """One replication of a contest: what the policies saw, and what was true."""

    evidence: ccpolicy.Evidence
    """Both models' scores on the data set's hold-out weeks, as a weekly cycle builds them."""
    true_gain: float
    """Challenger's minus champion's ROC AUC on the large independent sample of those weeks."""


@dataclass(frozen=True)
class ContestResult:
    """How often each policy promoted in one contest, and the true gains behind the decisions."""

    rates: Mapping[str, study.Rate]
    """Promotions per policy, out of all replications."""
    true_gains: np.ndarray
    """The true AUC gain of every replication."""
    correlations: np.ndarray
    """Within-class correlation of the two models' hold-out scores, per replication: the
    simulated mode's ``rho``, which decides how much a paired test can see."""


def real_cycles(
    contests: Sequence[Contest],
    *,
    replications: int,
    seed: int,
    rows_per_week: int = ROWS_PER_WEEK,
    truth_rows_per_week: int = TRUTH_ROWS_PER_WEEK,
    progress: bool = False,
) -> dict[Contest, list[RealCycle]]:
    """Train and score every contest's champion and challenger on ``replications`` data sets.

    Replication ``r`` of every contest uses the same generator seed, derived from
    ``(seed, r)``, so contests differ only in what they vary, and contests with the
    same drift share their champion (trained once). The true AUCs are measured on
    one independent sample per drift speed, shared by all replications.
    """
    holdout_weeks = challenger_windows(0, N_WEEKS - 1, WINDOW_SPEC).holdout
    truths = {
        drift: generate_weeks(
            holdout_weeks.start,
            holdout_weeks.end,
            GeneratorSpec(
                seed=_seeds(seed, 1)[0], rows_per_week=truth_rows_per_week, concept_drift=drift
            ),
        )
        for drift in sorted({c.concept_drift for c in contests})
    }
    cycles: dict[Contest, list[RealCycle]] = {contest: [] for contest in contests}
    started = time.perf_counter()
    for replication in range(replications):
        data_seed, other_seed, forest_seed = _seeds(seed, 0, replication)
        for drift, truth in truths.items():
            spec = GeneratorSpec(seed=data_seed, rows_per_week=rows_per_week, concept_drift=drift)
            data = generate_applications(N_WEEKS, spec)
            holdout = _weeks(data, holdout_weeks)
            champion = _Contestant.train(
                CHAMPION_SPEC, data, _champion_windows(), holdout=holdout, truth=truth
            )
            for contest in (c for c in contests if c.concept_drift == drift):
                training = data
                if contest.other_sample:
                    training = generate_applications(N_WEEKS, replace(spec, seed=other_seed))
                if contest.null:
                    reseeded = {**CHAMPION_SPEC.params, "random_state": forest_seed}
                    model, windows = replace(CHAMPION_SPEC, params=reseeded), _champion_windows()
                else:
                    model, windows = CHALLENGER_SPEC, _challenger_windows()
                challenger = _Contestant.train(
                    model, training, windows, holdout=holdout, truth=truth
                )
                cycles[contest].append(_cycle(champion, challenger, holdout))
        if progress and (replication + 1) % 10 == 0:
            elapsed = time.perf_counter() - started
            print(f"real cycles: {replication + 1}/{replications} replications in {elapsed:.0f} s")
    return cycles


def contest_results(
    policies: Mapping[str, ccpolicy.Policy], cycles: Mapping[Contest, Iterable[RealCycle]]
) -> dict[Contest, ContestResult]:
    """Count each policy's promotions per contest, next to the true gains and score correlations."""
    results = {}
    for contest, items in cycles.items():
        items = list(items)
        results[contest] = ContestResult(
            rates=study.promotion_rates(policies, (item.evidence for item in items)),
            true_gains=np.array([item.true_gain for item in items]),
            correlations=np.array([within_class_correlation(item.evidence) for item in items]),
        )
    return results


def within_class_correlation(evidence: ccpolicy.Evidence) -> float:
    """Mean over the two classes of the Pearson correlation of the two models' scores."""
    champion, challenger = evidence.champion_scores, evidence.challenger_scores
    classes = (evidence.y_true == 0, evidence.y_true == 1)
    return float(np.mean([np.corrcoef(champion[c], challenger[c])[0, 1] for c in classes]))


def results_markdown(
    results: Mapping[Contest, ContestResult],
    *,
    replications: int,
    seed: int,
    rows_per_week: int = ROWS_PER_WEEK,
    truth_rows_per_week: int = TRUTH_ROWS_PER_WEEK,
) -> str:
    """The results as two markdown tables: truly-no-better challengers, then the weekly cycle."""
    champion, challenger = _champion_windows(), _challenger_windows()
    holdout = challenger.holdout
    policy_columns = " | ".join(f"`{name}`" for name in study.POLICIES)
    lines = [
        f"Generated by `.venv/bin/python bench/study_decision_quality.py --mode real` "
        f"({replications:,} generated data sets per row, seed {seed}; hold-out {holdout} of "
        f"{holdout.n_periods * rows_per_week:,} rows; true gains on "
        f"{holdout.n_periods * truth_rows_per_week:,} independent rows of the same weeks). "
        "Each policy's cell: promotion rate [Wilson 95% interval]. Score correlation: "
        "within-class Pearson correlation of the two models' hold-out scores, mean.",
    ]
    for null, title in (
        (
            True,
            f"**Truly no better: the champion's spec with another `random_state`, on the "
            f"champion's {champion.train}** — every promotion is a false promotion",
        ),
        (
            False,
            f"**The quickstart's cycle: champion on {champion.train}, challenger on "
            f"{challenger.train}, their own specs** — promotion rate = power where the true "
            "gain is positive",
        ),
    ):
        lines += [
            "",
            title,
            "",
            f"| challenger | true AUC gain, mean (sd) | truly better | score correlation "
            f"| {policy_columns} |",
            "|---|---|---|---|" + "---|" * len(study.POLICIES),
        ]
        for contest, result in results.items():
            if contest.null is not null:
                continue
            gains = result.true_gains
            cells = [
                contest.label,
                f"{gains.mean():+.4f} ({gains.std(ddof=1) if len(gains) > 1 else 0.0:.4f})",
                f"{np.count_nonzero(gains > 0)} of {len(gains)}",
                f"{result.correlations.mean():.2f}",
                *(str(result.rates[name]) for name in study.POLICIES),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(
    policies: Mapping[str, ccpolicy.Policy],
    *,
    replications: int,
    seed: int,
    output: Path,
    rows_per_week: int = ROWS_PER_WEEK,
    truth_rows_per_week: int = TRUTH_ROWS_PER_WEEK,
) -> str:
    """Run every contest, write the tables into ``output`` between the markers and return them."""
    started = time.perf_counter()
    cycles = real_cycles(
        CONTESTS,
        replications=replications,
        seed=seed,
        rows_per_week=rows_per_week,
        truth_rows_per_week=truth_rows_per_week,
        progress=True,
    )
    table = results_markdown(
        contest_results(policies, cycles),
        replications=replications,
        seed=seed,
        rows_per_week=rows_per_week,
        truth_rows_per_week=truth_rows_per_week,
    )
    study.write_results(output, table, begin=BEGIN, end=END)
    print(f"\n{table}\n\nwritten to {output} in {time.perf_counter() - started:.0f} s")
    return table


@dataclass(frozen=True)
class _Contestant:
    """A trained model's scores on the replication's hold-out and on the independent sample."""

    scores: np.ndarray
    train_weeks: PeriodRange
    metrics: dict[str, float]
    true_auc: float

    @classmethod
    def train(
        cls,
        spec: ModelSpec,
        data: pd.DataFrame,
        windows: Windows,
        *,
        holdout: pd.DataFrame,
        truth: pd.DataFrame,
    ) -> _Contestant:
        """Train ``spec`` on ``data``'s windows as the flows do; score it once on each hold-out.

        ``holdout`` is passed in rather than cut from ``data``: a challenger trained on
        another sample must still be judged on the champion's rows.
        """
        trained = train_model(
            spec,
            _weeks(data, windows.train),
            _weeks(data, windows.test),
            train_periods=windows.train,
            test_periods=windows.test,
        )
        # A forest sums its trees' votes in whatever order its threads finish, which moves
        # scores by an ulp from run to run; one thread makes every score reproducible.
        trained.model.set_params(classifier__n_jobs=1)
        scores = trained.model.predict_proba(holdout[list(FEATURE_COLUMNS)])[:, 1]
        true_scores = trained.model.predict_proba(truth[list(FEATURE_COLUMNS)])[:, 1]
        return cls(
            scores=scores,
            train_weeks=windows.train,
            metrics=classification_metrics(holdout[LABEL_COLUMN].to_numpy(), scores),
            true_auc=roc_auc(truth[LABEL_COLUMN].to_numpy(), true_scores),
        )


def _cycle(champion: _Contestant, challenger: _Contestant, holdout: pd.DataFrame) -> RealCycle:
    """The evidence of one weekly decision, built as flows.cycle.promotion builds it."""
    evidence = ccpolicy.Evidence(
        holdout[LABEL_COLUMN].to_numpy(),
        champion.scores,
        challenger.scores,
        champion_metrics=champion.metrics,
        challenger_metrics=challenger.metrics,
        champion_window=(champion.train_weeks.start, champion.train_weeks.end),
        challenger_window=(challenger.train_weeks.start, challenger.train_weeks.end),
        data_week=N_WEEKS - 1,
    )
    return RealCycle(evidence, challenger.true_auc - champion.true_auc)


def _champion_windows() -> Windows:
    return champion_windows(0, N_WEEKS - 1, WINDOW_SPEC)


def _challenger_windows() -> Windows:
    return challenger_windows(0, N_WEEKS - 1, WINDOW_SPEC)


def _weeks(data: pd.DataFrame, weeks: PeriodRange) -> pd.DataFrame:
    """The rows of ``weeks``, as the flows' data sources read them."""
    return data[data[WEEK_COLUMN].between(weeks.start, weeks.end)].reset_index(drop=True)


def _seeds(seed: int, *key: int) -> list[int]:
    """Three independent 32-bit seeds for the stream named ``key`` (legacy NumPy takes < 2**32)."""
    return [int(s) for s in np.random.SeedSequence([seed, *key]).generate_state(3)]
