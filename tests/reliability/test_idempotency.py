"""Re-running a weekly cycle on unchanged data and specs reuses its challenger."""

from __future__ import annotations

import logging

import ccpolicy
from flows.cycle import stages, steps
from flows.records import Outcome
from tests.reliability.helpers import assert_consistent, open_home, pointers


def test_retraining_on_unchanged_data_reuses_the_challenger_and_says_so(home, caplog):
    with open_home(home) as (backend, settings):
        first = steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
        n_versions = len(backend.registry.list_versions())
        with caplog.at_level(logging.INFO, logger="flows.cycle.contestants"):
            second = steps.retrain_challenger(
                backend, settings, steps.plan_cycle(backend, settings)
            )
        assert (first.reused, second.reused) == (False, True)
        assert second.version == first.version
        assert len(backend.registry.list_versions()) == n_versions == 2
    assert f"Reusing version {first.version.name}: same spec and same training rows" in caplog.text


def test_a_repeated_weekly_cycle_adds_no_version_and_keeps_the_live_one(home):
    policy = ccpolicy.load_policy("auc_greater")
    with open_home(home) as (backend, settings):
        first = stages.weekly_cycle(backend, settings, policy)
        after_first = (pointers(backend.registry), backend.registry.list_versions())
        second = stages.weekly_cycle(backend, settings, policy)
        assert (pointers(backend.registry), backend.registry.list_versions()) == after_first
        assert_consistent(backend.registry)
    assert first.entry.outcome is Outcome.PROMOTED
    assert second.entry.outcome is Outcome.KEPT
    assert "is the live champion itself" in second.entry.reason
    assert second.entry.challenger_version == first.entry.challenger_version
