"""The cycle's plan: computed once, handed to every step, recorded in the ledger."""

from __future__ import annotations

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.config import Settings
from flows.cycle import steps
from flows.data.periods import PeriodRange, WindowSpec
from flows.data.plan import CyclePlan
from flows.data.quickstart import GeneratorSpec
from flows.errors import EmptyWindowError


class TestCyclePlan:
    def test_a_weekly_plan_holds_the_span_and_the_quickstart_windows(self):
        plan = CyclePlan.for_role((0, 19), WindowSpec(), "challenger")
        assert (plan.first_period, plan.data_period) == (0, 19)
        assert plan.windows.train == PeriodRange(3, 12) and plan.holdout == PeriodRange(16, 19)

    def test_a_bootstrap_plan_is_one_test_window_earlier(self):
        plan = CyclePlan.for_role((0, 19), WindowSpec(), "champion")
        assert plan.windows.train == PeriodRange(0, 9) and plan.windows.test == PeriodRange(10, 12)

    def test_it_survives_the_trip_through_json(self):
        plan = CyclePlan.for_role((2, 30), WindowSpec(5, 2, 3), "challenger")
        assert CyclePlan.from_dict(plan.to_dict()) == plan
        assert plan.to_dict() == {
            "first_period": 2, "data_period": 30, "period": "week",
            "first_period_starts": None, "train": [21, 25], "test": [26, 27], "holdout": [28, 30],
        }  # fmt: skip

    def test_too_little_data_fails_when_planning(self, tmp_path):
        settings = Settings(home=tmp_path)
        with (
            open_backend(settings) as empty,
            pytest.raises(EmptyWindowError, match="No rows are stored yet"),
        ):
            steps.plan_cycle(empty, settings)


def test_rows_appended_between_retrain_and_evaluate_do_not_move_the_holdout(backend, settings):
    plan = steps.plan_cycle(backend, settings)
    retrained = steps.retrain_challenger(backend, settings, plan)
    steps.generate_data(backend, GeneratorSpec(), append_weeks=4)  # weeks 20–23 arrive meanwhile
    assert backend.source.period_span() == (0, 23)

    evaluation = steps.evaluate(backend, plan, challenger=retrained.version.name)

    assert evaluation.holdout == PeriodRange(16, 19) == plan.holdout
    assert evaluation.data_period == 19 and evaluation.n_rows == 4 * 400
    assert retrained.version.train_weeks == (3, 12)


def test_the_ledger_records_the_plan_a_decision_was_made_on(backend, settings):
    plan = steps.plan_cycle(backend, settings)
    retrained = steps.retrain_challenger(backend, settings, plan)
    evaluation = steps.evaluate(backend, plan, challenger=retrained.version.name)
    policy = ccpolicy.load_policy("auc_greater")

    entry = steps.decide(backend, evaluation, policy, plan=plan, actor="tester").entry

    assert entry.plan == plan.to_dict()
    assert backend.registry.ledger()[-1].plan == plan.to_dict()


def test_a_failure_after_planning_records_the_plan(backend, settings):
    plan = steps.plan_cycle(backend, settings)
    entry = steps.record_failure(backend, error="boom", plan=plan)
    assert entry.plan == plan.to_dict() and entry.data_week == 19
