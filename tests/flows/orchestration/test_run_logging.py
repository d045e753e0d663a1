"""The logging config shipped with the package: Prefect loads it, and it sets up what a run needs."""

from __future__ import annotations

import logging
import os

import pytest
import yaml
from prefect.logging.configuration import (
    DEFAULT_LOGGING_SETTINGS_PATH,
    ensure_logging_setup,
    load_logging_config,
)
from prefect.settings import PREFECT_LOGGING_LEVEL, temporary_settings

from flows.cli._flow_runs import prepare_prefect
from flows.orchestration import run_logging
from flows.orchestration.run_logging import (
    LOGGING_CONFIG,
    FinalRunNames,
    final_run_names,
    logging_config_step,
    logging_settings_path,
)

STEP_LOGGERS = ("flows", "ccpolicy")


def test_prefect_loads_it_with_the_step_loggers_at_its_level_and_the_final_names_filter():
    with temporary_settings(updates={PREFECT_LOGGING_LEVEL: "DEBUG"}):
        config = load_logging_config(LOGGING_CONFIG)

    for name in STEP_LOGGERS:
        assert config["loggers"][name] == {"level": "DEBUG", "handlers": ["api"]}, name
    assert config["handlers"]["api"]["class"] == "prefect.logging.handlers.APILogHandler"
    assert config["loggers"]["prefect.flow_runs"]["filters"] == ["final_run_names"]
    factory = config["filters"]["final_run_names"]["()"]
    assert factory == f"{run_logging.__name__}.{FinalRunNames.__name__}"


def test_it_is_prefects_default_with_additions_only():
    ours = yaml.safe_load(LOGGING_CONFIG.read_text())
    default = yaml.safe_load(DEFAULT_LOGGING_SETTINGS_PATH.read_text())

    for section in ("formatters", "handlers"):
        assert ours[section] == default[section], section
    for name, logger in default["loggers"].items():
        assert {k: ours["loggers"][name][k] for k in logger} == logger, name
    assert ours["root"] == default["root"]


def test_prefects_environment_overrides_still_apply(monkeypatch):
    monkeypatch.setenv("PREFECT_LOGGING_LOGGERS_FLOWS_LEVEL", "WARNING")

    assert load_logging_config(LOGGING_CONFIG)["loggers"]["flows"]["level"] == "WARNING"


def test_a_process_prepared_as_the_cli_prepares_it_is_configured_by_it():
    # tests/conftest.py prepares this process with prepare_prefect before Prefect's import;
    # Prefect configures its logging on importing its flows, or at the latest on a run's start
    ensure_logging_setup()
    for name in STEP_LOGGERS:
        step_logger = logging.getLogger(name)
        assert step_logger.level == logging.getLevelName(PREFECT_LOGGING_LEVEL.value()), name
        assert {type(h).__name__ for h in step_logger.handlers} == {"APILogHandler"}, name
    engine = logging.getLogger("prefect.flow_runs")
    assert [f for f in engine.filters if isinstance(f, FinalRunNames)]


def test_the_engines_lines_take_a_renamed_runs_final_name(monkeypatch):
    monkeypatch.setitem(final_run_names, "run-1", "credit_approval-week-19")
    renamed, other = (
        logging.makeLogRecord({"flow_run_id": run_id, "flow_run_name": "provisional"})
        for run_id in ("run-1", "run-2")
    )

    assert FinalRunNames().filter(renamed) and FinalRunNames().filter(other)
    assert (renamed.flow_run_name, other.flow_run_name) == (
        "credit_approval-week-19",
        "provisional",
    )


@pytest.mark.parametrize("users", [None, "/etc/acme/logging.yml"])
def test_runs_get_the_users_own_file_if_they_name_one_else_ours(monkeypatch, users):
    if users is None:
        monkeypatch.delenv("PREFECT_LOGGING_SETTINGS_PATH", raising=False)
    else:
        monkeypatch.setenv("PREFECT_LOGGING_SETTINGS_PATH", users)
    expected = users or str(LOGGING_CONFIG)

    assert logging_settings_path() == expected
    assert logging_config_step() == {"path": expected}
    prepare_prefect()
    assert os.environ["PREFECT_LOGGING_SETTINGS_PATH"] == expected
