"""A dry run trains and judges a challenger but changes nothing except its own ledger entry."""

from __future__ import annotations

from flows.cycle import stages
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote

"""The fixtures of the step tests: a home with data and a live champion, small forests."""


def _state(registry):
    status = registry.status().to_dict()
    status.pop("last_entry")
    return [v.name for v in registry.list_versions()], status


def test_a_dry_run_logs_no_version_and_moves_no_pointer(backend, settings):
    registry = backend.registry
    before, entries = _state(registry), len(registry.ledger())
    artifacts = sorted(p.name for p in registry.artifacts.iterdir())

    report = stages.weekly_cycle(backend, settings, AlwaysPromote(), dry_run=True)

    assert report.entry.outcome is Outcome.DRY_RUN and "would be promoted" in report.entry.reason
    assert _state(registry) == before and len(registry.ledger()) == entries + 1
    assert sorted(p.name for p in registry.artifacts.iterdir()) == artifacts
    assert report.entry.challenger_version not in before[0]
    assert report.evaluation.challenger_metrics["roc_auc"] > 0.5
    assert registry.ledger_evidence(report.entry.id)  # replayable like any decision


def test_a_real_run_after_a_dry_run_trains_and_logs_the_same_challenger(backend, settings):
    dry = stages.weekly_cycle(backend, settings, AlwaysPromote(), dry_run=True)
    real = stages.weekly_cycle(backend, settings, AlwaysPromote())
    assert real.entry.challenger_version == dry.entry.challenger_version
    assert real.evaluation.challenger_metrics == dry.evaluation.challenger_metrics
    assert real.promoted and backend.registry.live_version() == dry.entry.challenger_version
