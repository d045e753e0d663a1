"""Deployed runs take their settings from ``config.toml``: prefect.yaml pins only the policy.

Before, prefect.yaml passed ``backend``, ``model_name`` and ``windows`` to every run,
which outranked the configuration: a user's ``[windows]`` never reached a scheduled
run. Here a home whose ``config.toml`` names another model and other windows is
run through the deployed ``bootstrap`` and ``weekly`` deployments, by the session's
worker, and both settings show in what the runs did.
"""

from __future__ import annotations

import pytest
import yaml

from flows.backends import open_backend
from flows.config import load_settings
from flows.data.periods import WindowSpec, challenger_windows, champion_windows
from tests.conftest import REPO
from tests.integration.conftest import (
    BOOTSTRAP,
    SMALL_MODELS,
    WEEKLY,
    make_home,
    read_flow_run,
    run_deployment_cli,
)

pytestmark = pytest.mark.prefect_server

OWN_CONFIG = f"""
model_name = "OWN_MODEL"

[windows]
train = 6
test = 2
holdout = 3
{SMALL_MODELS}"""
OWN_WINDOWS = WindowSpec(train=6, test=2, holdout=3)


@pytest.fixture(scope="module")
def own_home(tmp_path_factory):
    """20 weeks of data and a config.toml naming its own model and windows."""
    home = make_home(tmp_path_factory.mktemp("own-config-home"), champion=False)
    (home / "config.toml").write_text(OWN_CONFIG)
    return home


def test_prefect_yaml_pins_nothing_the_configuration_holds():
    document = yaml.safe_load((REPO / "prefect.yaml").read_text())
    configured = {"backend", "model_name", "windows", "home"}
    for deployment in document["deployments"]:
        assert not configured & set(deployment.get("parameters") or {}), deployment["name"]


def test_bootstrap_and_weekly_runs_use_the_model_and_windows_of_config_toml(
    prefect_server, worker, own_home
):
    bootstrap = run_deployment_cli(prefect_server, BOOTSTRAP, home=str(own_home))
    assert bootstrap.returncode == 0, f"{bootstrap.output}\nworker log: {worker}"
    assert read_flow_run(bootstrap.flow_run_id).name == "own_model-week-19-bootstrap"

    weekly = run_deployment_cli(prefect_server, WEEKLY, home=str(own_home))
    assert weekly.returncode == 0, f"{weekly.output}\nworker log: {worker}"
    assert read_flow_run(weekly.flow_run_id).name == "own_model-week-19"

    settings = load_settings(home=own_home)
    assert settings.model_name == "OWN_MODEL"
    with open_backend(settings) as backend:
        registry = backend.registry
        champion = registry.get_version(registry.ledger()[0].live_after)
        entry = registry.ledger()[-1]
        challenger = registry.get_version(entry.challenger_version)
    bootstrapped = champion_windows(0, 19, OWN_WINDOWS)
    assert champion.train_weeks == (bootstrapped.train.start, bootstrapped.train.end)
    weekly_windows = challenger_windows(0, 19, OWN_WINDOWS)
    assert challenger.train_weeks == (weekly_windows.train.start, weekly_windows.train.end)
    assert challenger.train_weeks == (9, 14)  # the default windows would have given (3, 12)
    assert entry.run_id == str(weekly.flow_run_id)
