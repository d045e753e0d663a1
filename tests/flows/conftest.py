"""Fixtures for the flows' tests: a small-forest home with the quickstart's data and a champion."""

from __future__ import annotations

import pytest

from flows.backends import open_backend
from flows.config import Settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from tests.flows.cycles import fast_settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Small-forest settings for a fresh home under ``tmp_path``."""
    return fast_settings(tmp_path / "home")


@pytest.fixture
def backend(settings):
    """That home, open, with the quickstart's 20 weeks and a live champion."""
    with open_backend(settings) as opened:
        steps.generate_data(opened, GeneratorSpec())
        steps.train_champion(opened, settings, actor="tester")
        yield opened
