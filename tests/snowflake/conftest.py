"""Fixtures of the Snowflake backend's tests: the recording session and registries on it."""

from __future__ import annotations

import pytest
from snowflake.ml._internal import file_utils

from flows.config import SnowflakeSettings
from flows.registry.snowflake import SnowflakeRegistry
from tests.snowflake.recording_session import RecordingSession

MODEL = "CREDIT_APPROVAL"


@pytest.fixture
def snowflake_settings() -> SnowflakeSettings:
    return SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA")


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> RecordingSession:
    """A recording session; the client's model upload lands in its stages."""
    fake = RecordingSession("CC_DB", "CC_SCHEMA")
    monkeypatch.setattr(file_utils, "upload_directory_to_stage", fake.upload_directory)
    return fake


@pytest.fixture
def make_registry(session, snowflake_settings):
    """Build registries on the one recording session (several = several runs)."""

    def make(**options) -> SnowflakeRegistry:
        return SnowflakeRegistry(session, snowflake_settings, model_name=MODEL, **options)

    return make
