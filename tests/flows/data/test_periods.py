"""Periods in the contract's unit: ranges, plans, records and messages say weeks, days or months."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from rich.console import Console

import ccpolicy
from flows.backends import open_backend
from flows.cli import build_parser
from flows.cli._render import print_versions
from flows.cycle import stages, steps
from flows.cycle.promotion import build_evidence
from flows.cycle.report import decision_markdown, versions_markdown
from flows.cycle.trend import read_trend, trend_rows
from flows.data.periods import (
    WEEKS,
    Calendar,
    PeriodRange,
    WindowSpec,
    challenger_windows,
    period_index,
    period_start,
)
from flows.data.plan import CyclePlan
from flows.errors import EmptyWindowError
from flows.orchestration.run_story import name_run
from flows.records import LedgerEntry, Outcome
from tests.flows.cycles import AlwaysPromote
from tests.flows.loans import LOANS_CONTRACT, loans, own_settings

MONTHS = Calendar("month", period_index("1984-01-01", "month"))
"""Months counted from January 1984."""


class TestCalendar:
    def test_a_range_says_its_unit_and_its_dates(self):
        assert str(MONTHS.range(0, 35)) == "months 0–35 (Jan 1984 – Dec 1986)"
        assert str(Calendar("day", period_index("2024-01-01", "day")).range(0, 6)) == (
            "days 0–6 (2024-01-01 – 2024-01-07)"
        )
        assert str(Calendar("week", period_index("2024-01-01", "week")).range(1, 2)) == (
            "weeks 1–2 (2024-01-08 – 2024-01-21)"
        )
        assert str(PeriodRange(16, 19)) == "weeks 16–19"  # no origin: numbers only

    def test_one_period_and_counts_read_in_the_unit(self):
        assert MONTHS.period(78) == "month 78 (Jul 1990)"
        assert (MONTHS.periods(1), MONTHS.periods(4), WEEKS.periods(2)) == (
            "1 month",
            "4 months",
            "2 weeks",
        )

    @pytest.mark.parametrize("unit", ["day", "week", "month"])
    def test_a_period_index_and_its_start_date_are_inverse(self, unit):
        for index in (0, 1, 2_000, 19_999):
            assert period_index(period_start(index, unit), unit) == index

    def test_the_unit_is_not_part_of_equality(self):
        assert MONTHS.range(3, 12) == PeriodRange(3, 12)

    def test_windows_too_large_for_the_data_name_the_unit_and_the_settings(self):
        with pytest.raises(EmptyWindowError) as caught:
            challenger_windows(0, 15, WindowSpec(), calendar=MONTHS)
        message = str(caught.value)
        assert "needs months -1–8 (Dec 1983 – Sep 1984)" in message
        assert "starts at month 0 (Jan 1984)" in message
        assert "need at least 17 months" in message
        assert "[windows] train, test or holdout" in message


class TestRecordsWrittenBeforeUnits:
    """Ledger entries already stored hold the plan's old keys: they still load, as weeks."""

    OLD_PLAN: ClassVar[dict[str, Any]] = {"first_week": 0, "data_week": 19, "train": [3, 12], "test": [13, 15],
                "holdout": [16, 19]}  # fmt: skip

    def test_an_old_plan_loads_as_weeks(self):
        plan = CyclePlan.from_dict(self.OLD_PLAN)
        assert (plan.first_period, plan.data_period, plan.calendar) == (0, 19, WEEKS)
        assert plan.holdout == PeriodRange(16, 19)
        assert str(plan.windows.train) == "weeks 3–12"

    def test_an_old_ledger_entry_reads_back_from_a_home(self, tmp_path):
        settings = own_settings(tmp_path)
        old = LedgerEntry(
            outcome=Outcome.KEPT,
            reason="kept",
            holdout_weeks=(16, 19),
            data_week=19,
            plan=self.OLD_PLAN,
        )
        with open_backend(settings) as backend:
            backend.source.write(loans(14))
            backend.registry.append_ledger(old)
            (entry,) = steps.history(backend)
            trend = read_trend(backend.registry)
        assert str(entry.holdout) == "weeks 16–19"
        assert CyclePlan.from_dict(entry.plan).data_period == 19
        assert trend_rows(trend)[0]["data week"] == 19

    def test_a_new_plan_records_its_unit_and_first_date(self):
        plan = CyclePlan.for_role((0, 30), WindowSpec(4, 2, 2), "challenger", calendar=MONTHS)
        recorded = plan.to_dict()
        assert (recorded["period"], recorded["first_period_starts"]) == ("month", "1984-01-01")
        assert CyclePlan.from_dict(recorded) == plan
        assert str(CyclePlan.from_dict(recorded).holdout) == "months 29–30 (Jun 1986 – Jul 1986)"


@pytest.fixture(scope="module")
def monthly(tmp_path_factory):
    """A monthly contract's home after a bootstrap and one promoting cycle (Jan–Oct 2024)."""
    home = tmp_path_factory.mktemp("monthly")
    settings = own_settings(home, replace(LOANS_CONTRACT, period="month"), WindowSpec(4, 2, 2))
    with open_backend(settings) as backend:
        backend.source.write(loans(300, per_day=4))
        champion = steps.train_champion(backend, settings)
        report = stages.weekly_cycle(backend, settings, AlwaysPromote())
    return settings, champion, report


class TestMonthlyContract:
    def test_version_names_say_months(self, monthly):
        _, champion, report = monthly
        assert champion.name.startswith("CHAMPION_M000_003_")
        assert report.entry.challenger_version.startswith("CHALLENGER_M002_005_")

    def test_the_ledger_records_the_unit_and_the_first_months_date(self, monthly):
        _, _, report = monthly
        entry = report.entry
        assert (entry.plan["period"], entry.plan["first_period_starts"]) == ("month", "2024-01-01")
        assert str(entry.holdout) == "months 8–9 (Sep 2024 – Oct 2024)"

    def test_the_report_and_the_status_say_months(self, monthly):
        _, champion, report = monthly
        markdown = decision_markdown(report)
        assert "| Hold-out | months 8–9 (Sep 2024 – Oct 2024), " in markdown
        assert f"`{champion.name}` (trained on months 0–3)" in markdown
        assert "weeks " not in markdown  # the parameter cooldown_weeks keeps its name
        assert "| months 0–3 |" in versions_markdown([champion], live=champion.name)
        out = io.StringIO()
        print_versions(Console(file=out, width=200), [champion], live=champion.name)
        assert "months 0–3" in out.getvalue()

    def test_the_trend_names_its_column_by_the_unit(self, monthly):
        settings, _, _ = monthly
        with open_backend(settings) as backend:
            trend = read_trend(backend.registry)
        assert trend.period_column == "data month" and trend.points[-1].label.endswith("mo 9")
        assert trend_rows(trend)[-1]["data month"] == 9

    def test_the_run_name_says_month(self, monthly):
        settings, _, _ = monthly
        assert name_run(settings, data_period=9, suffix="score") == "credit_approval-month-9-score"

    def test_a_range_without_rows_is_named_in_months(self, monthly):
        settings, _, _ = monthly
        with (
            open_backend(settings) as backend,
            pytest.raises(EmptyWindowError, match=r"\(months 40–41\) has no rows; .* months 0–9"),
        ):
            steps.score(backend, periods=PeriodRange(40, 41))

    def test_the_cool_down_reason_says_months(self, monthly):
        _, _, report = monthly
        evidence = build_evidence(report.evaluation, last_promotion=8)
        assert evidence.period == "month"
        decision = AlwaysPromote(cooldown_weeks=3)(evidence)
        assert decision.verdict is ccpolicy.Verdict.KEEP
        assert (
            "cool-down: last promotion at data month 8, 1 month(s) before month 9, within the "
            "3-month cool-down" in decision.reason
        )


def test_the_score_command_takes_periods_and_keeps_the_week_flags():
    parser = build_parser()
    new = parser.parse_args(["score", "--first-period", "3", "--last-period", "5"])
    old = parser.parse_args(["score", "--first-week", "3", "--last-week", "5"])
    assert (new.first_period, new.last_period) == (old.first_period, old.last_period) == (3, 5)
