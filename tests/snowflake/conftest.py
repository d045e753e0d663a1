"""Fixtures of the Snowflake tests: the recording session, registries on it, Snowpark on fakesnow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from snowflake.ml._internal import env_utils, file_utils, platform_capabilities
from snowflake.snowpark import Session

from flows.backends.snowflake import _setup
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.config import SnowflakeSettings
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.quickstart import generate_applications, row_hashes
from flows.names import FEATURE_COLUMNS
from flows.records import Outcome
from tests.registry.contract import TINY_SPEC, decision, record
from tests.snowflake.recording_session import RecordingSession
from tests.snowflake.snowpark_fakesnow import FakesnowWarehouse

MODEL = "CREDIT_APPROVAL"

OLD, NEW = "V_ONE", "V_TWO"
QUALIFIED = f"CC_DB.CC_SCHEMA.{MODEL}"
LOCK = "CC_DB.CC_SCHEMA.PROMOTION_LOCK"
BEFORE = {
    "CHAMPION": OLD,
    "CHALLENGER": NEW,
    "default": OLD,
    "LIVE_VERSION": OLD,
    "CHALLENGER_VERSION": NEW,
}
AFTER = {
    "CHAMPION": NEW,
    "CHALLENGER": None,
    "default": NEW,
    "LIVE_VERSION": NEW,
    "CHALLENGER_VERSION": None,
}


@pytest.fixture(scope="module")
def data():
    return DEFAULT_CONTRACT.validate(generate_applications(2))


@pytest.fixture(scope="module")
def fitted(data):
    return TINY_SPEC.build().fit(data[list(FEATURE_COLUMNS)], data["approved"])


def log(registry: SnowflakeRegistry, name: str, model, data, **fields):
    return registry.log_version(
        model,
        replace(record(name, registry.model_name), **fields),
        sample_input=data[list(FEATURE_COLUMNS)].head(5),
        train_row_hashes=row_hashes(data),
    )


@pytest.fixture(scope="module")
def logged_state(snowflake_settings, fitted, data):
    """Server state with V_ONE live (champion, default, LIVE_VERSION) and V_TWO logged.

    Built once per module with two real ``log_model`` calls, then restored per test.
    """
    with pytest.MonkeyPatch.context() as patch:
        fake = recording_session(patch)
        registry = SnowflakeRegistry(fake, snowflake_settings, model_name=MODEL)
        log(registry, OLD, fitted, data)
        log(registry, NEW, fitted, data)
        registry.promote_if_champion_is(None, OLD, decision(Outcome.BOOTSTRAPPED))
        return fake.snapshot()


@pytest.fixture
def contest(session, logged_state, make_registry) -> SnowflakeRegistry:
    """A fresh registry (a new run) on V_ONE live and V_TWO the challenger."""
    session.restore(logged_state)
    registry = make_registry()
    registry.set_challenger(NEW)
    assert session.pointers(MODEL) == BEFORE
    return registry


@pytest.fixture(scope="session")
def snowflake_settings() -> SnowflakeSettings:
    return SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA")


def recording_session(monkeypatch: pytest.MonkeyPatch) -> RecordingSession:
    """A fresh recording session wired into the ML client's upload, with cold client caches."""
    fake = RecordingSession("CC_DB", "CC_SCHEMA")
    _setup.forget()  # a new stand-in is a new account: its first write sets up
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


# -- real Snowpark sessions on fakesnow ---------------------------------------------------

FAKESNOW_DATABASE = "CC_DB"


@pytest.fixture(scope="session")
def fakesnow_warehouse() -> Iterator[FakesnowWarehouse]:
    """One fakesnow server for the test session; its sessions are all closed before it stops."""
    pytest.importorskip("fakesnow")
    with FakesnowWarehouse() as warehouse:
        yield warehouse


@pytest.fixture
def fakesnow_schema() -> str:
    """A schema of :data:`FAKESNOW_DATABASE` no other test uses (fakesnow's DuckDB is shared)."""
    return f"T_{uuid.uuid4().hex[:12].upper()}"


@pytest.fixture
def snowpark_session(fakesnow_warehouse, fakesnow_schema) -> Iterator[Session]:
    """A real Snowpark session on fakesnow, on a fresh schema, metered (``traffic.watch``)."""
    session = fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema)
    yield session
    fakesnow_warehouse.close(session)


@pytest.fixture
def connect(fakesnow_warehouse, fakesnow_schema):
    """Open Snowpark sessions on one fresh schema of ``CC_DB`` (several = several runners)."""
    opened: list[Session] = []

    def open_one() -> Session:
        opened.append(fakesnow_warehouse.session(FAKESNOW_DATABASE, fakesnow_schema))
        return opened[-1]

    open_one.schema = fakesnow_schema
    yield open_one
    for session in opened:
        fakesnow_warehouse.close(session)
