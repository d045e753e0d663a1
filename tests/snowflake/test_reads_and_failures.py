"""Reads under a read-only role, and failure records that never say "untouched" wrongly."""

from __future__ import annotations

import re

import pytest

from flows.backends import SNOWFLAKE, Backend, open_backend
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.config import Settings, SnowflakeSettings
from flows.cycle import steps
from flows.errors import ModelNotFoundError, ReadModeError
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.conftest import AFTER, MODEL, NEW, OLD

WRITES = re.compile(r"(CREATE|ALTER|INSERT|UPDATE|MERGE|DELETE|DROP|PUT|TRUNCATE)\b")
"""The first word of every statement that changes the account."""


class TestReadOnlyRole:
    """status, history and score run only reads, so a role without CREATE or INSERT can."""

    def test_reads_of_a_live_registry_need_no_write(self, session, contest, data):
        contest.promote_if_champion_is(OLD, NEW, decision())
        session.read_only = True
        reader = make_reader(session)
        status = reader.status()
        assert status.live_version == NEW and status.consistent
        assert [e.outcome for e in reader.ledger()][-1] is Outcome.PROMOTED
        assert reader.previous_champion() == OLD
        assert reader.train_row_hashes(NEW) is not None
        assert len(reader.predict_proba(NEW, data.head(3))) == 3

    def test_reads_of_an_empty_schema_need_no_setup(self, session):
        session.read_only = True
        reader = make_reader(session)
        assert reader.ledger() == [] and reader.live_version() is None
        assert reader.status().n_versions == 0
        assert not any(s.startswith("CREATE") for s in session.sql_log())


class TestReadMode:
    """``open_backend(mode="read")`` means on Snowflake what it means on the embedded backend."""

    @pytest.fixture
    def settings(self, tmp_path, snowflake_settings) -> Settings:
        return Settings(home=tmp_path, backend=SNOWFLAKE, snowflake=snowflake_settings)

    def test_the_read_steps_send_no_ddl_and_no_write(self, session, contest, settings):
        contest.promote_if_champion_is(OLD, NEW, decision())
        mark = len(session.statements)
        with open_backend(settings, session=session, mode="read") as backend:
            assert steps.status(backend).pointers.live_version == NEW
            assert steps.history(backend)[-1].outcome is Outcome.PROMOTED
            assert steps.trend(backend).live_now == NEW
            assert steps.champion(backend).name == NEW
        sent = session.sql_log(since=mark)
        assert sent and [s for s in sent if WRITES.match(s)] == []

    def test_writes_are_refused_and_change_nothing(self, session, contest, settings, data):
        contest.promote_if_champion_is(OLD, NEW, decision())
        mark = len(session.statements)
        with open_backend(settings, session=session, mode="read") as backend:
            with pytest.raises(ReadModeError, match=r"read-only; nothing was changed \(setup"):
                steps.setup(backend)
            with pytest.raises(ReadModeError, match="read-only; nothing was changed"):
                steps.rollback(backend, reason="not in read mode")
            with pytest.raises(ReadModeError, match="read-only; nothing was changed"):
                backend.source.write(data)
        assert [s for s in session.sql_log(since=mark) if WRITES.match(s)] == []
        assert session.pointers(MODEL) == AFTER

    def test_a_missing_model_is_refused_naming_the_models_there(self, session, contest, settings):
        mistyped = settings.with_overrides(model_name="CREDIT_APROVAL")
        with pytest.raises(
            ModelNotFoundError,
            match=f"no model CREDIT_APROVAL in CC_DB.CC_SCHEMA; models here: {MODEL}$",
        ):
            open_backend(mistyped, session=session, mode="read").__enter__()

    def test_an_empty_schema_is_refused_without_setting_it_up(self, session, settings):
        with pytest.raises(ModelNotFoundError, match="models here: none yet"):
            open_backend(settings, session=session, mode="read").__enter__()
        assert [s for s in session.sql_log() if WRITES.match(s)] == []

    def test_a_missing_schema_is_named_in_one_line(self, session, tmp_path):
        elsewhere = SnowflakeSettings(database="CC_DB", schema="NOT_THERE")
        settings = Settings(home=tmp_path, backend=SNOWFLAKE, snowflake=elsewhere)
        for mode in ("read", "write"):
            with pytest.raises(ModelNotFoundError, match="needs CC_DB.NOT_THERE; create it"):
                open_backend(settings, session=session, mode=mode).__enter__()


def make_reader(session) -> SnowflakeRegistry:
    return SnowflakeRegistry(
        session, SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA"), model_name=MODEL
    )


class TestRecordFailure:
    """``record_failure`` compares the live version with the one the run started from."""

    def backend(self, registry):
        return Backend(source=None, registry=registry)  # record_failure reads no data

    def test_a_failure_after_this_runs_switch_says_the_switch_stands(self, contest):
        contest.promote_if_champion_is(OLD, NEW, decision(run_id="run-1"))
        entry = steps.record_failure(self.backend(contest), error="boom", run_id="run-1")
        assert "untouched" not in entry.reason
        assert f"moved from {OLD} to {NEW} during this run; that switch stands" in entry.reason

    def test_a_live_version_that_moved_since_the_start_is_reported(self, contest, make_registry):
        make_registry().promote_if_champion_is(OLD, NEW, decision(run_id="another-run"))
        entry = steps.record_failure(
            self.backend(contest), error="boom", run_id="run-1", live_at_start=OLD
        )
        assert "untouched" not in entry.reason and f"from {OLD} to {NEW}" in entry.reason

    def test_an_untouched_champion_is_called_so(self, contest):
        entry = steps.record_failure(
            self.backend(contest), error="boom", run_id="run-1", live_at_start=OLD
        )
        assert entry.reason.startswith("Cycle failed before a decision; champion untouched.")
        assert entry.live_before == entry.live_after == OLD
