"""The README's live test on the churn data, as an A/A test: a twin of the champion never promotes.

The candidate is the champion's own spec with another seed, trained on the champion's
own rows: no better, no worse. It runs the worked example's steps (three weeks of
traffic scored in shadow, outcomes in two deliveries, a review after each) at several
data seeds, and no look may promote it. The README test runs the example itself,
where the forest that saw the drift is promoted at the second look.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from flows.backends import open_backend
from flows.config import load_settings
from flows.cycle import steps
from flows.cycle.contestants import train_and_log
from flows.data.specs import ModelSpec
from flows.live.candidate import Candidate
from flows.names import CHALLENGER
from flows.records import LedgerEntry, Outcome
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "own-data"
FOREST = (
    'estimator = "sklearn.ensemble.RandomForestClassifier"\n'
    "params = { n_estimators = 40, max_depth = 8, min_samples_leaf = 5, random_state = 42 }\n"
)
SEEDS = (2025, 11, 12)
"""The example's own data seed and two more samples of the same table."""


def _make_live():
    sys.path.insert(0, str(EXAMPLE))
    try:
        spec = importlib.util.spec_from_file_location("make_live", EXAMPLE / "make_live.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLE))
    return module


def _aa_home(folder: Path, seed: int):
    """The example's files at ``seed``, a forest champion, and its twin as the candidate."""
    make_live = _make_live()
    make_live.write_live_example(folder, seed=seed)
    config = (folder / "config.toml").read_text()
    champion = config[config.index("[champion]") : config.index("[challenger]")]
    (folder / "config.toml").write_text(config.replace(champion, f"[champion]\n{FOREST}\n"))
    settings = load_settings(home=folder / "home", config=folder / "config.toml")
    checked = steps.check_files(settings, [folder / "history.csv"])
    with open_backend(settings) as backend:
        steps.ingest(backend, settings, checked)
        steps.train_champion(backend, settings, actor="tester")
        plan = steps.plan_cycle(backend, settings, role="champion")
        params = {**settings.champion_spec.params, "random_state": 7}
        twin, _, _ = train_and_log(
            backend,
            ModelSpec(settings.champion_spec.estimator, params),
            plan.windows,
            role=CHALLENGER,
        )
        live = settings.live
        test = Candidate(
            version=twin.name,
            champion_version=str(backend.registry.live_version()),
            mode=live.mode,
            share=live.share,
            salt=f"aa-{seed}",
            maturity=live.maturity,
            policy=live.policy,
            policy_params=live.params,
            since_period=plan.data_period,
        )
        backend.registry.append_ledger(
            LedgerEntry(
                outcome=Outcome.CANDIDATE,
                reason="A/A: the champion's twin under live test.",
                actor="tester",
                champion_version=test.champion_version,
                challenger_version=test.version,
                details=test.to_details(),
            )
        )
    return settings


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_an_aa_candidate_never_promotes_at_the_examples_seeds(tmp_path, seed):
    settings = _aa_home(tmp_path, seed)
    outcomes = []
    with open_backend(settings) as backend:
        for week in (16, 17, 18):
            steps.score_file(backend, tmp_path / f"traffic-{week}.csv", tmp_path / "s.csv")
        for week in (16, 17):
            delivered = steps.read_outcomes([tmp_path / f"outcomes-{week}.csv"], settings.contract)
            steps.ingest_outcomes(backend, delivered)
            outcomes.append(steps.review(backend, settings))
        assert backend.registry.live_version() == outcomes[0].candidate.champion_version
    assert [r.outcome for r in outcomes] == [Outcome.CONTINUED, Outcome.CONTINUED]
    assert [len(r.looks) for r in outcomes] == [1, 2]
    assert all(abs(look.z) < look.boundary for look in outcomes[-1].looks)
