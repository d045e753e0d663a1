"""The data contract: parsing ``[data]``, canonical frames, labels, periods and their errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from flows.config import load_settings
from flows.data.contract import (
    DEFAULT_CONTRACT,
    PERIOD_KEY,
    DataContract,
    absolute_periods,
    period_start,
)
from flows.data.periods import WindowSpec
from flows.data.quickstart import generate_applications
from flows.errors import ConfigError, DataValidationError
from flows.names import COLUMNS, FEATURE_COLUMNS
from tests.flows.loans import LOANS_CONTRACT

LOANS = DataContract(
    time_column="opened_at",
    label="defaulted",
    positive_label="yes",
    id_column="loan_id",
    ignore=("old_score",),
)


def loans(**overrides) -> pd.DataFrame:
    data = {
        "loan_id": ["a", "b", "c", "d"],
        "opened_at": ["2024-03-04", "2024-03-10T23:59:00", "2024-03-11", "2024-04-01"],
        "amount": [1000.0, np.nan, 250.0, 80.5],
        "region": ["north", "south", None, "north"],
        "old_score": [0.1, 0.2, 0.3, 0.4],
        "defaulted": ["yes", "no", "no", "yes"],
    }
    data.update(overrides)
    return pd.DataFrame(data)


class TestParsing:
    def test_a_full_data_table_becomes_a_contract(self):
        contract = DataContract.from_mapping(
            {
                "time_column": "opened_at",
                "period": "month",
                "label": "defaulted",
                "positive_label": "yes",
                "features": ["amount", "region"],
                "categorical": ["region"],
                "id_column": "loan_id",
            }
        )
        assert contract.period == "month"
        assert contract.features == ("amount", "region")
        assert contract.period_key == PERIOD_KEY

    def test_the_default_contract_is_the_quickstarts(self):
        assert DEFAULT_CONTRACT.period_key == "week_number"
        frame = generate_applications(2)
        assert DEFAULT_CONTRACT.feature_columns(list(frame.columns)) == FEATURE_COLUMNS
        assert DEFAULT_CONTRACT.canonical_columns(list(frame.columns)) == list(COLUMNS)

    @pytest.mark.parametrize(
        ("table", "message"),
        [
            ({"label": "y"}, "needs 'time_column'"),
            ({"label": "y", "time_column": "t", "colour": 1}, r"unknown key\(s\) \['colour'\]"),
            ({"label": "y", "time_column": "t", "period": "year"}, "'period' must be one of"),
            ({"label": 3, "time_column": "t"}, "key 'label' must be a column name"),
            ({"label": "y", "time_column": "t", "features": "a"}, "'features' must be a list"),
            ({"label": "y", "time_column": "t", "positive_label": 1.5}, "'positive_label' must"),
            ({"label": "t", "time_column": "t"}, "names a column twice"),
            ({"label": "y", "time_column": "t", "features": ["y"]}, "'features' lists"),
            ({"label": "y", "time_column": "t", "features": []}, "at least one column"),
            (
                {"label": "y", "time_column": "t", "features": ["a"], "categorical": ["b"]},
                "'categorical' lists non-features",
            ),
            (
                {"label": "y", "time_column": "t", "features": ["a"], "ignore": ["a"]},
                "'ignore' lists features",
            ),
        ],
    )
    def test_a_bad_table_is_a_one_line_error_naming_the_key(self, table, message):
        with pytest.raises(ConfigError, match=message) as caught:
            DataContract.from_mapping(table)
        assert "\n" not in str(caught.value)

    def test_the_record_round_trips(self):
        resolved = LOANS.resolved(loans())
        assert DataContract.from_dict(resolved.to_dict()) == resolved
        assert DataContract.from_dict({}) == DEFAULT_CONTRACT


class TestCanonicalFrame:
    def test_a_user_table_is_put_in_canonical_form(self):
        canonical = LOANS.validate(loans())
        assert list(canonical.columns) == [
            "loan_id",
            "opened_at",
            PERIOD_KEY,
            "amount",
            "region",
            "defaulted",
        ]
        assert canonical[PERIOD_KEY].tolist() == [0, 0, 1, 4]  # weeks start on Monday
        assert canonical["defaulted"].tolist() == [1, 0, 0, 1]
        assert np.isnan(canonical["amount"][1])
        assert canonical["region"].tolist()[:2] == ["north", "south"]
        assert canonical["region"].isna().tolist() == [False, False, True, False]

    def test_features_resolve_to_every_other_column_with_inferred_categories(self):
        resolved = LOANS.resolved(loans())
        assert resolved.features == ("amount", "region")
        assert resolved.categorical == ("region",)

    def test_an_origin_keeps_the_numbering_of_stored_data(self):
        first = absolute_periods(pd.Series(pd.to_datetime(["2024-03-04"])), "week")[0]
        later = LOANS.validate(loans().iloc[2:], origin=int(first))
        assert later[PERIOD_KEY].tolist() == [1, 4]

    def test_rows_before_the_origin_are_refused(self):
        origin = int(absolute_periods(pd.Series(pd.to_datetime(["2024-03-11"])), "week")[0])
        with pytest.raises(
            DataValidationError, match="before the first stored week \\(2024-03-11\\)"
        ):
            LOANS.validate(loans(), origin=origin)

    @pytest.mark.parametrize(
        ("period", "expected"),
        [("day", [0, 6, 7, 28]), ("week", [0, 0, 1, 4]), ("month", [0, 0, 0, 1])],
    )
    def test_days_weeks_and_months_are_counted_from_the_first_period(self, period, expected):
        contract = DataContract(
            time_column="opened_at", label="defaulted", positive_label="yes", period=period
        )
        assert contract.validate(loans())[PERIOD_KEY].tolist() == expected

    def test_a_period_column_is_used_as_it_is(self):
        contract = DataContract(period_column="month_no", label="defaulted", positive_label="yes")
        data = loans().drop(columns=["opened_at"]).assign(month_no=[5, 5, 6, 9])
        assert contract.validate(data)["month_no"].tolist() == [5, 5, 6, 9]

    def test_model_input_needs_only_the_features(self):
        resolved = LOANS.resolved(loans())
        rows = pd.DataFrame({"region": ["east"], "amount": ["12.5"]})
        features = resolved.model_input(rows)
        assert list(features.columns) == ["amount", "region"]
        assert features["amount"].tolist() == [12.5]

    def test_model_input_without_a_feature_names_it(self):
        resolved = LOANS.resolved(loans())
        with pytest.raises(DataValidationError, match="missing column\\(s\\) 'region'"):
            resolved.model_input(pd.DataFrame({"amount": [1.0]}))


class TestLabels:
    @pytest.mark.parametrize(
        "values",
        [[0, 1, 1, 0], [False, True, True, False], ["0", "1", "1", "0"], [0.0, 1.0, 1.0, 0.0]],
    )
    def test_zero_one_booleans_and_their_text_are_accepted_as_they_are(self, values):
        contract = DataContract(time_column="opened_at", label="defaulted")
        labels = contract.validate(loans(defaulted=values))["defaulted"]
        assert labels.tolist() == [0, 1, 1, 0]
        assert labels.dtype == np.int64

    def test_a_string_pair_needs_positive_label(self):
        contract = DataContract(time_column="opened_at", label="defaulted")
        with pytest.raises(DataValidationError, match="holds 'no', 'yes'; .* need positive_label"):
            contract.validate(loans())

    def test_a_third_value_is_refused_with_the_values_found(self):
        with pytest.raises(DataValidationError, match="found 3 or more: 'maybe', 'no', 'yes'"):
            LOANS.validate(loans(defaulted=["yes", "no", "maybe", "yes"]))

    def test_a_missing_label_is_refused(self):
        with pytest.raises(DataValidationError, match="'defaulted' .* 1 missing label"):
            LOANS.validate(loans(defaulted=["yes", None, "no", "yes"]))

    def test_a_positive_label_not_found_is_refused(self):
        with pytest.raises(DataValidationError, match="positive_label 'yes' is not one of them"):
            LOANS.validate(loans(defaulted=["Y", "N", "N", "Y"]))

    def test_a_one_class_table_is_refused_when_both_are_required(self):
        data = loans(defaulted=["no"] * 4)
        assert LOANS.validate(data)["defaulted"].sum() == 0  # a window may hold one class
        with pytest.raises(DataValidationError, match="one class only \\('no'\\)"):
            LOANS.validate(data, require_both_classes=True)


class TestBadInput:
    @pytest.mark.parametrize(
        ("data", "message", "column"),
        [
            (
                loans().drop(columns=["region", "defaulted"]).assign(amount=1.0),
                "'defaulted'",
                "defaulted",
            ),
            (
                loans(opened_at=["2024-03-04", None, "2024-03-05", "2024-03-06"]),
                "1 missing time",
                "opened_at",
            ),
            (
                loans(opened_at=["2024-03-04", "last tuesday", "x", "2024-03-06"]),
                "cannot read 'last tuesday' in 2 row",
                "opened_at",
            ),
            (loans(amount=[1.0, np.inf, 2.0, 3.0]), "infinite values in 1 row", "amount"),
        ],
    )
    def test_a_bad_column_is_named(self, data, message, column):
        with pytest.raises(DataValidationError, match=message) as caught:
            LOANS.validate(data)
        assert caught.value.column == column

    def test_a_duplicate_column_name_is_refused(self):
        data = loans()
        data.columns = ["loan_id", "opened_at", "amount", "amount", "old_score", "defaulted"]
        with pytest.raises(DataValidationError, match="duplicate column name\\(s\\) 'amount'"):
            LOANS.validate(data)

    def test_text_in_a_numeric_feature_suggests_categorical(self):
        contract = DataContract(
            time_column="opened_at",
            label="defaulted",
            positive_label="yes",
            id_column="loan_id",
            categorical=(),
        )
        with pytest.raises(DataValidationError, match="'region' .* must be numeric.*'categorical'"):
            contract.validate(loans())

    def test_an_empty_frame_is_refused(self):
        with pytest.raises(DataValidationError, match="has no rows"):
            LOANS.validate(loans().iloc[:0])

    def test_a_negative_period_number_is_refused(self):
        contract = DataContract(period_column="p", label="defaulted", positive_label="yes")
        with pytest.raises(DataValidationError, match="'p' .* non-negative; got -1"):
            contract.validate(loans().assign(p=[0, -1, 1, 2]))


class TestPeriods:
    def test_period_starts_are_mondays_and_first_days(self):
        times = pd.Series(pd.to_datetime(["2024-01-07", "2024-01-08", "2024-02-29"]))
        weeks = absolute_periods(times, "week")
        assert [period_start(int(w), "week") for w in weeks] == [
            "2024-01-01",
            "2024-01-08",
            "2024-02-26",
        ]
        months = absolute_periods(times, "month")
        assert period_start(int(months[-1]), "month") == "2024-02-01"

    def test_zoned_times_count_on_the_utc_clock_and_naive_ones_as_written(self):
        zoned = pd.Series(pd.to_datetime(["2024-01-08T01:30:00+08:00"]))  # 17:30 UTC the day before
        naive = pd.Series(pd.to_datetime(["2024-01-08T01:30:00"]))
        assert period_start(int(absolute_periods(zoned, "day")[0]), "day") == "2024-01-07"
        assert period_start(int(absolute_periods(naive, "day")[0]), "day") == "2024-01-08"


class TestConfigFile:
    def test_data_and_windows_in_periods_reach_the_settings(self, tmp_path):
        (tmp_path / "config.toml").write_text(
            'model_name = "LOANS"\n[data]\ntime_column = "opened_at"\nperiod = "day"\n'
            'label = "outcome"\n'
            'positive_label = "default"\nid_column = "loan_id"\nignore = ["legacy_score"]\n'
            "[windows]\ntrain = 20\ntest = 5\nholdout = 7\n"
        )
        settings = load_settings(home=tmp_path)
        assert settings.contract == replace(LOANS_CONTRACT, period="day")
        assert settings.windows == WindowSpec(train=20, test=5, holdout=7)

    def test_the_week_names_stay_aliases(self):
        assert WindowSpec.from_mapping({"train_weeks": 8, "holdout": 2}) == WindowSpec(8, 3, 2)

    @pytest.mark.parametrize(
        ("table", "message"),
        [
            ({"train": 8, "train_weeks": 8}, "sets 'train' twice"),
            ({"trian": 8}, "unknown key 'trian'"),
            ({"test": 0}, "'test' must be a whole number"),
        ],
    )
    def test_bad_windows_are_named(self, table, message):
        with pytest.raises(ConfigError, match=message):
            WindowSpec.from_mapping(table)

    def test_a_bad_data_table_fails_when_the_settings_load(self, tmp_path):
        (tmp_path / "config.toml").write_text(
            'model_name = "M"\n[data]\nlabel = "y"\nperiod = "week"\n'
        )
        with pytest.raises(ConfigError, match="needs 'time_column'"):
            load_settings(home=tmp_path)

    def test_without_a_data_table_the_quickstart_contract_applies(self, tmp_path):
        assert load_settings(home=tmp_path).contract == DEFAULT_CONTRACT
