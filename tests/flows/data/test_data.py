"""The quickstart's data set, reproduced; the default contract's check; the row hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from flows.backends.local.source import STORE_FILE, LocalPeriodStore
from flows.data.contract import DEFAULT_CONTRACT, PERIOD_KEY, absolute_periods
from flows.data.periods import PeriodRange
from flows.data.quickstart import (
    GeneratorSpec,
    generate_applications,
    generate_weeks,
    hashes_fingerprint,
    row_hashes,
)
from flows.errors import DataValidationError
from flows.names import COLUMNS, FEATURE_COLUMNS
from tests.flows.loans import LOANS_CONTRACT, loans

SEED_FINGERPRINT = "b3949aba714fbde734681220070298e9e67397609b37be8612449e12edd7278e"
"""``hashes_fingerprint(row_hashes(...))`` of the seed-42 data set, pinned before contracts."""


@pytest.fixture(scope="module")
def quickstart() -> pd.DataFrame:
    return generate_applications()


class TestGenerator:
    def test_seed_42_reproduces_the_quickstart_counts(self, quickstart):
        assert len(quickstart) == 8000
        assert int(quickstart["approved"].sum()) == 4011
        assert quickstart.groupby("week_number").size().eq(400).all()

    def test_columns_are_the_quickstarts_in_order(self, quickstart):
        assert tuple(quickstart.columns) == COLUMNS

    def test_draw_order_matches_the_notebook_for_the_first_week(self):
        # The notebook's own loop, written out for week 0 on the legacy global generator.
        np.random.seed(42)
        offsets = [np.random.randint(0, 7) for _ in range(400)]
        age = np.random.uniform(18, 80, 400)
        income = np.random.uniform(20000, 200000, 400) * 1.0
        week0 = generate_applications(1)
        expected_dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(offsets, unit="D")
        order = np.argsort(np.asarray(expected_dates), kind="stable")
        np.testing.assert_array_equal(week0["applicant_age"].to_numpy(), age[order])
        np.testing.assert_array_equal(week0["annual_income"].to_numpy(), income[order])

    def test_rows_are_stably_sorted_by_date(self, quickstart):
        dates = quickstart["application_date"]
        assert dates.is_monotonic_increasing
        digest = hashlib.sha256(pd.util.hash_pandas_object(quickstart).values.tobytes())
        again = hashlib.sha256(pd.util.hash_pandas_object(generate_applications()).values.tobytes())
        assert digest.hexdigest() == again.hexdigest()

    def test_more_weeks_extend_without_changing_earlier_weeks(self, quickstart):
        longer = generate_applications(24)
        pd.testing.assert_frame_equal(
            longer[longer["week_number"] < 20].reset_index(drop=True), quickstart
        )
        new = generate_weeks(20, 23)
        assert sorted(new["week_number"].unique()) == [20, 21, 22, 23]
        pd.testing.assert_frame_equal(
            new, longer[longer["week_number"] >= 20].reset_index(drop=True)
        )

    def test_concept_drift_moves_the_rule_but_not_the_features(self, quickstart):
        drifted = generate_applications(20, GeneratorSpec(concept_drift=0.05))
        features = [c for c in COLUMNS if c != "approved"]
        pd.testing.assert_frame_equal(drifted[features], quickstart[features])
        early = drifted["week_number"] == 0
        assert (drifted.loc[early, "approved"] == quickstart.loc[early, "approved"]).all()
        late = drifted["week_number"] >= 15
        assert (drifted.loc[late, "approved"] != quickstart.loc[late, "approved"]).any()
        # Under full drift education matters; in the quickstart it never does.
        corr_late = drifted.loc[late, ["education_score", "approved"]].corr().iloc[0, 1]
        corr_base = quickstart.loc[late, ["education_score", "approved"]].corr().iloc[0, 1]
        assert corr_late > corr_base + 0.05

    def test_bad_generator_settings_are_refused(self):
        with pytest.raises(DataValidationError, match="concept_drift"):
            GeneratorSpec(concept_drift=2.0)
        with pytest.raises(DataValidationError, match="n_periods"):
            generate_applications(0)


class TestValidation:
    def test_valid_data_gets_canonical_dtypes(self, quickstart):
        checked = DEFAULT_CONTRACT.validate(quickstart)
        assert checked["week_number"].dtype == "int64"
        assert checked["approved"].dtype == "int64"
        assert checked["credit_score"].dtype == "float64"

    def test_any_column_order_index_and_extra_columns_give_a_fresh_canonical_table(
        self, quickstart
    ):
        messy = quickstart.iloc[::-3].assign(note="x", week_number=quickstart["week_number"] * 1.0)
        messy = messy.astype({"application_date": str, "num_credit_cards": "Int64"})
        checked = DEFAULT_CONTRACT.validate(messy[["note", *reversed(messy.columns[:-1])]])
        assert list(checked.columns) == [*COLUMNS[:-1], "note", COLUMNS[-1]]  # kept, not a feature
        checked = checked.drop(columns=["note"])
        assert checked.index.equals(pd.RangeIndex(len(messy)))
        expected = quickstart.iloc[::-3].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            checked, expected.astype(dict.fromkeys(FEATURE_COLUMNS, float))
        )
        checked.loc[0, "credit_score"] = -1.0  # a copy: the caller's frame is not touched
        assert quickstart.iloc[::-3]["credit_score"].iloc[0] != -1.0

    def test_missing_feature_values_are_kept_for_the_imputer(self, quickstart):
        gappy = quickstart.astype({"num_credit_cards": "Int64"})
        gappy.loc[5, "num_credit_cards"] = pd.NA
        gappy.loc[6, "annual_income"] = np.nan
        checked = DEFAULT_CONTRACT.validate(gappy)
        assert np.isnan(checked.loc[5, "num_credit_cards"])
        assert np.isnan(checked.loc[6, "annual_income"])

    def test_missing_column_is_named(self, quickstart):
        with pytest.raises(DataValidationError, match="missing column.*'credit_score'") as info:
            DEFAULT_CONTRACT.validate(
                quickstart.drop(columns=["credit_score"]), input_name="hold-out"
            )
        assert info.value.column == "credit_score"
        assert "hold-out" in str(info.value)

    def test_infinite_values_are_named_with_their_row(self, quickstart):
        bad = quickstart.copy()
        bad.loc[7, "annual_income"] = np.inf
        with pytest.raises(DataValidationError, match="'annual_income'.*infinite.*row 8"):
            DEFAULT_CONTRACT.validate(bad)

    def test_non_numeric_column_names_the_first_bad_value(self, quickstart):
        bad = quickstart.astype({"debt_to_income": object})
        bad.loc[3, "debt_to_income"] = "n/a"
        with pytest.raises(DataValidationError, match="'debt_to_income'.*numeric.*'n/a'"):
            DEFAULT_CONTRACT.validate(bad)

    def test_labels_must_be_zero_or_one(self, quickstart):
        bad = quickstart.copy()
        bad.loc[0, "approved"] = 2
        with pytest.raises(DataValidationError, match="'approved'.*found 3 or more: '0', '1', '2'"):
            DEFAULT_CONTRACT.validate(bad)

    def test_weeks_must_be_whole_and_non_negative(self, quickstart):
        bad = quickstart.astype({"week_number": float})
        bad.loc[0, "week_number"] = 1.5
        with pytest.raises(DataValidationError, match="'week_number'.*whole"):
            DEFAULT_CONTRACT.validate(bad)
        bad = quickstart.copy()
        bad.loc[0, "week_number"] = -1
        with pytest.raises(DataValidationError, match="'week_number'.*non-negative"):
            DEFAULT_CONTRACT.validate(bad)

    def test_dates_must_parse(self, quickstart):
        bad = quickstart.astype({"application_date": object})
        bad.loc[0, "application_date"] = "someday"
        with pytest.raises(DataValidationError, match="'application_date'.*'someday'"):
            DEFAULT_CONTRACT.validate(bad)

    def test_scoring_input_needs_only_the_features(self, quickstart):
        features = DEFAULT_CONTRACT.model_input(quickstart[list(FEATURE_COLUMNS)])
        assert list(features.columns) == list(FEATURE_COLUMNS)


class TestRowHashes:
    def test_the_seed_data_fingerprint_is_unchanged(self):
        """The quickstart's 20 weeks hash as they always have: its rows are the same rows."""
        data = DEFAULT_CONTRACT.validate(generate_applications(20))
        assert hashes_fingerprint(row_hashes(data)) == SEED_FINGERPRINT

    def test_a_changed_value_changes_the_rows_hash_only(self, quickstart):
        data = DEFAULT_CONTRACT.validate(quickstart)
        changed = data.copy()
        changed.loc[3, "credit_score"] += 1.0
        differs = row_hashes(data) != row_hashes(changed)
        assert differs.tolist() == [i == 3 for i in range(len(data))]


class TestLocalStore:
    """The embedded store keeps any contract's rows, numbered from the first stored period."""

    def test_rows_round_trip_in_canonical_form(self, tmp_path):
        store = LocalPeriodStore(tmp_path, LOANS_CONTRACT)
        raw = loans(28)
        assert store.write(raw) == len(raw)
        assert store.period_span() == (0, 4)  # 2024-01-03 is a Wednesday: week 0 starts 01-01
        read = store.read_periods(PeriodRange(0, 4))
        pd.testing.assert_frame_equal(read, LOANS_CONTRACT.validate(raw))
        assert json.loads((tmp_path / STORE_FILE).read_text()) == {
            "period": "week",
            "origin": int(absolute_periods(pd.Series(pd.to_datetime(["2024-01-01"])), "week")[0]),
            "first_period_starts": "2024-01-01",
            "periods": [[0, 4]],
        }

    def test_appended_rows_keep_the_numbering_of_the_stored_ones(self, tmp_path):
        store = LocalPeriodStore(tmp_path, LOANS_CONTRACT)
        raw = loans(70)
        opened = pd.to_datetime(raw["opened_at"])
        store.write(raw[opened < "2024-02-05"])
        store.write(raw[opened >= "2024-02-05"])
        whole = LOANS_CONTRACT.validate(raw)
        pd.testing.assert_frame_equal(store.read_periods(PeriodRange(0, 10)), whole)

    def test_rows_before_the_first_stored_period_are_refused_and_nothing_is_written(self, tmp_path):
        store = LocalPeriodStore(tmp_path, LOANS_CONTRACT)
        raw = loans(70)
        opened = pd.to_datetime(raw["opened_at"])
        store.write(raw[opened >= "2024-02-05"])
        before = sorted(p.name for p in tmp_path.iterdir())
        with pytest.raises(DataValidationError, match="before the first stored week"):
            store.write(raw[opened < "2024-02-05"])
        assert sorted(p.name for p in tmp_path.iterdir()) == before

    def test_rows_in_a_stored_period_are_refused_and_nothing_is_written(self, tmp_path):
        store = LocalPeriodStore(tmp_path, LOANS_CONTRACT)
        raw = loans(28)
        store.write(raw)
        stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
        with pytest.raises(DataValidationError, match="Week\\(s\\) 4 are already stored"):
            store.write(loans(7, start="2024-01-29", seed=1))
        assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamp

    def test_replacing_starts_the_numbering_again(self, tmp_path):
        store = LocalPeriodStore(tmp_path, LOANS_CONTRACT)
        store.write(loans(28))
        store.write(loans(14, start="2024-03-06"), replace=True)
        assert store.period_span() == (0, 2)
        assert json.loads((tmp_path / STORE_FILE).read_text())["first_period_starts"] == (
            "2024-03-04"
        )

    @pytest.mark.parametrize(
        ("period", "span", "first_file"),
        [
            ("day", (0, 44), "day-00000.parquet"),
            ("month", (0, 1), "month-00000.parquet"),
        ],
    )
    def test_days_and_months_are_stored_one_file_each(self, tmp_path, period, span, first_file):
        contract = replace(LOANS_CONTRACT, period=period)
        store = LocalPeriodStore(tmp_path, contract)
        store.write(loans(45))
        assert store.period_span() == span
        assert (tmp_path / first_file).is_file()
        frame = store.read_periods(PeriodRange(*span))
        assert frame[PERIOD_KEY].tolist() == contract.validate(loans(45))[PERIOD_KEY].tolist()

    def test_a_store_kept_in_weeks_is_not_read_in_days(self, tmp_path):
        LocalPeriodStore(tmp_path, LOANS_CONTRACT).write(loans(14))
        daily = LocalPeriodStore(tmp_path, replace(LOANS_CONTRACT, period="day"))
        with pytest.raises(
            DataValidationError, match="counts weeks but \\[data\\] period is 'day'"
        ):
            daily.period_span()
