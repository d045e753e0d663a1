"""Opening a backend: the assembly of a source and a registry that one configuration names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flows.backends import BACKEND_NAMES, DEFAULT_BACKEND, OPENERS, open_backend
from flows.backends.local.backend import BUSY_TIMEOUT_ENV
from flows.backends.local.registry import BUSY_TIMEOUT_SECONDS, LocalRegistry
from flows.backends.local.source import LocalPeriodStore
from flows.config import Settings
from flows.errors import ConfigError, ModelNotFoundError, ReadModeError
from tests.flows.homes import tree


def test_the_local_backend_lives_under_the_home(tmp_path, monkeypatch):
    monkeypatch.delenv(BUSY_TIMEOUT_ENV, raising=False)
    with open_backend(Settings(home=tmp_path, model_name="demo")) as backend:
        assert isinstance(backend.source, LocalPeriodStore)
        assert backend.source.folder == tmp_path.resolve() / "data" / "applications"
        assert isinstance(backend.registry, LocalRegistry)
        assert backend.registry.model_name == "DEMO"
        assert backend.registry.busy_timeout == BUSY_TIMEOUT_SECONDS


def test_the_busy_timeout_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "2.5")
    with open_backend(Settings(home=tmp_path)) as backend:
        assert backend.registry.busy_timeout == 2.5


def test_a_bad_busy_timeout_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "-1")
    with pytest.raises(ConfigError, match=f"{BUSY_TIMEOUT_ENV} must be a number of seconds ≥ 0"):
        open_backend(Settings(home=tmp_path)).__enter__()


def test_the_backend_is_closed_even_when_the_work_fails(tmp_path):
    closed = []
    with pytest.raises(RuntimeError), open_backend(Settings(home=tmp_path)) as backend:
        backend.source.close = lambda: closed.append("source")
        raise RuntimeError("the step failed")
    assert closed == ["source"]


def test_registry_and_source_modules_assemble_no_backend():
    code = (
        "import sys, flows.backends.local.registry, flows.backends.snowflake.registry, flows.backends.local.source;"
        "print(','.join(m for m in sys.modules if m.endswith('.backend')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


class TestBackendNames:
    """One map names the backends; configuration, the CLI and the flows take their choices from it."""

    def test_configuration_refuses_a_name_the_map_does_not_hold(self, tmp_path):
        with pytest.raises(ConfigError, match=f"Valid backends are: {', '.join(BACKEND_NAMES)}."):
            Settings(home=tmp_path, backend="postgres")

    def test_the_cli_offers_the_names_of_the_map(self):
        from flows.cli import build_parser

        status = build_parser()._subparsers._group_actions[0].choices["status"]
        (backend,) = [a for a in status._actions if a.dest == "backend"]
        assert tuple(backend.choices) == BACKEND_NAMES

    def test_the_flows_offer_the_names_of_the_map(self):
        from prefect.utilities.callables import parameter_schema

        from flows.orchestration import pipeline, score_flow

        for flow in (pipeline.champion_challenger, pipeline.train_champion, score_flow.score):
            schema = parameter_schema(flow.fn).model_dump()["properties"]["backend"]
            assert schema["anyOf"][0]["enum"] == list(BACKEND_NAMES)

    def test_every_name_opens_through_an_opener_that_exists(self):
        import importlib

        assert set(OPENERS) == set(BACKEND_NAMES) and DEFAULT_BACKEND in OPENERS
        for target in OPENERS.values():
            module, _, function = target.partition(":")
            assert callable(getattr(importlib.import_module(module), function))


class TestModes:
    """``read`` opens what exists and writes nothing; ``write`` sets the registry up first."""

    def test_read_mode_refuses_a_missing_home_and_creates_nothing(self, tmp_path):
        missing = tmp_path / "no-such-home"
        with pytest.raises(ModelNotFoundError, match=f"no home directory {missing}"):
            open_backend(Settings(home=missing), mode="read").__enter__()
        assert not missing.exists()

    def test_read_mode_refuses_a_missing_model_naming_the_models_there(self, backend, settings):
        before = tree(settings.home)
        with pytest.raises(
            ModelNotFoundError,
            match=f"no model CREDIT_APROVAL in {settings.home}; models here: CREDIT_APPROVAL",
        ):
            open_backend(
                settings.with_overrides(model_name="CREDIT_APROVAL"), mode="read"
            ).__enter__()
        assert tree(settings.home) == before

    def test_read_mode_reads_and_refuses_every_write(self, backend, settings):
        from flows.cycle import steps
        from flows.data.quickstart import generate_applications

        before = tree(settings.home)
        with open_backend(settings, mode="read") as reader:
            assert steps.status(reader).pointers.live_version == steps.champion(backend).name
            assert steps.data_span(reader) == (0, 19)
            with pytest.raises(ReadModeError, match=r"nothing was changed \(setup refused\)"):
                steps.setup(reader)
            with pytest.raises(ReadModeError, match=r"nothing was changed \(storing rows"):
                reader.source.write(generate_applications(1))
            with pytest.raises(ReadModeError, match="nothing was changed"):
                steps.record_failure(reader, error="not in read mode")
        assert tree(settings.home) == before

    def test_write_mode_sets_the_registry_up_and_setup_says_what_ran(self, tmp_path):
        with open_backend(Settings(home=tmp_path / "home")) as backend:
            registry = backend.registry
            assert registry.db_path.is_file()
            assert registry.setup() == []  # opening in write mode ran it; it exists now
            registry.db_path.unlink()
            ran = registry.setup()
        assert [s.split()[5] for s in ran] == [
            "meta", "versions", "aliases", "tags", "defaults", "ledger"
        ]  # fmt: skip

    def test_an_unknown_mode_is_refused(self, tmp_path):
        with pytest.raises(ConfigError, match="Unknown backend mode 'append'. Valid modes are"):
            open_backend(Settings(home=tmp_path), mode="append").__enter__()
