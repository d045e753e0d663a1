"""The cycle's steps end to end on the embedded backend, without an orchestrator."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.config import Settings
from flows.cycle import stages, steps
from flows.data.periods import WindowSpec
from flows.data.quickstart import GeneratorSpec
from flows.errors import ConfigError, LeakageError, NoChampionError
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote


def test_champion_is_bootstrapped_live_on_the_quickstart_weeks(backend):
    status = backend.registry.status()
    champion = backend.registry.champion()
    assert status.consistent and status.live_version == champion.name
    assert champion.train_weeks == (0, 9) and champion.test_weeks == (10, 12)
    assert champion.row_count == 4000
    assert backend.registry.ledger()[-1].outcome is Outcome.BOOTSTRAPPED


def test_weekly_cycle_records_its_decision_with_evidence(backend, settings):
    report = stages.weekly_cycle(backend, settings, ccpolicy.load_policy("significance_margin"))
    entry = report.entry
    assert entry.outcome in (Outcome.KEPT, Outcome.INCONCLUSIVE, Outcome.PROMOTED)
    assert entry.policy == "significance_margin" and "p_value" in entry.details
    assert entry.holdout_weeks == (16, 19) and entry.data_week == 19
    assert set(entry.metrics) == {"champion", "challenger"}
    assert report.evaluation.challenger.train_weeks == (3, 12)
    stored = ccpolicy.Evidence.from_npz_bytes(backend.registry.ledger_evidence(entry.id))
    assert stored.n_rows == 1600 and stored.holdout_fingerprint == entry.holdout_fingerprint


def test_next_cycle_trains_on_the_new_weeks(backend, settings):
    first = steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
    steps.generate_data(backend, GeneratorSpec(), append_weeks=4)
    second = steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
    assert first.version.train_weeks == (3, 12)
    assert second.version.train_weeks == (7, 16)
    assert second.windows.holdout.start == 20 and second.plan.data_period == 23
    assert second.version.name != first.version.name


def test_unchanged_cycle_reuses_the_challenger(backend, settings):
    first = steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
    count = len(backend.registry.list_versions())
    again = steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
    assert not first.reused and again.reused
    assert again.version == first.version
    assert len(backend.registry.list_versions()) == count


def test_champion_switched_after_evaluation_is_not_overwritten(backend, settings):
    champion = backend.registry.live_version()
    retrained = steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
    evaluation = steps.evaluate(
        backend, steps.plan_cycle(backend, settings), challenger=retrained.version.name
    )
    steps.generate_data(backend, GeneratorSpec(), append_weeks=1)  # another run, newer data
    other = steps.retrain_challenger(
        backend, settings, steps.plan_cycle(backend, settings)
    ).version.name
    backend.registry.promote_if_champion_is(
        champion, other, steps.LedgerEntry(outcome=Outcome.PROMOTED, reason="another run")
    )

    report = steps.decide(backend, evaluation, AlwaysPromote())

    assert report.entry.outcome is Outcome.STALE_CHAMPION
    assert backend.registry.live_version() == other
    assert f"live version is now {other}" in report.entry.reason
    assert backend.registry.status().consistent


def test_dry_run_decides_without_acting(backend, settings):
    live = backend.registry.live_version()
    report = stages.weekly_cycle(backend, settings, AlwaysPromote(), dry_run=True)
    assert report.entry.outcome is Outcome.DRY_RUN
    assert "would be promoted" in report.entry.reason
    assert backend.registry.live_version() == live


def test_every_decision_records_the_evidences_strength_in_the_ledger(backend, settings):
    report = stages.weekly_cycle(backend, settings, AlwaysPromote(), dry_run=True)
    stored = backend.registry.ledger()[-1]
    assert stored.id == report.entry.id
    assert set(stored.strength) == {
        "auc_gain", "p_value", "ci_low", "ci_high", "min_detectable_gain"
    }  # fmt: skip
    assert stored.strength["ci_low"] <= stored.strength["auc_gain"] <= stored.strength["ci_high"]
    assert 0 < stored.strength["p_value"] <= 1


def test_promotion_then_rollback_then_history(backend, settings):
    champion = backend.registry.live_version()
    report = stages.weekly_cycle(backend, settings, AlwaysPromote())
    assert report.promoted and backend.registry.live_version() == report.entry.challenger_version
    back = steps.rollback(backend, reason="bad week", actor="tester")
    assert back.outcome is Outcome.ROLLED_BACK and backend.registry.live_version() == champion
    assert "bad week" in back.reason
    assert backend.registry.status().consistent


def test_contestant_trained_on_hold_out_rows_is_refused(backend, settings):
    retrained = steps.retrain_challenger(
        backend, settings, steps.plan_cycle(backend, settings)
    )  # weeks 3–12
    wide_holdout = replace(settings, windows=WindowSpec(train=3, test=1, holdout=9))
    with pytest.raises(LeakageError, match=f"{retrained.version.name} was trained on weeks 3–12"):
        steps.evaluate(
            backend, steps.plan_cycle(backend, wide_holdout), challenger=retrained.version.name
        )


def test_train_champion_twice_needs_replace(backend, settings):
    with pytest.raises(ConfigError, match="already has a live champion"):
        steps.train_champion(backend, settings)


def test_scoring_labels_rows_with_the_live_version(backend):
    result = steps.score(backend)
    assert result.n_rows == 400
    assert set(result.scores["model_version"]) == {backend.registry.live_version()}
    assert result.scores["approved_probability"].between(0, 1).all()


def test_cycle_without_a_champion_fails_before_training(tmp_path):
    settings = Settings(home=tmp_path / "empty")
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec())
        with pytest.raises(NoChampionError, match="train-champion"):
            steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))
        assert backend.registry.list_versions() == []


def test_replay_reads_stored_evidence_with_another_policy(backend, settings):
    stages.weekly_cycle(backend, settings, ccpolicy.load_policy("significance_margin"))
    results = steps.replay(backend, ccpolicy.load_policy("auc_greater"))
    assert len(results) == 1
    entry, decision = results[0]
    assert decision.policy == "auc_greater"
    expected = "promote" if entry.details["auc_delta"] > 0 else "keep"
    assert decision.verdict.value == expected


class TestReplayingChosenEntries:
    @pytest.fixture
    def decided(self, backend, settings):
        """Ledger: #1 bootstrapped (no evidence), #2 and #3 decisions with evidence."""
        policy = ccpolicy.load_policy("significance_margin")
        stages.weekly_cycle(backend, settings, policy)
        stages.weekly_cycle(backend, settings, policy, dry_run=True)
        return backend

    def test_several_entries_after_one_flag(self, decided, settings, capsys):
        from flows.cli import main

        assert main(["replay", "--home", str(settings.home), "--entry", "2", "3", "--json"]) == 0
        replayed = json.loads(capsys.readouterr().out)
        assert [r["entry"]["id"] for r in replayed] == [2, 3]

    def test_an_entry_that_does_not_exist_is_named(self, decided):
        with pytest.raises(ConfigError, match="No ledger entry 99; the ledger holds entries 1–3"):
            steps.replay(decided, ccpolicy.load_policy("auc_greater"), entry_ids=[99])

    def test_an_entry_without_evidence_names_those_with_it(self, decided):
        with pytest.raises(
            ConfigError,
            match=r"entry 1 \(bootstrapped\) has no stored evidence.*with evidence: 2, 3",
        ):
            steps.replay(decided, ccpolicy.load_policy("auc_greater"), entry_ids=[1])
