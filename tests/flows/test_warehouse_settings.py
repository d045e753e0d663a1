"""``[snowflake] compute`` and ``training_warehouse``: where the heavy stages run, validated."""

from __future__ import annotations

import pytest

from flows.config import Settings, SnowflakeSettings, load_settings
from flows.errors import ConfigError


def test_warehouse_compute_is_the_default_and_round_trips():
    settings = Settings(
        backend="snowflake", snowflake=SnowflakeSettings(training_warehouse="ml_wh")
    )
    assert settings.snowflake.compute == "warehouse"
    assert settings.snowflake.training_warehouse == "ML_WH"
    assert Settings.from_dict(settings.to_dict()) == settings


def test_warehouse_compute_from_the_config_file(tmp_path):
    (tmp_path / "config.toml").write_text(
        'backend = "snowflake"\n[snowflake]\ncompute = "worker"\ntraining_warehouse = "BIG_WH"\n'
    )
    settings = load_settings(home=tmp_path)
    assert (settings.snowflake.compute, settings.snowflake.training_warehouse) == (
        "worker",
        "BIG_WH",
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"compute": "cloud"}, r"compute must be one of warehouse, worker; got 'cloud'"),
        ({"training_warehouse": "WH; DROP"}, "training_warehouse"),
    ],
)
def test_warehouse_settings_refuse_bad_values_in_one_line(values, message):
    with pytest.raises(ConfigError, match=message) as error:
        SnowflakeSettings(**values)
    assert "\n" not in str(error.value)


def test_warehouse_settings_of_an_older_release_default_to_warehouse_compute():
    data = Settings(backend="snowflake").to_dict()
    for key in ("compute", "training_warehouse"):
        del data["snowflake"][key]
    assert Settings.from_dict(data).snowflake.compute == "warehouse"
