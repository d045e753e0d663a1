"""Opening Snowpark sessions: connections.toml names, key pairs, and secrets kept out of sight.

Snowpark's ``Session.SessionBuilder`` is the boundary: a stand-in builder records the
options it receives and hands back a recording session, so nothing connects.
"""

from __future__ import annotations

import logging

import pytest
from snowflake.snowpark import Session

from flows.backends import open_backend
from flows.backends.snowflake.session import ConnectionParameters, borrow_session, open_session
from flows.config import Settings, SnowflakeSettings
from flows.errors import ConfigError
from flows.names import FEATURE_COLUMNS
from flows.records import Outcome
from tests.registry.contract import TINY_SPEC, decision, record

SECRET = "hunter2-do-not-log"
SETTINGS = SnowflakeSettings(connection_name="dev", database="ML", schema="REG", warehouse="ML_WH")


class Builder:
    """Stands in for ``Session.SessionBuilder``: records the options, returns ``session``."""

    def __init__(self, session=None) -> None:
        self.session = session
        self.options: dict = {}

    def configs(self, options: dict) -> Builder:
        self.options = {**self.options, **options}
        return self

    def create(self):
        return self.session


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "rsa_key.p8"
    path.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\n...\n")
    return path


TIMEOUTS = {
    "session_parameters": {"STATEMENT_TIMEOUT_IN_SECONDS": 540},
    "network_timeout": 570,
}


class TestOptions:
    def test_a_connection_name_selects_the_connections_toml_entry(self, session):
        builder = Builder(session)
        open_session(SETTINGS, builder=builder)
        assert builder.options == {
            "connection_name": "dev",
            "database": "ML",
            "schema": "REG",
            "warehouse": "ML_WH",
            **TIMEOUTS,
        }

    def test_no_connection_name_names_the_connectors_default(self, session, monkeypatch):
        monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "ops")
        builder = Builder(session)
        open_session(SnowflakeSettings(), builder=builder)
        assert builder.options == {
            "connection_name": "ops",
            "database": "DEV_AUTOMATION_DEMO",
            "schema": "CHAMPION_CHALLENGER",
            **TIMEOUTS,
        }

    def test_timeouts_come_from_the_settings_and_stay_below_the_task_timeouts(self, session):
        from deployments.snowflake_graph import DEFAULT_TIMEOUT_MINUTES
        from flows.orchestration.pipeline import IO_TIMEOUT_SECONDS, STEP_TIMEOUT_SECONDS

        default = SnowflakeSettings()
        shortest = min(IO_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_MINUTES * 60)
        assert default.statement_timeout_seconds < default.network_timeout_seconds < shortest
        assert default.statement_timeout_seconds < default.stage_timeout_seconds
        assert default.stage_timeout_seconds < STEP_TIMEOUT_SECONDS  # the stage tasks'
        builder = Builder(session)
        settings = SnowflakeSettings(statement_timeout_seconds=60, network_timeout_seconds=90)
        open_session(settings, builder=builder)
        assert builder.options["session_parameters"] == {"STATEMENT_TIMEOUT_IN_SECONDS": 60}
        assert builder.options["network_timeout"] == 90

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"statement_timeout_seconds": 0}, "statement_timeout_seconds must be a whole"),
            ({"network_timeout_seconds": 100, "statement_timeout_seconds": 100}, "must exceed"),
            ({"stage_timeout_seconds": 0}, r"stage_timeout_seconds must be a whole .* got 0"),
            ({"stage_timeout_seconds": "1h"}, r"stage_timeout_seconds must be a whole .* '1h'"),
        ],
    )
    def test_bad_timeouts_are_refused_in_one_line(self, options, message):
        with pytest.raises(ConfigError, match=message):
            SnowflakeSettings(**options)

    def test_a_key_pair_reaches_the_connector_as_jwt(self, session, key_file):
        builder = Builder(session)
        params = ConnectionParameters(
            account="org-acct", user="ML_SVC", private_key_file=key_file,
            private_key_passphrase=SECRET, role="ML_ROLE",
        )  # fmt: skip
        open_session(SETTINGS, parameters=params, builder=builder)
        assert builder.options == {
            "account": "org-acct",
            "user": "ML_SVC",
            "role": "ML_ROLE",
            "authenticator": "SNOWFLAKE_JWT",
            "private_key_file": str(key_file),
            "private_key_file_pwd": SECRET,
            "database": "ML",
            "schema": "REG",
            "warehouse": "ML_WH",
            **TIMEOUTS,
        }


class TestValidation:
    def test_password_and_key_file_exclude_each_other(self, key_file):
        with pytest.raises(ConfigError, match="Do not provide both password and private_key_file"):
            ConnectionParameters("a", "u", password="p", private_key_file=key_file)

    def test_a_passphrase_needs_a_key_file(self):
        with pytest.raises(ConfigError, match="private_key_passphrase was given without"):
            ConnectionParameters("a", "u", private_key_passphrase="p")

    def test_a_missing_key_file_is_named(self, tmp_path):
        with pytest.raises(ConfigError, match="nope.p8' does not exist"):
            ConnectionParameters("a", "u", private_key_file=tmp_path / "nope.p8")


class TestSecrets:
    def test_secrets_stay_out_of_reprs_and_logs(self, session, key_file, caplog):
        caplog.set_level(logging.DEBUG)
        password = ConnectionParameters("org-acct", "ML_SVC", password=SECRET)
        key_pair = ConnectionParameters(
            "org-acct", "ML_SVC", private_key_file=key_file, private_key_passphrase=SECRET
        )
        for params in (password, key_pair):
            opened = open_session(SETTINGS, parameters=params, builder=Builder(session))
            opened.close()
            for text in (repr(params), str(params), params.describe(), repr(opened)):
                assert SECRET not in text
        assert "auth=key pair" in key_pair.describe()
        assert caplog.text and SECRET not in caplog.text

    def test_secrets_never_reach_sql_or_the_ledger(
        self, session, snowflake_settings, monkeypatch, tmp_path, caplog
    ):
        from flows.data.contract import DEFAULT_CONTRACT
        from flows.data.quickstart import generate_applications

        caplog.set_level(logging.DEBUG)
        monkeypatch.setattr(Session, "SessionBuilder", lambda: Builder(session))
        settings = Settings(home=tmp_path, backend="snowflake", snowflake=snowflake_settings)
        params = ConnectionParameters("org-acct", "ML_SVC", password=SECRET)
        data = DEFAULT_CONTRACT.validate(generate_applications(2))
        model = TINY_SPEC.build().fit(data[list(FEATURE_COLUMNS)], data["approved"])
        with open_backend(settings, parameters=params) as backend:
            registry = backend.registry
            registry.log_version(
                model,
                record("V_ONE", registry.model_name),
                sample_input=data.head(5)[list(FEATURE_COLUMNS)],
            )
            registry.promote_if_champion_is(None, "V_ONE", decision(Outcome.BOOTSTRAPPED))
            registry.append_ledger(decision(Outcome.KEPT), evidence=b"scores")
            ledger_rows = session.rows("PROMOTION_LEDGER")
        assert session.closed  # opened by the backend, so closed by it
        assert len(ledger_rows) == 2
        assert SECRET not in repr(ledger_rows)
        assert not any(SECRET in s.sql or SECRET in repr(s.params) for s in session.statements)
        assert SECRET not in caplog.text


class TestClosing:
    def test_close_is_idempotent_and_says_what_it_did(self, session, caplog):
        caplog.set_level(logging.INFO, logger="flows.backends.snowflake.session")
        with open_session(SETTINGS, builder=Builder(session)) as opened:
            assert opened.session is session
        opened.close()
        assert session.closed
        assert "Closed the Snowflake session (connection 'dev', ML.REG)" in caplog.text
        assert "There was no Snowflake session open to be closed" in caplog.text
        with pytest.raises(ConfigError, match="is closed"):
            opened.session  # noqa: B018 - the property raises

    def test_a_borrowed_session_is_left_open(self, session, caplog):
        caplog.set_level(logging.INFO, logger="flows.backends.snowflake.session")
        borrow_session(session, SETTINGS).close()
        assert not session.closed
        assert "Left the borrowed Snowflake session open" in caplog.text

    def test_the_backend_leaves_a_given_session_open(self, session, snowflake_settings, tmp_path):
        settings = Settings(home=tmp_path, backend="snowflake", snowflake=snowflake_settings)
        with open_backend(settings, session=session) as backend:
            assert backend.source.session is session
        assert not session.closed
