"""The Snowflake registry's own behaviour: the statements it sends, and promotion under failure.

Golden files pin the SQL (``tests/snowflake/golden``); the failure tests break the
promotion at each of its statements in turn and check what Snowflake is left with.
"""

from __future__ import annotations

import json

import pytest
import yaml
from sklearn import __version__ as sklearn_version

from flows.backends import Backend
from flows.backends.snowflake._lock import LOCK_TTL_SECONDS
from flows.backends.snowflake._switch import Change, ChangeKind, Pointers, plan_switch
from flows.backends.snowflake._versions import RECORD_KEY
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.cycle import steps
from flows.errors import (
    ConfigError,
    PromotionIncompleteError,
    RegistryBusyError,
    SwitchFailedError,
)
from flows.names import FEATURE_COLUMNS
from flows.records import Outcome
from tests.registry.contract import decision, record
from tests.snowflake.conftest import (
    AFTER,
    BEFORE,
    LOCK,
    MODEL,
    NEW,
    OLD,
    QUALIFIED,
    log,
    recording_session,
)
from tests.snowflake.faults import ProcessCrash
from tests.snowflake.golden import assert_golden


def since(session, mark: int) -> list[str]:
    return session.sql_log(since=mark)


class TestStatements:
    def test_opening_runs_only_reads(self, session, make_registry):
        make_registry()
        assert_golden("open", session.sql_log())
        assert all(s.startswith(("SHOW ", "SELECT ")) for s in session.sql_log())
        assert session.tag_objects == set()

    def test_setup_creates_the_tables_and_the_tags(self, session, make_registry):
        registry = make_registry()
        mark = len(session.statements)
        registry.setup()
        assert_golden("setup", since(session, mark))
        assert session.tag_objects == {
            "CC_DB.CC_SCHEMA.LIVE_VERSION",
            "CC_DB.CC_SCHEMA.CHALLENGER_VERSION",
        }

    def test_logging_a_version(self, session, make_registry, fitted, data):
        registry = make_registry()
        mark = len(session.statements)
        log(registry, OLD, fitted, data)
        assert_golden("log_version", since(session, mark))

    def test_setting_the_challenger(self, session, logged_state, make_registry):
        session.restore(logged_state)
        registry = make_registry()
        mark = len(session.statements)
        registry.set_challenger(NEW)
        assert_golden("set_challenger", since(session, mark))

    def test_the_whole_promotion(self, session, contest):
        mark = len(session.statements)
        contest.promote_if_champion_is(OLD, NEW, decision(), evidence=b"npz")
        assert_golden("promotion", since(session, mark))
        assert session.pointers(MODEL) == AFTER

    def test_a_stale_promotion_reads_and_records_only(self, session, contest):
        mark = len(session.statements)
        entry = contest.promote_if_champion_is("V_ELSEWHERE", NEW, decision())
        assert entry.outcome is Outcome.STALE_CHAMPION and OLD in entry.reason
        assert_golden("stale_promotion", since(session, mark))
        assert not any(s.startswith("ALTER MODEL") for s in since(session, mark))

    def test_the_pointer_statements_are_exactly_the_plan(self, session, contest):
        """So the repair SQL an error prints is what the client itself would have sent."""
        before = contest.pointers()
        mark = len(session.statements)
        contest.promote_if_champion_is(OLD, NEW, decision())
        sent = [s for s in since(session, mark) if s.startswith("ALTER MODEL")]
        plan = plan_switch(before, contest.pointers())
        assert sent == [change.sql(QUALIFIED, "CC_DB.CC_SCHEMA") for change in plan]


class TestSwitchPlan:
    before = Pointers(champion=OLD, challenger=NEW, challenger_tag=NEW, default=OLD, live=OLD)
    after = Pointers(champion=NEW, default=NEW, live=NEW)

    def test_forward_moves_aliases_first_and_live_version_last(self):
        assert plan_switch(self.before, self.after) == [
            Change(ChangeKind.UNSET_ALIAS, "CHALLENGER", NEW),
            Change(ChangeKind.UNSET_ALIAS, "CHAMPION", OLD),
            Change(ChangeKind.SET_ALIAS, "CHAMPION", NEW),
            Change(ChangeKind.UNSET_TAG, "CHALLENGER_VERSION", None),
            Change(ChangeKind.SET_DEFAULT, "", NEW),
            Change(ChangeKind.SET_TAG, "LIVE_VERSION", NEW),
        ]

    def test_restoring_moves_live_version_first(self):
        plan = plan_switch(self.after, self.before, commit_last=False)
        assert [c.kind for c in plan] == [
            ChangeKind.SET_TAG,
            ChangeKind.SET_DEFAULT,
            ChangeKind.SET_TAG,
            ChangeKind.UNSET_ALIAS,
            ChangeKind.SET_ALIAS,
            ChangeKind.SET_ALIAS,
        ]
        assert plan[0] == Change(ChangeKind.SET_TAG, "LIVE_VERSION", OLD)

    def test_applying_the_plan_reaches_the_target(self):
        state = self.before
        for change in plan_switch(self.before, self.after):
            state = change.applied_to(state)
        assert state == self.after


MODES = ("fails", "lost reply", "connection dies", "process dies")


def _promote_with_failure(session, registry, position: int, mode: str):
    session.fail(
        position,
        applied=mode == "lost reply",
        then_dead=mode == "connection dies",
        crash=mode == "process dies",
    )
    try:
        return registry.promote_if_champion_is(OLD, NEW, decision(), evidence=b"npz"), None
    except (Exception, ProcessCrash) as exc:  # every failure is classified by the caller
        return None, exc


def _switched(entries) -> list[str]:
    return [e.live_after for e in entries if e.outcome.switched_live]


class TestPromotionUnderFailure:
    """A failure or a crash at any statement: the ledger tells the truth, and rollback works."""

    @pytest.fixture(scope="class")
    @classmethod
    def promotion_length(cls, logged_state, snowflake_settings):
        """How many statements a clean promotion sends, from a fresh registry."""
        with pytest.MonkeyPatch.context() as patch:
            fake = recording_session(patch)
            fake.restore(logged_state)
            registry = SnowflakeRegistry(fake, snowflake_settings, model_name=MODEL)
            registry.set_challenger(NEW)
            mark = len(fake.statements)
            registry.promote_if_champion_is(OLD, NEW, decision())
            return len(fake.statements) - mark

    @pytest.mark.parametrize("mode", MODES)
    def test_the_ledger_agrees_with_the_pointers_whichever_statement_fails(
        self, session, logged_state, make_registry, promotion_length, mode
    ):
        assert promotion_length > 10
        for position in range(promotion_length):
            session.restore(logged_state)
            runner = make_registry()
            runner.set_challenger(NEW)
            mark = len(session.statements)
            entry, error = _promote_with_failure(session, runner, position, mode)
            where = f"{mode} at statement {position}: {session.statements[mark + position].sql}"
            session.revive()
            session.advance(LOCK_TTL_SECONDS + 1)  # a dead holder's lock has expired
            live = session.pointers(MODEL)["LIVE_VERSION"]
            # what a reader sees at once (no write, no settling): the truth
            reader = make_registry()
            assert _switched(reader.ledger()) == [OLD] + ([NEW] if live == NEW else []), where
            if live == NEW:
                assert session.pointers(MODEL) == AFTER, where  # LIVE_VERSION moves last
                assert reader.previous_champion() == OLD, where
            if isinstance(error, SwitchFailedError):
                assert session.pointers(MODEL) == BEFORE, where
            if error is None:
                assert entry.outcome is Outcome.PROMOTED and live == NEW, where
            # the next run settles whatever was left pending, then records its own decision
            follower = make_registry()
            follower.append_ledger(decision(Outcome.KEPT))
            assert session.pointers(MODEL) == (AFTER if live == NEW else BEFORE), where
            assert all(r["STATE"] is None for r in session.rows("PROMOTION_LEDGER")), where
            assert _switched(follower.ledger()) == [OLD] + ([NEW] if live == NEW else []), where
            if live == NEW:
                rolled = steps.rollback(Backend(source=None, registry=follower), reason="test")
                assert rolled.challenger_version == OLD, where
                assert session.pointers(MODEL)["LIVE_VERSION"] == OLD, where

    def test_a_crash_after_the_commit_is_never_undone(self, session, contest, make_registry):
        session.before(r"^UPDATE \S+PROMOTION_LEDGER SET", lambda: session.fail(crash=True))
        with pytest.raises(ProcessCrash):
            contest.promote_if_champion_is(OLD, NEW, decision())
        session.revive()
        assert session.rows("PROMOTION_LEDGER")[-1]["STATE"] == "pending"
        assert make_registry().ledger()[-1].outcome is Outcome.PROMOTED
        session.advance(LOCK_TTL_SECONDS + 1)
        make_registry().append_ledger(decision(Outcome.KEPT))
        assert session.pointers(MODEL) == AFTER

    def test_a_crash_before_the_commit_reads_as_failed_and_is_undone(
        self, session, contest, make_registry
    ):
        session.before(r"SET DEFAULT_VERSION", lambda: session.fail(crash=True))
        with pytest.raises(ProcessCrash):
            contest.promote_if_champion_is(OLD, NEW, decision())
        session.revive()
        assert session.pointers(MODEL)["CHAMPION"] == NEW  # half switched, LIVE_VERSION not
        reader = make_registry()
        # while the dead runner's lock lives, the switch reads as under way, nothing switched
        flying = reader.ledger()[-1]
        assert flying.outcome is Outcome.IN_FLIGHT and flying.live_after == OLD
        assert reader.previous_champion() is None
        session.advance(LOCK_TTL_SECONDS + 1)
        last = reader.ledger()[-1]
        assert last.outcome is Outcome.FAILED and "interrupted before LIVE_VERSION" in last.reason
        make_registry().append_ledger(decision(Outcome.KEPT))
        assert session.pointers(MODEL) == BEFORE

    def test_a_lost_connection_before_the_commit_names_the_exact_repair(self, session, contest):
        session.before(r"SET DEFAULT_VERSION", lambda: session.fail(then_dead=True))
        with pytest.raises(PromotionIncompleteError) as caught:
            contest.promote_if_champion_is(OLD, NEW, decision())
        message = str(caught.value)
        assert f"Promotion of {NEW} over {OLD} failed at `ALTER MODEL" in message
        assert f"LIVE_VERSION={OLD}" in message
        assert caught.value.repair_sql == [
            f"ALTER MODEL {QUALIFIED} SET TAG CC_DB.CC_SCHEMA.CHALLENGER_VERSION = $${NEW}$$",
            f"ALTER MODEL {QUALIFIED} VERSION CHAMPION UNSET ALIAS",
            f"ALTER MODEL {QUALIFIED} VERSION {OLD} SET ALIAS = CHAMPION",
            f"ALTER MODEL {QUALIFIED} VERSION {NEW} SET ALIAS = CHALLENGER",
        ]
        session.revive()
        for statement in caught.value.repair_sql:
            session.sql(statement).collect()
        assert session.pointers(MODEL) == BEFORE

    def test_a_restored_failure_is_recorded_as_failed(self, session, contest):
        session.before(r"SET DEFAULT_VERSION", lambda: session.fail())
        with pytest.raises(SwitchFailedError, match="previous pointers were restored"):
            contest.promote_if_champion_is(OLD, NEW, decision())
        assert session.pointers(MODEL) == BEFORE
        last = contest.ledger()[-1]
        assert last.outcome is Outcome.FAILED
        assert "SET DEFAULT_VERSION" in last.reason and last.live_after == OLD
        assert [r["STATE"] for r in session.rows("PROMOTION_LEDGER")][-1] is None


class TestPromotionLock:
    def hold_lock(self, session, holder: str, *, seconds: int) -> None:
        session.sql(
            f"UPDATE {LOCK} SET HOLDER = ?, ACQUIRED_AT = CURRENT_TIMESTAMP(), "
            "EXPIRES_AT = DATEADD('second', ?, CURRENT_TIMESTAMP()) WHERE NAME = ?",
            [holder, seconds, MODEL],
        ).collect()

    def test_a_held_lock_makes_the_second_run_wait_then_give_up(self, session, contest):
        slept = []
        contest.lock.wait_seconds = 0.0
        contest.lock._sleep = slept.append
        self.hold_lock(session, "other-host:42:abc", seconds=600)
        with pytest.raises(RegistryBusyError, match="held by other-host:42:abc") as caught:
            contest.promote_if_champion_is(OLD, NEW, decision())
        assert f"WHERE NAME = '{MODEL}' AND HOLDER = 'other-host:42:abc'" in str(caught.value)
        assert session.pointers(MODEL) == BEFORE

    def test_expiry_follows_the_server_clock(self, session, contest):
        contest.lock._sleep = lambda seconds: pytest.fail("must not wait for an expired lock")
        self.hold_lock(session, "crashed:1:dead", seconds=600)
        session.advance(601)
        entry = contest.promote_if_champion_is(OLD, NEW, decision())
        assert entry.outcome is Outcome.PROMOTED
        assert [r["HOLDER"] for r in session.rows("PROMOTION_LOCK")] == [None]

    def test_a_second_lock_row_never_makes_two_holders(self, session, contest):
        session.sql(f"INSERT INTO {LOCK} (NAME) VALUES (?)", [MODEL]).collect()
        self.hold_lock(session, "other-host:42:abc", seconds=600)  # holds both rows
        session.sql(
            f"UPDATE {LOCK} SET HOLDER = NULL, EXPIRES_AT = NULL WHERE ROWID = "
            f"(SELECT MAX(ROWID) FROM {LOCK})"
        ).collect()  # one of the two rows is free again
        contest.lock.wait_seconds = 0.0
        with pytest.raises(RegistryBusyError):
            contest.promote_if_champion_is(OLD, NEW, decision())
        holders = {r["HOLDER"] for r in session.rows("PROMOTION_LOCK")}
        assert holders == {"other-host:42:abc", None}
        assert session.pointers(MODEL) == BEFORE

    def test_a_lock_lost_before_the_commit_writes_nothing_more(self, session, contest):
        thief = lambda: self.hold_lock(session, "thief:7:xyz", seconds=600)  # noqa: E731
        # the renewal right before the commit finds the lock taken
        session.before(r"SET DEFAULT_VERSION", lambda: session.before(r"SET EXPIRES_AT", thief))
        mark = len(session.statements)
        with pytest.raises(PromotionIncompleteError, match="was not attempted") as caught:
            contest.promote_if_champion_is(OLD, NEW, decision())
        assert session.pointers(MODEL)["LIVE_VERSION"] == OLD
        sent = since(session, mark)
        lost = max(i for i, s in enumerate(sent) if "SET EXPIRES_AT" in s)
        assert not any(s.startswith(("ALTER", "INSERT", "MERGE")) for s in sent[lost:])
        assert [r["HOLDER"] for r in session.rows("PROMOTION_LOCK")] == ["thief:7:xyz"]
        assert caught.value.repair_sql  # the operator gets the SQL instead

    def test_a_lock_lost_before_the_first_pointer_moves_sends_no_pointer(self, session, contest):
        session.before(
            r"SET EXPIRES_AT = DATEADD",
            lambda: self.hold_lock(session, "thief:7:xyz", seconds=600),
        )
        mark = len(session.statements)
        with pytest.raises(SwitchFailedError, match="nothing was switched"):
            contest.promote_if_champion_is(OLD, NEW, decision())
        assert not any(s.startswith("ALTER") for s in since(session, mark))
        assert session.pointers(MODEL) == BEFORE
        # the pending row stays for the thief to settle: this run may not touch it
        assert session.rows("PROMOTION_LEDGER")[-1]["STATE"] == "pending"

    def test_a_run_that_promoted_first_makes_the_other_stale(self, session, contest, make_registry):
        other = make_registry()
        session.before(
            r"^UPDATE \S+PROMOTION_LOCK SET HOLDER = \?",
            lambda: other.promote_if_champion_is(OLD, NEW, decision()),
        )
        entry = contest.promote_if_champion_is(OLD, NEW, decision())
        assert entry.outcome is Outcome.STALE_CHAMPION
        assert f"live version is now {NEW}" in entry.reason
        assert [e.outcome for e in contest.ledger()][-2:] == [
            Outcome.PROMOTED,
            Outcome.STALE_CHAMPION,
        ]


class TestHostileInput:
    hostile = "V1; DROP TABLE CC_DB.CC_SCHEMA.PROMOTION_LEDGER"

    def test_hostile_version_names_are_refused_before_any_sql(self, session, contest, data):
        mark = len(session.statements)
        calls = [
            lambda: contest.get_version(self.hostile),
            lambda: contest.predict_proba(self.hostile, data),
            lambda: contest.set_challenger(self.hostile),
            lambda: contest.promote_if_champion_is(OLD, self.hostile, decision()),
            lambda: contest.train_row_hashes(self.hostile),
        ]
        for call in calls:
            with pytest.raises(ConfigError, match="plain identifier"):
                call()
        assert not any("DROP" in s for s in since(session, mark))

    def test_a_hostile_model_name_is_refused(self, session, snowflake_settings):
        with pytest.raises(ConfigError, match="model name"):
            SnowflakeRegistry(session, snowflake_settings, model_name='M"; DROP MODEL X; --')
        assert session.statements == []

    @pytest.mark.parametrize("field", ["comment", "metrics"])
    def test_dollar_quotes_in_logged_text_are_refused(
        self, session, make_registry, fitted, data, field
    ):
        registry = make_registry()
        value = "ends $$; DROP" if field == "comment" else {"note": "ends $$; DROP"}
        with pytest.raises(ConfigError, match=r"must not contain '\$\$'"):
            log(registry, OLD, fitted, data, **{field: value})
        assert not any(s.startswith("CREATE MODEL") for s in session.sql_log())


class TestVersions:
    def test_versions_are_packaged_for_warehouse_and_spcs_from_snowflakes_channel(
        self, session, logged_state
    ):
        session.restore(logged_state)
        files = session.models[MODEL].versions[OLD].files
        manifest = yaml.safe_load(files["MANIFEST.yml"])
        assert manifest["target_platforms"] == ["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"]
        assert {m["name"] for m in manifest["methods"]} == {"PREDICT", "PREDICT_PROBA"}
        conda = yaml.safe_load(files["runtimes/python_runtime/env/conda.yml"])
        assert conda["channels"][0] == "https://repo.anaconda.com/pkgs/snowflake"
        major, minor = (int(p) for p in sklearn_version.split(".")[:2])
        assert f"scikit-learn<{major}.{minor + 1},>={major}.{minor}" in conda["dependencies"]

    def test_the_record_lives_in_the_metadata_and_comment(self, session, logged_state):
        session.restore(logged_state)
        version = session.models[MODEL].versions[OLD]
        metrics = json.loads(version.metadata)["metrics"]
        assert metrics["test_auc"] == pytest.approx(0.61)
        assert metrics[RECORD_KEY]["train_fingerprint"] == "ab" * 32
        assert version.comment == f"test version {OLD}"

    def test_without_row_hashes_the_leakage_check_falls_back_to_weeks(
        self, session, make_registry, fitted, data
    ):
        registry = make_registry()
        registry.log_version(
            fitted,
            record(OLD, MODEL),
            sample_input=data[list(FEATURE_COLUMNS)].head(5),
        )
        assert registry.train_row_hashes(OLD) is None
