"""Snowflake credentials from a prefect-snowflake block on the session's real server.

The block holds dummy values; the connection stops at ``snowflake.connector.connect``,
the outer boundary, which records what it was given and refuses as an unreachable
account would.
"""

from __future__ import annotations

import logging

import pytest
import snowflake.connector
from snowflake.connector.errors import OperationalError

from flows.backends.snowflake.session import open_session
from flows.config import SnowflakeSettings
from flows.errors import ConfigError, ConnectionUnavailableError

pytestmark = pytest.mark.prefect_server

BLOCK = "cc-snowflake-test"
PASSWORD = "dummy-password-7f3a"


@pytest.fixture
def saved_block(prefect_server):
    from prefect_snowflake import SnowflakeCredentials

    SnowflakeCredentials(
        account="xy12345.ap-southeast-1", user="svc_cc", password=PASSWORD, role="CC_ROLE"
    ).save(BLOCK, overwrite=True)
    return BLOCK


@pytest.fixture
def connect_seen(monkeypatch):
    seen: dict = {}

    def unreachable(**kwargs):
        seen.update(kwargs)
        raise OperationalError("250001: Could not connect to Snowflake backend")

    monkeypatch.setattr(snowflake.connector, "connect", unreachable)
    return seen


def test_the_block_connects_to_the_settings_locations_and_its_secret_stays_out(
    saved_block, connect_seen, caplog
):
    settings = SnowflakeSettings(
        credentials_block=saved_block, database="CC_DB", schema="CC_SCHEMA", warehouse="CC_WH"
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ConnectionUnavailableError, match=f"credentials block '{BLOCK}'") as raised:
        open_session(settings)

    assert {k: connect_seen[k] for k in ("account", "user", "password", "role")} == {
        "account": "xy12345.ap-southeast-1",
        "user": "svc_cc",
        "password": PASSWORD,
        "role": "CC_ROLE",
    }
    assert (connect_seen["database"], connect_seen["schema"], connect_seen["warehouse"]) == (
        "CC_DB",
        "CC_SCHEMA",
        "CC_WH",
    )
    assert connect_seen["network_timeout"] == settings.network_timeout_seconds
    statement_timeout = connect_seen["session_parameters"]["STATEMENT_TIMEOUT_IN_SECONDS"]
    assert statement_timeout == settings.statement_timeout_seconds
    assert PASSWORD not in str(raised.value) and PASSWORD not in caplog.text


def test_a_block_that_is_not_on_the_server_is_refused_naming_it(prefect_server, connect_seen):
    settings = SnowflakeSettings(credentials_block="no-such-block")

    with pytest.raises(ConfigError, match="No SnowflakeCredentials block named 'no-such-block'"):
        open_session(settings)
    assert connect_seen == {}
