"""One-step rollback and "who was live at time T", through the real ``ccflows`` commands."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flows.records import Outcome
from tests.reliability.helpers import assert_consistent, open_home, pointers


def _history(home: Path) -> tuple[str, str, str]:
    """The champion and the two challengers promoted after it, oldest first."""
    with open_home(home) as (backend, _):
        switches = [e for e in backend.registry.ledger() if e.outcome.switched_live]
    assert [e.outcome for e in switches] == [
        Outcome.BOOTSTRAPPED,
        Outcome.PROMOTED,
        Outcome.PROMOTED,
    ]
    return switches[0].live_after, switches[1].live_after, switches[2].live_after


def _state(home: Path) -> tuple[dict[str, str | None], int]:
    with open_home(home) as (backend, _):
        return pointers(backend.registry), len(backend.registry.ledger())


class TestRollbackCommand:
    def test_rollback_returns_to_the_previous_champion_recording_who_and_why(
        self, history_home, cli
    ):
        _, c1, c2 = _history(history_home)
        code, out, _ = cli(
            "rollback", "--home", str(history_home), "--reason", "bad calibration", "--json"
        )
        assert code == 0
        entry = json.loads(out)
        assert entry["outcome"] == "rolled-back"
        assert (entry["live_before"], entry["live_after"]) == (c2, c1)
        assert entry["actor"] == "reliability-test"
        assert "bad calibration" in entry["reason"]
        with open_home(history_home) as (backend, _):
            assert pointers(backend.registry)["live"] == c1
            assert assert_consistent(backend.registry)[-1].id == entry["id"]

    def test_rolling_back_twice_undoes_two_promotions_then_stops(self, history_home, cli):
        champion, c1, _ = _history(history_home)
        home = ["--home", str(history_home)]
        assert cli("rollback", *home)[0] == 0
        assert cli("rollback", *home)[0] == 0
        assert _state(history_home)[0]["live"] == champion
        before = _state(history_home)
        code, _, err = cli("rollback", *home)
        assert code == 2
        assert "no earlier champion in the ledger" in err and champion in err
        assert _state(history_home) == before
        with open_home(history_home) as (backend, _):
            lives = [e.live_after for e in assert_consistent(backend.registry)][-2:]
        assert lives == [c1, champion]

    def test_rollback_to_a_named_earlier_champion_undoes_every_promotion_after_it(
        self, history_home, cli
    ):
        champion, _, c2 = _history(history_home)
        code, out, _ = cli("rollback", "--home", str(history_home), "--to", champion, "--json")
        assert code == 0
        assert json.loads(out)["live_after"] == champion
        with open_home(history_home) as (backend, _):
            assert_consistent(backend.registry)
            assert backend.registry.previous_champion() is None
        code, out, _ = cli("rollback", "--home", str(history_home), "--to", c2, "--json")
        assert code == 0 and json.loads(out)["live_after"] == c2
        with open_home(history_home) as (backend, _):
            assert backend.registry.previous_champion() == champion

    def test_rollback_to_a_version_with_a_corrupt_artifact_is_refused_before_switching(
        self, history_home, cli
    ):
        _, c1, c2 = _history(history_home)
        with open_home(history_home) as (backend, _):
            artifact = backend.registry.artifacts / c1 / "model.pkl"
        artifact.write_bytes(artifact.read_bytes()[:-10] + b"0123456789")
        before_pointers, before_entries = _state(history_home)
        code, _, err = cli("rollback", "--home", str(history_home))
        assert code == 2
        assert f"Artifact of version {c1}" in err and str(artifact) in err
        assert "refusing to make it live" in err
        after_pointers, after_entries = _state(history_home)
        assert after_pointers == before_pointers and after_pointers["live"] == c2
        with open_home(history_home) as (backend, _):
            ledger = assert_consistent(backend.registry, damaged=(c1,))
        assert after_entries == before_entries + 1
        assert ledger[-1].outcome is Outcome.FAILED and "not applied" in ledger[-1].reason

    def test_rollback_that_lost_the_compare_and_set_is_recorded_and_exits_1(
        self, history_home, cli
    ):
        champion, c1, c2 = _history(history_home)
        before, n_entries = _state(history_home)
        code, out, _ = cli(
            "rollback", "--home", str(history_home), "--if-live", c1, "--to", champion, "--json"
        )
        assert code == 1
        entry = json.loads(out)
        assert entry["outcome"] == "stale-champion"
        assert f"only while {c1} was live, but the live version is {c2}" in entry["reason"]
        assert _state(history_home) == (before, n_entries + 1)

    def test_rollback_if_live_names_the_champion_it_would_return_to_exits_1(
        self, history_home, cli
    ):
        _, c1, c2 = _history(history_home)
        before, n_entries = _state(history_home)
        code, out, err = cli("rollback", "--home", str(history_home), "--if-live", c1)
        assert code == 1
        assert "already live" not in out + err
        assert "stale-champion" in out and c1 in out and c2 in out
        assert _state(history_home) == (before, n_entries + 1)

    def test_rollback_to_the_live_version_says_so_exits_0_and_records_nothing(
        self, history_home, cli
    ):
        _, _, c2 = _history(history_home)
        state = _state(history_home)
        code, out, _ = cli("rollback", "--home", str(history_home), "--to", c2)
        assert code == 0
        assert f"Version {c2} is already live; nothing to roll back." in out
        assert _state(history_home) == state


class TestHistoryAt:
    def _live_at(self, cli, home: Path, when: datetime | str) -> str | None:
        text = when if isinstance(when, str) else when.isoformat()
        code, out, _ = cli("history", "--home", str(home), "--at", text, "--json")
        assert code == 0
        return json.loads(out)["live_version"]

    def test_who_was_live_before_between_and_after_every_switch(self, history_home, cli):
        assert cli("rollback", "--home", str(history_home))[0] == 0
        with open_home(history_home) as (backend, _):
            ledger = backend.registry.ledger()
        switches = [e for e in ledger if e.outcome.switched_live]
        assert [e.outcome for e in switches][-1] is Outcome.ROLLED_BACK
        times = [datetime.fromisoformat(e.recorded_at) for e in switches]
        assert self._live_at(cli, history_home, times[0] - timedelta(days=1)) is None
        assert self._live_at(cli, history_home, "2000-01-01") is None
        for i, entry in enumerate(switches):
            assert self._live_at(cli, history_home, times[i]) == entry.live_after
            end = times[i + 1] if i + 1 < len(times) else times[i] + timedelta(days=1)
            assert (
                self._live_at(cli, history_home, times[i] + (end - times[i]) / 2)
                == entry.live_after
            )
        assert switches[-1].live_after == switches[1].live_after

    def test_a_time_with_a_zone_offset_is_read_in_that_zone(self, history_home, cli):
        with open_home(history_home) as (backend, _):
            first = backend.registry.ledger()[0]
        moment = datetime.fromisoformat(first.recorded_at)
        singapore = moment.astimezone(datetime.fromisoformat("2026-01-01T00:00+08:00").tzinfo)
        assert self._live_at(cli, history_home, singapore) == first.live_after
        assert self._live_at(cli, history_home, singapore - timedelta(seconds=1)) is None

    def test_history_at_without_json_names_the_version(self, history_home, cli):
        code, out, _ = cli("history", "--home", str(history_home), "--at", "2000-01-01")
        assert code == 0 and "Live at 2000-01-01: no version" in out


@pytest.mark.prefect_server
def test_the_rollback_flow_rolls_back_and_records_its_run(history_home, prefect_server):
    from flows.orchestration.pipeline import rollback as rollback_flow

    _, c1, c2 = _history(history_home)
    entry = rollback_flow(home=str(history_home), reason="from the flow")
    assert (entry["outcome"], entry["live_before"], entry["live_after"]) == ("rolled-back", c2, c1)
    assert entry["run_id"] and "from the flow" in entry["reason"]
    with open_home(history_home) as (backend, _):
        assert assert_consistent(backend.registry)[-1].run_id == entry["run_id"]


@pytest.mark.prefect_server
def test_a_failed_rollback_flow_leaves_its_start_and_its_failure(history_home, prefect_server):
    from flows.orchestration.pipeline import rollback as rollback_flow

    with open_home(history_home) as (backend, _):
        before = pointers(backend.registry)
    state = rollback_flow(home=str(history_home), to_version="NO_SUCH_VERSION", return_state=True)

    assert state.is_failed() and "NO_SUCH_VERSION" in state.message
    run_id = str(state.state_details.flow_run_id)
    with open_home(history_home) as (backend, _):
        [start] = [s for s in backend.registry.ledger(started=True) if s.run_id == run_id]
        ends = [e for e in backend.registry.ledger() if e.run_id == run_id]
        assert pointers(backend.registry) == before
    assert start.run_count == 1 and "Rollback started" in start.reason
    assert [e.outcome for e in ends] == [Outcome.FAILED] and ends[0].run_count == 1
    assert ends[0].reason.startswith("Rollback failed before a decision; champion untouched.")
