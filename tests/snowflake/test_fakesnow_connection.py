"""The default connection of connections.toml, with ``[snowflake]`` on top, reaching fakesnow.

The connector finds connections.toml when it is imported, so each case runs in a
fresh interpreter whose ``SNOWFLAKE_HOME`` is a scratch folder. The connection
entries point at the fakesnow server of this test module.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("fakesnow")

OPEN = """
import contextlib
from flows.backends.snowflake.session import open_session
from flows.config import SnowflakeSettings
opened = open_session(SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA"))
row = opened.session.sql("SELECT CURRENT_DATABASE() AS D, CURRENT_SCHEMA() AS S").collect()[0]
connection = opened.session.connection
print(row["D"], row["S"], connection._session_parameters["STATEMENT_TIMEOUT_IN_SECONDS"],
      connection.network_timeout, connection.user)
with contextlib.suppress(Exception):
    opened.close()
"""


def _entry(name: str, server: dict, user: str) -> str:
    return (
        f'[{name}]\naccount = "fakesnow"\nuser = "{user}"\npassword = "snow"\n'
        f'host = "127.0.0.1"\nport = {server["port"]}\nprotocol = "http"\n'
        'database = "ELSEWHERE"\nserver_session_keep_alive = true\n'
    )


@pytest.fixture
def snowflake_home(tmp_path, fakesnow_warehouse):
    """A scratch SNOWFLAKE_HOME: connections ``other`` and ``ops``; config names ``other``."""
    home = tmp_path / "snowflake"
    home.mkdir()
    server = fakesnow_warehouse.connection
    connections = _entry("other", server, "fake") + _entry("ops", server, "ops")
    (home / "connections.toml").write_text(connections)
    (home / "config.toml").write_text('default_connection_name = "other"\n')
    for file in home.iterdir():
        file.chmod(0o600)
    return home


def _open(home, **env: str) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SNOWFLAKE_")}
    environment.update(SNOWFLAKE_HOME=str(home), **env)
    done = subprocess.run(
        [sys.executable, "-c", OPEN], env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()[-5:]


def test_fakesnow_without_a_name_the_default_connection_opens_with_the_settings_on_top(
    snowflake_home,
):
    assert _open(snowflake_home) == ["CC_DB", "CC_SCHEMA", "540", "570", "fake"]


def test_fakesnow_the_environment_names_the_default_connection_first(snowflake_home):
    got = _open(snowflake_home, SNOWFLAKE_DEFAULT_CONNECTION_NAME="ops")
    assert got == ["CC_DB", "CC_SCHEMA", "540", "570", "ops"]
