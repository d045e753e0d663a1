"""Fixtures of the Snowflake backend's tests: the recording session and registries on it."""

from __future__ import annotations

import pytest
from snowflake.ml._internal import env_utils, file_utils, platform_capabilities

from flows.config import SnowflakeSettings
from flows.registry.snowflake import SnowflakeRegistry
from tests.snowflake.recording_session import RecordingSession

MODEL = "CREDIT_APPROVAL"


@pytest.fixture(scope="session")
def snowflake_settings() -> SnowflakeSettings:
    return SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA")


def recording_session(monkeypatch: pytest.MonkeyPatch) -> RecordingSession:
    """A fresh recording session wired into the ML client's upload, with cold client caches."""
    fake = RecordingSession("CC_DB", "CC_SCHEMA")
    monkeypatch.setattr(file_utils, "upload_directory_to_stage", fake.upload_directory)
    # The client caches Snowflake's package list and the platform capabilities per
    # process; start each test cold so the statements a test sees do not depend on
    # which tests ran before it.
    monkeypatch.setattr(env_utils, "_SNOWFLAKE_INFO_SCHEMA_PACKAGE_CACHE", {})
    monkeypatch.setattr(platform_capabilities.PlatformCapabilities, "_instance", None)
    return fake


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> RecordingSession:
    return recording_session(monkeypatch)


@pytest.fixture
def make_registry(session, snowflake_settings):
    """Build registries on the one recording session (several = several runs)."""

    def make(**options) -> SnowflakeRegistry:
        return SnowflakeRegistry(session, snowflake_settings, model_name=MODEL, **options)

    return make
