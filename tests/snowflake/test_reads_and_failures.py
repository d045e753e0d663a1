"""Reads under a read-only role, and failure records that never say "untouched" wrongly."""

from __future__ import annotations

from flows.backends import Backend
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.config import SnowflakeSettings
from flows.cycle import steps
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.conftest import MODEL, NEW, OLD


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
