"""A weekly cycle in live mode opens a live test instead of promoting, one test at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows.backends import open_backend
from flows.cycle import stages, steps
from flows.live.settings import LiveSettings
from flows.names import CHALLENGER
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote
from tests.flows.loans import loans, own_settings

LIVE = LiveSettings(mode="shadow", maturity=1, params={"max_rows": 400, "max_looks": 4})


@pytest.fixture
def live_home(tmp_path):
    """A home with 20 weeks of loans, a champion, and [live] shadow mode."""
    settings = replace(own_settings(tmp_path), live=LIVE)
    with open_backend(settings) as backend:
        backend.source.write(loans(138))
        steps.train_champion(backend, settings, actor="tester")
    return settings


def test_a_passing_challenger_becomes_the_candidate_and_the_champion_stays(live_home):
    with open_backend(live_home) as backend:
        champion = backend.registry.live_version()
        report = stages.weekly_cycle(backend, live_home, AlwaysPromote())
        entry = report.entry
        assert entry.outcome is Outcome.CANDIDATE
        assert backend.registry.live_version() == champion
        assert backend.registry.version_by_alias(CHALLENGER) == entry.challenger_version
        candidate = steps.live_candidate(backend)
    assert candidate.version == entry.challenger_version
    assert candidate.champion_version == champion
    assert candidate.mode == "shadow" and candidate.maturity == 1
    assert candidate.since_period == entry.data_week
    assert len(candidate.salt) == 16
    assert candidate.policy == "sequential_margin"
    assert candidate.policy_params["max_rows"] == 400
    assert candidate.policy_params["alpha"] == 0.05  # the default, frozen with the test
    assert "becomes the live candidate" in entry.reason


def test_a_newer_passing_challenger_is_kept_while_a_test_is_open(live_home):
    with open_backend(live_home) as backend:
        first = stages.weekly_cycle(backend, live_home, AlwaysPromote())
        backend.source.write(loans(14, start="2024-05-20", seed=1))
        second = stages.weekly_cycle(backend, live_home, AlwaysPromote())
        assert second.entry.challenger_version != first.entry.challenger_version
        assert second.entry.outcome is Outcome.KEPT
        assert f"candidate {first.entry.challenger_version} is under live test" in (
            second.entry.reason
        )
        assert backend.registry.version_by_alias(CHALLENGER) == first.entry.challenger_version
        assert steps.live_candidate(backend).version == first.entry.challenger_version


def test_salts_differ_between_candidates(tmp_path):
    salts = set()
    for n in range(2):
        settings = replace(own_settings(tmp_path / str(n)), live=LIVE)
        with open_backend(settings) as backend:
            backend.source.write(loans(138))
            steps.train_champion(backend, settings, actor="tester")
            stages.weekly_cycle(backend, settings, AlwaysPromote())
            salts.add(steps.live_candidate(backend).salt)
    assert len(salts) == 2


def test_an_unknown_live_policy_fails_before_any_training(live_home):
    settings = replace(live_home, live=LiveSettings(mode="shadow", policy="no_such"))
    with open_backend(settings) as backend:
        versions = len(backend.registry.list_versions())
        cycle = stages.Cycle(backend, settings, stages.CycleParameters(policy="auc_greater"))
        outcome = cycle.run()
        assert "no_such" in str(outcome.error)
        assert len(backend.registry.list_versions()) == versions


def test_a_dry_run_says_it_would_open_a_test_and_opens_none(live_home):
    with open_backend(live_home) as backend:
        report = stages.weekly_cycle(backend, live_home, AlwaysPromote(), dry_run=True)
        assert report.entry.outcome is Outcome.DRY_RUN
        assert "(dry run: would be candidate; nothing changed)" in report.entry.reason
        assert steps.live_candidate(backend) is None
        assert backend.registry.version_by_alias(CHALLENGER) is None
