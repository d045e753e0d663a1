"""Fixtures for the reliability tests: homes copied from templates built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.console import Console

import ccpolicy
from flows.cli import main
from flows.cli._console import set_console
from flows.cycle import stages, steps
from flows.records import Outcome
from tests.reliability.helpers import GENERATOR, make_home, open_home


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data for 20 weeks and a live champion."""
    return make_home(tmp_path_factory.mktemp("reliability") / "template")


@pytest.fixture(scope="session")
def template_history(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The champion, then two promoted challengers: champion → C1 → C2 (22 weeks of data)."""
    home = Path(shutil.copytree(template_home, tmp_path_factory.mktemp("history") / "home"))
    policy = ccpolicy.load_policy("auc_greater")
    with open_home(home) as (backend, settings):
        first = stages.weekly_cycle(backend, settings, policy, actor="setup")
        steps.generate_data(backend, GENERATOR, append_weeks=2)
        second = stages.weekly_cycle(backend, settings, policy, actor="setup")
    assert first.entry.outcome is second.entry.outcome is Outcome.PROMOTED, "fixture data changed"
    return home


@pytest.fixture
def home(template_home: Path, tmp_path: Path) -> Path:
    """A private copy of the template: data and a live champion."""
    return Path(shutil.copytree(template_home, tmp_path / "home"))


@pytest.fixture
def history_home(template_history: Path, tmp_path: Path) -> Path:
    """A private copy of the history template: champion → C1 → C2, C2 live."""
    return Path(shutil.copytree(template_history, tmp_path / "home"))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run ``ccflows`` in-process; returns ``(exit code, stdout, stderr)``."""
    monkeypatch.setenv("CC_ACTOR", "reliability-test")
    monkeypatch.delenv("CC_HOME", raising=False)
    set_console(Console(width=300, color_system=None, soft_wrap=True))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    set_console(None)
