"""Opening a backend: the assembly of a source and a registry that one configuration names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flows.backends import open_backend
from flows.backends.local.backend import BUSY_TIMEOUT_ENV
from flows.backends.local.registry import BUSY_TIMEOUT_SECONDS, LocalRegistry
from flows.backends.local.source import LocalPeriodStore
from flows.config import Settings
from flows.errors import ConfigError


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
