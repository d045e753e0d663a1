"""Settings: arguments over environment over config file over the quickstart's defaults."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows.config import SnowflakeSettings, load_settings
from flows.data.periods import WindowSpec
from flows.errors import ConfigError
from flows.names import DEFAULT_MODEL_NAME

CONFIG = """
backend = "snowflake"
model_name = "from_file"

[windows]
train_weeks = 6
test_weeks = 2
holdout_weeks = 3

[snowflake]
database = "analytics"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("CC_HOME", "CC_BACKEND", "CC_MODEL_NAME", "CC_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_quickstarts(tmp_path):
    settings = load_settings(home=tmp_path)
    assert settings.backend == "local" and settings.model_name == DEFAULT_MODEL_NAME
    assert settings.windows == WindowSpec(10, 3, 4)
    assert settings.snowflake == SnowflakeSettings()


def test_the_config_file_in_the_home_overrides_the_defaults(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG)
    settings = load_settings(home=tmp_path)
    assert settings.backend == "snowflake" and settings.model_name == "FROM_FILE"
    assert settings.windows == WindowSpec(6, 2, 3)
    assert settings.snowflake.database == "ANALYTICS"


def test_the_environment_overrides_the_file_and_arguments_override_both(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text(CONFIG)
    monkeypatch.setenv("CC_MODEL_NAME", "from_env")
    monkeypatch.setenv("CC_BACKEND", "local")
    assert load_settings(home=tmp_path).model_name == "FROM_ENV"
    assert load_settings(home=tmp_path).backend == "local"
    assert load_settings(home=tmp_path, model_name="from_arg").model_name == "FROM_ARG"


def test_cc_home_and_cc_config_locate_home_and_file(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('model_name = "pointed_at"\n')
    monkeypatch.setenv("CC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CC_CONFIG", str(elsewhere))
    settings = load_settings()
    assert settings.home == (tmp_path / "home").resolve()
    assert settings.model_name == "POINTED_AT"


def test_window_arguments_replace_the_files(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG)
    settings = load_settings(home=tmp_path, windows=WindowSpec(8, 1, 1))
    assert settings.windows == WindowSpec(8, 1, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'blue'\n", r"unknown key\(s\) \['colour'\]; allowed: backend, challenger"),
        ("backend = 'oracle'\n", "Unknown registry backend 'oracle'"),
        ("model_name = 'two words'\n", "model name must be a plain identifier"),
        ("[windows]\ntrain_weeks = 0\n", "Window size 'train' must be a whole number ≥ 1"),
        ("backend = \n", "Cannot read config file"),
    ],
)
def test_a_bad_config_file_is_refused_naming_the_problem(tmp_path, text, message):
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(home=tmp_path)


def test_a_named_config_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(home=tmp_path, config=tmp_path / "missing.toml")


def test_reading_the_configuration_loads_no_training_code():
    import subprocess
    import sys

    code = "import sys, flows.config; print('flows.cycle.training' in sys.modules, 'numpy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


class TestOwnDataNamesItsModel:
    """A home with its own [data] table never takes the quickstart's model name."""

    DATA = '[data]\ntime_column = "observed_at"\nlabel = "churned"\npositive_label = "yes"\n'

    def test_a_data_table_without_model_name_is_refused_in_one_line(self, tmp_path):
        (tmp_path / "config.toml").write_text(self.DATA)
        with pytest.raises(ConfigError, match=r"own \[data\] table but no model_name") as refused:
            load_settings(home=tmp_path)
        assert "docs/data.md" in str(refused.value) and "\n" not in str(refused.value)

    def test_the_name_in_the_file_is_the_models(self, tmp_path):
        (tmp_path / "config.toml").write_text('model_name = "churn"\n' + self.DATA)
        assert load_settings(home=tmp_path).model_name == "CHURN"

    def test_a_name_from_the_environment_or_an_argument_is_enough(self, tmp_path, monkeypatch):
        (tmp_path / "config.toml").write_text(self.DATA)
        assert load_settings(home=tmp_path, model_name="by_flag").model_name == "BY_FLAG"
        monkeypatch.setenv("CC_MODEL_NAME", "by_env")
        assert load_settings(home=tmp_path).model_name == "BY_ENV"

    def test_ingest_refuses_it_and_creates_nothing(self, tmp_path, capsys):
        from flows.cli import main

        home = tmp_path / "home"
        home.mkdir()
        (home / "config.toml").write_text(self.DATA)
        rows = tmp_path / "rows.csv"
        rows.write_text("observed_at,churned,x\n2025-01-06,yes,1\n2025-01-07,no,2\n")
        assert main(["ingest", str(rows), "--home", str(home)]) == 2
        assert "no model_name" in capsys.readouterr().err
        assert sorted(p.name for p in home.iterdir()) == ["config.toml"]


class TestCompleteThrough:
    """``[data] complete_through``: a date or an instant, checked when the file is read."""

    TABLE = 'model_name = "READINGS"\n[data]\ntime_column = "at"\nlabel = "fault"\n'

    @pytest.mark.parametrize(
        "written, kept",
        [
            ('"2024-06-30"', "2024-06-30"),
            ("2024-06-30", "2024-06-30"),  # TOML's own date, without quotes
            ('"2024-06-30T18:00:00+02:00"', "2024-06-30T18:00:00+02:00"),
            ("2024-06-30T18:00:00Z", "2024-06-30T18:00:00+00:00"),
        ],
    )
    def test_a_date_or_a_timestamp_is_read(self, tmp_path, written, kept):
        (tmp_path / "config.toml").write_text(f"{self.TABLE}complete_through = {written}\n")
        settings = load_settings(home=tmp_path)
        assert settings.complete_through == kept
        assert settings.contract.time_column == "at"

    @pytest.mark.parametrize(
        "written, message",
        [
            ('"June 30"', r"must be a date \(\"2024-06-30\"\) or an ISO timestamp .*got 'June 30'"),
            ('"20240630"', "must be a date .*got '20240630'"),
            ("30", "must be a date .*got 30"),
            ('"2024-02-30"', "'2024-02-30' is not a real date or time: day is out of range"),
            ('"9999-12-31"', ".*is not a real date or time: date value out of range"),
            ('"2024-06-30T24:00"', ".*is not a real date or time: hour must be in 0..23"),
        ],
    )
    def test_anything_else_is_refused_in_one_line(self, tmp_path, written, message):
        (tmp_path / "config.toml").write_text(f"{self.TABLE}complete_through = {written}\n")
        with pytest.raises(ConfigError, match=r"^\[data\] complete_through " + message) as raised:
            load_settings(home=tmp_path)
        assert "\n" not in str(raised.value)

    def test_a_table_numbering_its_own_periods_is_refused(self, tmp_path):
        (tmp_path / "config.toml").write_text('[data]\ncomplete_through = "2024-06-30"\n')
        with pytest.raises(ConfigError, match=r"needs periods counted from a time column"):
            load_settings(home=tmp_path)  # the quickstart's contract: a week_number column

    def test_the_cli_refuses_it_with_exit_2(self, tmp_path, capsys):
        from flows.cli import main

        (tmp_path / "config.toml").write_text(f'{self.TABLE}complete_through = "someday"\n')
        assert main(["status", "--home", str(tmp_path)]) == 2
        assert "complete_through must be a date" in capsys.readouterr().err

    def test_it_travels_with_the_settings_and_is_absent_when_unset(self, tmp_path):
        (tmp_path / "config.toml").write_text(f'{self.TABLE}complete_through = "2024-06-30"\n')
        settings = load_settings(home=tmp_path)
        assert type(settings).from_dict(settings.to_dict()) == settings
        assert "complete_through" not in replace(settings, complete_through=None).to_dict()


class TestCredentialsBlock:
    def test_a_block_name_is_read_from_the_snowflake_table(self, tmp_path):
        (tmp_path / "config.toml").write_text('[snowflake]\ncredentials_block = "snowflake-prod"\n')
        assert load_settings(home=tmp_path).snowflake.credentials_block == "snowflake-prod"

    def test_a_block_and_a_connection_together_are_refused(self):
        with pytest.raises(ConfigError, match="both connection_name and credentials_block"):
            SnowflakeSettings(connection_name="dev", credentials_block="snowflake-prod")

    def test_a_name_prefect_could_not_have_saved_is_refused(self):
        with pytest.raises(ConfigError, match="'Prod Creds' is not a Prefect block name"):
            SnowflakeSettings(credentials_block="Prod Creds")
