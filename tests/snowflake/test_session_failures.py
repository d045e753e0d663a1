"""Why a session would not open, classified by what cures it, through the real connector.

Each connection is a connections.toml entry (given in ``SNOWFLAKE_CONNECTIONS``, which
the connector reads when a session opens) pointing at a closed port on 127.0.0.1, so
nothing leaves the machine: the connector and ``cryptography`` fail exactly as they
would against an account.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from flows.backends.snowflake.session import open_session
from flows.config import SnowflakeSettings
from flows.errors import ConfigError, ConnectionUnavailableError
from flows.orchestration.retries import is_transient

UNREACHABLE = 'host = "127.0.0.1"\nport = 9\nprotocol = "http"\nlogin_timeout = 3\n'


@pytest.fixture
def connections(tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right-passphrase"),
    )
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_bytes(pem)
    key_file.chmod(0o600)
    jwt = f'account = "acc"\nuser = "u"\nauthenticator = "SNOWFLAKE_JWT"\n{UNREACHABLE}'
    monkeypatch.setenv(
        "SNOWFLAKE_CONNECTIONS",
        "\n".join(
            [
                f'[missing_key]\n{jwt}private_key_file = "{tmp_path / "nope.p8"}"',
                f'[wrong_passphrase]\n{jwt}private_key_file = "{key_file}"\n'
                'private_key_file_pwd = "Wr0ngPass-77"',
                f'[no_passphrase]\n{jwt}private_key_file = "{key_file}"',
                f'[refused]\naccount = "acc"\nuser = "u"\npassword = "p"\n{UNREACHABLE}',
            ]
        ),
    )


def _open(name: str):
    return open_session(SnowflakeSettings(connection_name=name, database="ML", schema="REG"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown", "Invalid connection_name 'unknown'"),
        ("missing_key", "the private key file '.*nope.p8' does not exist"),
        ("wrong_passphrase", "could not be decrypted .*check the key passphrase"),
        ("no_passphrase", "could not be decrypted .*check the key passphrase"),
    ],
)
def test_configuration_mistakes_are_one_line_errors_that_are_not_retried(
    connections, name, message
):
    with pytest.raises(ConfigError, match=message) as caught:
        _open(name)
    assert "\n" not in str(caught.value)
    assert not is_transient(caught.value)
    assert "right-passphrase" not in str(caught.value) and "Wr0ngPass-77" not in str(caught.value)


def test_a_refused_connection_is_transient_and_retried(connections):
    with pytest.raises(
        ConnectionUnavailableError, match="Snowflake could not be reached"
    ) as caught:
        _open("refused")
    assert is_transient(caught.value)
