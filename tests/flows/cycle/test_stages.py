"""The cycle defined once: its parts, its hand-offs across processes, its one rule for a run's end."""

from __future__ import annotations

import pytest

from flows.cycle import stages, steps
from flows.cycle.stages import ChallengerRef, Cycle, CycleParameters, Handoff
from flows.errors import ConfigError, NoChampionError
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote


def _cycle(backend, settings, *, dry_run=False, run_id="run-1", policy=None):
    parameters = CycleParameters("auc_greater", {}, dry_run)
    return Cycle(backend, settings, parameters, run_id=run_id, policy=policy)


def _versions(backend):
    return sorted(version.name for version in backend.registry.list_versions())


def test_a_handoff_survives_json_without_the_in_process_model(backend, settings):
    cycle = _cycle(backend, settings, dry_run=True)
    plan = cycle.plan()
    handed = Handoff(plan=plan, challenger=cycle.retrain(plan))
    assert handed.challenger.model is not None and not handed.challenger.logged

    again = Handoff.from_json(handed.to_json())
    assert again == handed  # the plan and the reference; the model stays in its process
    assert again.challenger.model is None and again.challenger.record is None
    assert len(handed.to_json()) < 400


def test_a_dry_run_split_across_processes_trains_again_and_logs_nothing(backend, settings):
    """The graph's way: retrain in one task, evaluate and decide in the next."""
    before = _versions(backend)
    first = _cycle(backend, settings, dry_run=True, policy=AlwaysPromote())
    handed = first.run(stages.PLAN, stages.RETRAIN).handoff

    second = _cycle(backend, settings, dry_run=True, policy=AlwaysPromote())
    outcome = second.run(
        stages.EVALUATE, stages.DECIDE, handoff=Handoff.from_json(handed.to_json())
    )

    assert outcome.error is None
    assert outcome.report.entry.outcome is Outcome.DRY_RUN
    assert outcome.report.entry.challenger_version == handed.challenger.version
    assert _versions(backend) == before


def test_a_failed_stage_records_the_end_once_with_the_plan(tmp_path, settings):
    from flows.backends import open_backend
    from flows.data.quickstart import GeneratorSpec

    with open_backend(settings) as empty:
        steps.generate_data(empty, GeneratorSpec())  # data, but no champion yet
        cycle = _cycle(empty, settings)
        outcome = cycle.run()
        again = cycle.run()  # the same run noticing its end a second time
        entries = steps.run_entries(empty, "run-1")

    assert isinstance(outcome.error, NoChampionError)
    assert outcome.failure is not None and again.failure is None
    assert [entry.outcome for entry in entries] == [Outcome.FAILED]
    assert entries[0].plan["holdout"] == [16, 19] and "NoChampionError" in entries[0].reason


def test_a_run_with_a_decision_gets_no_failure_entry(backend, settings):
    report = stages.weekly_cycle(backend, settings, AlwaysPromote(), run_id="run-2")
    assert steps.record_end(backend, run_id="run-2", error="crashed later") is None
    assert [e.id for e in steps.run_entries(backend, "run-2")] == [report.entry.id]


@pytest.mark.parametrize(
    ("first", "last"),
    [("check-policy", "plan"), ("retrain", "plan"), ("plan", "evaluate"), ("decide", "decide")],
)
def test_only_contiguous_parts_that_keep_evaluate_with_decide_run(backend, settings, first, last):
    with pytest.raises(ConfigError):
        _cycle(backend, settings).run(first, last)


def test_a_later_part_without_what_earlier_stages_hand_on_fails_and_is_recorded(backend, settings):
    outcome = _cycle(backend, settings, run_id="run-3").run(stages.EVALUATE, stages.DECIDE)
    assert isinstance(outcome.error, ConfigError) and "need the plan" in str(outcome.error)
    assert [e.outcome for e in steps.run_entries(backend, "run-3")] == [Outcome.FAILED]


def test_a_handoff_from_another_release_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="expects the plan and challenger"):
        Handoff.from_json('{"challenger": "V1"}', expected_by="Step X")


def test_bad_run_parameters_are_refused():
    with pytest.raises(ConfigError, match="dry_run must be true or false"):
        CycleParameters("auc_greater", {}, "yes")
    assert ChallengerRef.from_dict({"version": "V", "logged": False}).reused is False
