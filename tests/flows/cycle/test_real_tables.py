"""Real-shaped tables: local time with daylight saving, empty months, a rare label fed daily.

Each is loaded the way a user would (``ccflows ingest`` of the exported file) and
checked on what is stored and on what the cycle does with it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import ccpolicy
from flows.backends import open_backend
from flows.cli import main
from flows.cycle import stages, steps
from flows.cycle.completeness import incomplete_newest
from flows.data import output
from flows.data.contract import DataContract
from flows.data.periods import PeriodRange, WindowSpec
from flows.errors import DataValidationError, EmptyWindowError
from flows.records import Outcome
from tests.flows.loans import own_settings

HOURLY = DataContract(time_column="at", period="day", label="fault", id_column="reading")
"""Hourly meter readings: a fault flag, two measurements."""


def hourly(start: str, hours: int, tz: str | None, *, seed: int = 0) -> pd.DataFrame:
    """``hours`` hourly readings from ``start`` (UTC), their times in zone ``tz`` (else UTC)."""
    rng = np.random.RandomState(seed)
    instants = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    shown = instants if tz is None else instants.tz_convert(tz)
    load = rng.normal(50, 10, hours)
    return pd.DataFrame(
        {
            "reading": np.arange(hours),
            "at": shown,
            "load": load,
            "temperature": rng.normal(15, 5, hours),
            "fault": (load + rng.normal(0, 5, hours) > 58).astype(int),
        }
    )


def _ingest(home, path, contract=HOURLY) -> pd.DataFrame:
    """``ccflows ingest path`` into ``home``; every stored row back, in stored order."""
    settings = own_settings(home, contract)
    config = home / "config.toml"
    home.mkdir(parents=True, exist_ok=True)
    config.write_text(_config(contract))
    assert main(["ingest", "--home", str(home), str(path)]) == 0
    with open_backend(settings) as backend:
        span = backend.source.period_span()
        stored = backend.source.read_periods(PeriodRange(*span))
    if contract.id_column is None:
        return stored
    return stored.sort_values(contract.id_column, key=lambda ids: ids.astype(int))


def _config(contract: DataContract) -> str:
    lines = [
        f'{key} = "{value}"'
        for key in ("time_column", "period", "label", "positive_label", "id_column")
        if (value := getattr(contract, key)) is not None
    ]
    return 'model_name = "READINGS"\n[data]\n' + "\n".join(lines) + "\n"


class TestLocalTime:
    """Every instant has one period, on the UTC clock, whatever offset it was written with."""

    @pytest.mark.parametrize(
        ("suffix", "write"),
        [
            (".csv", lambda t: t.assign(at=t["at"].dt.strftime("%Y-%m-%dT%H:%M:%S"))),
            (".csv", lambda t: t.assign(at=t["at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))),
            (".csv", lambda t: t.assign(at=t["at"].dt.tz_convert("Asia/Kolkata").map(_iso))),
            (".csv", lambda t: t.assign(at=t["at"].dt.tz_convert("Europe/Berlin").map(_iso))),
            (".parquet", lambda t: t.assign(at=t["at"].dt.tz_convert("Europe/Berlin"))),
            (".parquet", lambda t: t),
        ],
        ids=["naive", "utc-z", "fixed-offset", "mixed-offsets-dst", "zoned-parquet", "utc-parquet"],
    )
    def test_every_form_of_the_same_instants_stores_the_same_periods(self, tmp_path, suffix, write):
        # 2024-03-25 to 2024-04-04 in UTC: Berlin moves from +01:00 to +02:00 on the 31st.
        table = hourly("2024-03-25", 24 * 11, None)
        path = tmp_path / f"readings{suffix}"
        output.write_table(write(table), path)
        stored = _ingest(tmp_path / "home", path)
        assert stored["at"].tolist() == table["at"].dt.tz_localize(None).tolist()
        assert stored.groupby("cc_period").size().tolist() == [24] * 11

    def test_a_switch_inside_a_period_keeps_every_hour_once(self, tmp_path):
        # Berlin's 2024-10-27 (a Sunday) has 25 local hours; on the UTC clock the week has 168.
        table = hourly("2024-10-21", 24 * 14, "Europe/Berlin")
        path = tmp_path / "readings.csv"
        output.write_table(table.assign(at=table["at"].map(_iso)), path)
        contract = DataContract(time_column="at", period="week", label="fault", id_column="reading")
        stored = _ingest(tmp_path / "home", path, contract)
        assert stored.groupby("cc_period").size().tolist() == [24 * 7, 24 * 7]
        assert len(stored) == len(table)

    def test_a_switch_at_a_period_boundary_counts_the_instant_not_the_wall_clock(self, tmp_path):
        # Sao Paulo skipped 2018-11-04 00:00 (clocks went to 01:00): its local midnight was
        # 03:00 UTC before the switch and 02:00 UTC after. Periods follow UTC midnight.
        table = hourly("2018-11-02", 24 * 4, "America/Sao_Paulo")
        path = tmp_path / "readings.csv"
        output.write_table(table.assign(at=table["at"].map(_iso)), path)
        stored = _ingest(tmp_path / "home", path)
        assert stored.groupby("cc_period").size().tolist() == [24] * 4
        first_of_day = stored.groupby("cc_period")["at"].min()
        assert (first_of_day.dt.hour == 0).all()

    def test_a_time_column_of_mixed_offsets_was_an_object_column_and_is_read(self, tmp_path):
        times = ["2024-03-30T23:00:00+01:00", "2024-03-31T23:00:00+02:00"]
        parsed = HOURLY.validate(hourly("2024-03-30", 2, None).assign(at=times, fault=[0, 1]))
        assert parsed["at"].tolist() == [
            pd.Timestamp("2024-03-30 22:00"),
            pd.Timestamp("2024-03-31 21:00"),
        ]
        assert parsed["cc_period"].tolist() == [0, 1]


MONTHLY = DataContract(
    time_column="observed", period="month", label="flowering", positive_label="yes"
)
"""Field records: about 100 a month, some months never visited."""


def field_records(months: int, *, empty=(), one_class=(), seed: int = 1) -> pd.DataFrame:
    """``months`` months of records from January 2000; ``empty`` months have no rows,
    ``one_class`` months only "no"."""
    rng = np.random.RandomState(seed)
    frames = []
    for month in (m for m in range(months) if m not in empty):
        n = 100
        first = pd.Timestamp("2000-01-01") + pd.DateOffset(months=month)
        days = rng.randint(0, 28, n)
        warmth = rng.normal(12, 6, n)
        flowering = np.where(warmth + rng.normal(0, 4, n) > 14, "yes", "no")
        if month in one_class:
            flowering[:] = "no"
        frames.append(
            pd.DataFrame(
                {
                    "observed": (first + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d"),
                    "warmth": warmth,
                    "rain": rng.gamma(2, 20, n),
                    "flowering": flowering,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _store(settings, table: pd.DataFrame, path) -> None:
    output.write_table(table, path)
    with open_backend(settings) as backend:
        steps.ingest(backend, settings, steps.check_files(settings, [path]))


class TestGaps:
    """Empty and one-class months inside a window: reported, and the window still used."""

    WINDOWS = WindowSpec(train=12, test=3, holdout=3)

    def test_empty_and_one_class_months_in_the_training_window_are_reported(self, tmp_path, caplog):
        # 30 months: the champion trains on months 9–20 and is tested on 21–23.
        settings = own_settings(tmp_path / "home", MONTHLY, self.WINDOWS)
        _store(settings, field_records(30, empty=(11, 14), one_class=(17, 22)), tmp_path / "f.csv")
        with caplog.at_level(logging.WARNING), open_backend(settings) as backend:
            version = steps.train_champion(backend, settings, actor="tester")
        assert version.train_weeks == (9, 20)
        assert (
            "The training window (months 9–20 (Oct 2000 – Sep 2001)) has no rows in months "
            "11, 14 and one class only in month 17; it holds both classes as a whole"
        ) in caplog.text
        assert (
            "test window (months 21–23 (Oct 2001 – Dec 2001)) has one class only in month 22"
            in (caplog.text)
        )

    def test_a_cycle_over_empty_months_and_a_one_class_test_month_decides(self, tmp_path):
        # 33 months: the challenger trains on months 15–26, is tested on 27–29 (month 28
        # of one class), and both are judged on 30–32. Months 18 and 21 were never visited.
        settings = own_settings(tmp_path / "home", MONTHLY, self.WINDOWS)
        _store(settings, field_records(33, empty=(18, 21), one_class=(28,)), tmp_path / "f.csv")
        with open_backend(settings) as backend:
            steps.train_champion(backend, settings, actor="tester")
            report = stages.weekly_cycle(
                backend, settings, ccpolicy.load_policy("significance_margin")
            )
        assert report.entry.outcome in {Outcome.PROMOTED, Outcome.KEPT, Outcome.INCONCLUSIVE}
        assert report.entry.holdout_weeks == (30, 32)

    def test_a_window_of_one_class_names_the_unit_and_the_setting_to_widen(self, tmp_path):
        settings = own_settings(tmp_path / "home", MONTHLY, WindowSpec(train=12, test=1, holdout=3))
        _store(settings, field_records(30, one_class=(25,)), tmp_path / "f.csv")
        with (
            pytest.raises(EmptyWindowError) as raised,
            open_backend(settings) as backend,
        ):
            steps.train_champion(backend, settings, actor="tester")
        assert str(raised.value) == (
            "The test window (months 25–25 (Feb 2002)) holds only label [0] in 'flowering'; "
            "a model needs rows of both classes. Widen [windows] test (now 1 month) or load "
            "more months."
        )


class TestRareLabel:
    """A daily feed of a rare outcome: most days hold no positive row."""

    CONTRACT = DataContract(time_column="at", period="day", label="fault", id_column="reading")

    def test_a_day_of_one_class_is_appended_when_the_table_holds_both(self, tmp_path):
        settings = own_settings(tmp_path / "home", self.CONTRACT)
        feed = hourly("2024-01-01", 24 * 10, None)
        feed["fault"] = 0
        feed.loc[30, "fault"] = 1  # one fault, on the second day
        _store(settings, feed[feed["at"] < "2024-01-09"], tmp_path / "first.csv")
        day = feed[feed["at"] >= "2024-01-09"]
        output.write_table(day, tmp_path / "day.csv")
        with open_backend(settings) as backend:
            day = steps.check_files(settings, [tmp_path / "day.csv"], append=True)
            result = steps.ingest(backend, settings, day, append=True)
        assert result.span == (0, 9)

    def test_an_append_of_one_class_to_an_empty_table_is_refused(self, tmp_path):
        settings = own_settings(tmp_path / "home", self.CONTRACT)
        output.write_table(hourly("2024-01-01", 24, None).assign(fault=0), tmp_path / "day.csv")
        with (
            pytest.raises(
                DataValidationError, match="one class only, and the stored table"
            ) as raised,
            open_backend(settings) as backend,
        ):
            day = steps.check_files(settings, [tmp_path / "day.csv"], append=True)
            steps.ingest(backend, settings, day, append=True)
        assert "\n" not in str(raised.value)
        with open_backend(settings) as backend:
            assert backend.source.period_span() is None


def cut_short(months: int, day: int) -> pd.DataFrame:
    """``months`` months of field records, the newest stopping before its ``day``-th day."""
    table = field_records(months)
    newest = pd.Timestamp("2000-01-01") + pd.DateOffset(months=months - 1)
    return table[pd.to_datetime(table["observed"]) < newest + pd.Timedelta(days=day)]


class TestPartialPeriods:
    """A monthly export taken mid-month: its newest month is said to be incomplete."""

    def test_ingest_says_the_newest_month_is_incomplete(self, tmp_path, capsys):
        home = tmp_path / "home"
        path = tmp_path / "records.csv"
        output.write_table(cut_short(30, 14), path)
        _ingest(home, path, MONTHLY)
        printed = capsys.readouterr().out  # not a terminal: one line per message, unwrapped
        assert (
            "Note: The newest month 29 (Jun 2002) looks incomplete: its rows stop at 2002-06-"
            in (printed)
        )
        assert (
            'before it ends, much earlier than the periods before it. It is stored as it is; to complete it, see "Partial periods" in docs/data.md.'
            in printed
        )

    @pytest.mark.parametrize(
        "table",
        [lambda: field_records(30), lambda: hourly("2024-01-01", 24 * 5, "Europe/Berlin")],
        ids=["monthly", "hourly"],
    )
    def test_a_complete_newest_period_gets_no_note(self, tmp_path, table):
        path = tmp_path / "records.csv"
        frame = table()
        output.write_table(frame, path)
        contract = MONTHLY if "observed" in frame else HOURLY
        _ingest(tmp_path / "home", path, contract)
        with open_backend(own_settings(tmp_path / "home", contract)) as backend:
            assert incomplete_newest(backend.source) is None

    def test_a_cycle_says_its_hold_out_holds_the_incomplete_month(self, tmp_path, caplog):
        settings = own_settings(tmp_path / "home", MONTHLY, TestGaps.WINDOWS)
        _store(settings, cut_short(30, 10), tmp_path / "records.csv")
        with caplog.at_level(logging.WARNING), open_backend(settings) as backend:
            steps.plan_cycle(backend, settings)
        assert (
            "The hold-out (months 27–29 (Apr 2002 – Jun 2002)) includes it, and the" in caplog.text
        )

    def test_a_table_numbering_its_own_periods_is_not_judged(self, backend):
        assert incomplete_newest(backend.source) is None


class TestCompleteThrough:
    """``[data] complete_through`` declares up to when the data is complete: cycles leave
    out the periods ending after it, and ingest says which they are."""

    def _settings(self, tmp_path, complete_through: str):
        settings = own_settings(tmp_path / "home", MONTHLY, TestGaps.WINDOWS)
        return settings.with_overrides(complete_through=complete_through)

    def test_the_plan_ends_at_the_last_month_ending_by_the_date(self, tmp_path, caplog):
        settings = self._settings(tmp_path, "2002-04-30")  # through the end of April 30th
        _store(settings, field_records(30), tmp_path / "records.csv")  # to Jun 2002
        with caplog.at_level(logging.WARNING), open_backend(settings) as backend:
            plan = steps.plan_cycle(backend, settings)
        assert (plan.first_period, plan.data_period) == (0, 27)
        assert plan.holdout == PeriodRange(25, 27)
        assert (
            "Months 28–29 (May 2002 – Jun 2002) end after [data] complete_through (2002-04-30): "
            "cycles leave them out; the plan ends at month 27 (Apr 2002), and the hold-out is "
            "months 25–27 (Feb 2002 – Apr 2002)."
        ) in caplog.text
        assert "looks incomplete" not in caplog.text

    @pytest.mark.parametrize(
        "instant, newest",
        [
            ("2002-05-01T00:00:00Z", 27),  # April ends exactly then
            ("2002-05-01T01:00:00+02:00", 26),  # April 30th, 23:00 UTC: April is not over
            ("2002-05-01 00:00", 27),  # no offset: UTC, the clock periods follow
        ],
    )
    def test_an_instant_counts_on_the_utc_clock(self, tmp_path, instant, newest):
        settings = self._settings(tmp_path, instant)
        _store(settings, field_records(30), tmp_path / "records.csv")
        with open_backend(settings) as backend:
            assert steps.plan_cycle(backend, settings).data_period == newest

    def test_a_cycle_is_judged_on_the_complete_months_only(self, tmp_path):
        settings = self._settings(tmp_path, "2002-03-31")
        _store(settings, field_records(30), tmp_path / "records.csv")
        with open_backend(settings) as backend:
            champion = steps.train_champion(backend, settings, actor="tester")
            report = stages.weekly_cycle(backend, settings, ccpolicy.load_policy("auc_greater"))
        assert champion.train_weeks == (6, 17)  # the bootstrap's windows end at month 26 too
        assert report.entry.holdout_weeks == (24, 26)
        assert report.entry.plan["data_period"] == 26

    def test_a_date_before_every_stored_month_ends_is_refused_in_one_line(self, tmp_path):
        settings = self._settings(tmp_path, "2000-01-30")
        _store(settings, field_records(30), tmp_path / "records.csv")
        with pytest.raises(EmptyWindowError) as raised, open_backend(settings) as backend:
            steps.plan_cycle(backend, settings)
        assert str(raised.value) == (
            "Months 0–29 (Jan 2000 – Jun 2002) end after [data] complete_through (2000-01-30): "
            "cycles leave them out, and no stored month ends by then; move [data] "
            "complete_through past the end of month 0 (Jan 2000) or later."
        )

    def test_ingest_names_the_months_held_back(self, tmp_path, capsys):
        home = tmp_path / "home"
        home.mkdir()
        (home / "config.toml").write_text(
            _config(MONTHLY).replace("[data]\n", '[data]\ncomplete_through = "2002-05-31"\n')
        )
        output.write_table(field_records(30), tmp_path / "records.csv")
        assert main(["ingest", "--home", str(home), str(tmp_path / "records.csv")]) == 0
        assert (
            "Note: Month 29 (Jun 2002) ends after [data] complete_through (2002-05-31): cycles "
            "leave it out. It is stored as it is;"
        ) in capsys.readouterr().out

    def test_a_declaration_replaces_the_guess_from_the_rows_times(self, tmp_path, caplog):
        settings = self._settings(tmp_path, "2002-06-30")
        cut = cut_short(30, 10)  # June's rows stop on the 10th
        _store(settings, cut, tmp_path / "records.csv")
        with caplog.at_level(logging.WARNING), open_backend(settings) as backend:
            assert steps.plan_cycle(backend, settings).data_period == 29
        assert "looks incomplete" not in caplog.text and "complete_through" not in caplog.text


def _iso(time: pd.Timestamp) -> str:
    """A time as a local export writes it: ``2024-03-31T03:00:00+02:00``."""
    return time.isoformat()
