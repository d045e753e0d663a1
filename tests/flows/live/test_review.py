"""The live review: one look per review, recorded; promote through the compare-and-set."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import ccpolicy
from flows.backends import open_backend
from flows.cycle import stages, steps
from flows.live.review import NoCandidateError
from flows.names import CHALLENGER, LIVE_VERSION
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote
from tests.flows.live.homes import live_home
from tests.flows.live.test_candidacy import LIVE
from tests.flows.loans import loans, own_settings


def log_matured(backend, rows):
    """Store ``rows`` in the backend's score log: their scores, then their outcomes."""
    log = steps.score_log(backend)
    log.write_scores(rows.drop(columns=["label"]))
    outcomes = rows[["id", "label"]].assign(observed_at="")
    log.add_outcomes(outcomes, through_period=int(rows["period"].max()))


def matured_rows(candidate, *, periods, per_period=100, gain=1.0, seed=0, mode="shadow"):
    """Labelled rows scored in ``periods``: the candidate's scores sharper by ``gain``."""
    rng = np.random.default_rng(seed)
    n = len(periods) * per_period
    label = rng.integers(0, 2, n)
    champion = 1 / (1 + np.exp(-(label - 0.5) * 1.0 - rng.normal(0, 1, n)))
    sharper = 1 / (1 + np.exp(-(label - 0.5) * (1.0 + gain) - rng.normal(0, 1, n)))
    arm = (
        np.where(np.arange(n) % 2 == 0, "champion", "candidate") if mode == "split" else "champion"
    )
    return pd.DataFrame(
        {
            "id": [f"S{seed}-{i}" for i in range(n)],
            "period": np.repeat(periods, per_period),
            "arm": arm,
            "version": candidate.champion_version,
            "champion_version": candidate.champion_version,
            "champion_score": champion,
            "candidate_version": candidate.version,
            "candidate_score": sharper,
            "scored_at": "2024-06-01T00:00:00+00:00",
            "label": label,
        }
    )


@pytest.fixture
def tested(tmp_path):
    """A home whose weekly cycle opened a shadow test (maturity 1; data up to week 20)."""
    settings = replace(own_settings(tmp_path), live=LIVE)
    with open_backend(settings) as backend:
        backend.source.write(loans(138))
        steps.train_champion(backend, settings, actor="tester")
        stages.weekly_cycle(backend, settings, AlwaysPromote())
        candidate = steps.live_candidate(backend)
    return settings, candidate


def test_a_review_without_a_candidate_says_so_and_records_nothing(tmp_path):
    settings = own_settings(tmp_path)
    with open_backend(settings) as backend:
        backend.source.write(loans(138))
        steps.train_champion(backend, settings, actor="tester")
        before = backend.registry.ledger()
        with pytest.raises(NoCandidateError, match="No candidate is under live test"):
            steps.review(backend, settings)
        assert backend.registry.ledger() == before


def test_no_matured_rows_is_not_a_look(tested):
    settings, _ = tested
    with open_backend(settings) as backend:
        before = len(backend.registry.ledger())
        result = steps.review(backend, settings)
        assert result.outcome is None and "nothing recorded" in result.reason
        assert len(backend.registry.ledger()) == before


def test_looks_continue_then_a_clear_gain_promotes_through_the_compare_and_set(tested):
    settings, candidate = tested
    with open_backend(settings) as backend:
        newest = steps.data_span(backend)[1]
        log_matured(backend, matured_rows(candidate, periods=[newest - 1], per_period=60))
        first = steps.review(backend, settings)
        assert first.outcome is Outcome.CONTINUED
        assert first.entry.details["live"]["look"]["number"] == 1
        assert first.entry.has_evidence
        assert backend.registry.live_version() == candidate.champion_version
        dry = steps.review(backend, settings, dry_run=True)
        assert dry.outcome is None  # the same rows again add nothing: not a look
        more = matured_rows(candidate, periods=[newest - 3, newest - 2, newest - 1], gain=3, seed=1)
        log_matured(backend, more)
        second = steps.review(backend, settings, dry_run=True)
        assert second.outcome is Outcome.PROMOTED and second.entry is None
        assert backend.registry.live_version() == candidate.champion_version
        second = steps.review(backend, settings)
        assert second.outcome is Outcome.PROMOTED
        assert [look.number for look in second.looks] == [1, 2]
        assert second.entry.details["live"]["look"]["alpha_spent"] > 0
        assert backend.registry.live_version() == candidate.version
        assert steps.live_candidate(backend) is None


def test_rows_beyond_maturity_do_not_count(tested):
    settings, candidate = tested
    with open_backend(settings) as backend:
        newest = steps.data_span(backend)[1]
        log_matured(backend, matured_rows(candidate, periods=[newest]))  # maturity 1: too young
        assert steps.review(backend, settings).outcome is None


def test_the_last_look_without_a_crossing_rejects_and_clears_the_alias(tested):
    settings, candidate = tested
    with open_backend(settings) as backend:
        newest = steps.data_span(backend)[1]
        rows = matured_rows(candidate, periods=[newest - 2, newest - 1], per_period=200, gain=-0.5)
        log_matured(backend, rows)  # max_rows 400 reached: the final look
        result = steps.review(backend, settings)
        assert result.outcome is Outcome.REJECTED
        assert backend.registry.version_by_alias(CHALLENGER) is None
        assert backend.registry.live_version() == candidate.champion_version
        assert steps.live_candidate(backend) is None


def test_split_evidence_is_independent(tested):
    settings, candidate = tested
    split = replace(candidate, mode="split")
    with open_backend(settings) as backend:
        newest = steps.data_span(backend)[1]
        rows = matured_rows(split, periods=[newest - 1], mode="split")
        from flows.live.review import live_evidence

        evidence = live_evidence(rows, split, earlier=(), data_period=newest, unit="week")
    assert evidence.design == "independent"
    assert evidence.champion_scores.size == evidence.challenger_scores.size == 50


def test_a_champion_moved_outside_the_ledger_ends_the_test(tested):
    settings, candidate = tested
    with sqlite3.connect(settings.home / "registry.sqlite") as conn:  # as an admin might
        conn.execute("UPDATE tags SET value=? WHERE tag=?", (candidate.version, LIVE_VERSION))
    with open_backend(settings) as backend:
        result = steps.review(backend, settings)
        assert result.outcome is Outcome.REJECTED
        assert "its live test ends without a decision" in result.reason
        assert steps.live_candidate(backend) is None


def test_a_split_test_is_judged_on_each_arms_own_rows(tmp_path):
    settings = live_home(tmp_path / "home", mode="split", share=0.5)
    with open_backend(settings) as backend:
        test = steps.live_candidate(backend)
        newest = steps.live_clock(backend)
        log_matured(backend, matured_rows(test, periods=[newest - 2], per_period=400, mode="split"))
        result = steps.review(backend, settings)
        stored = backend.registry.ledger_evidence(result.entry.id)
    assert result.outcome is Outcome.CONTINUED and result.rows == 400
    assert result.details["design"] == "independent"
    assert ccpolicy.Evidence.from_npz_bytes(stored).design == "independent"
