"""Doing a write twice records it once: a version logged first by another run, a decision retried."""

from __future__ import annotations

import pytest

from flows.backends import Backend
from flows.cycle import steps
from flows.errors import VersionExistsError
from flows.records import Outcome
from tests.registry.contract import decision
from tests.snowflake.conftest import NEW, OLD, log


def test_a_version_another_run_logged_first_is_refused_as_existing(
    session, logged_state, make_registry, fitted, data
):
    """Both runs checked that the version was new; the second one's ADD VERSION finds it there."""
    session.restore(logged_state)
    first, second = make_registry(), make_registry()
    session.before(
        r"^ALTER MODEL \S+ ADD VERSION V_THREE",
        lambda: log(first, "V_THREE", fitted, data),  # the other run gets there first
    )
    with pytest.raises(VersionExistsError, match="V_THREE' .* already exists"):
        log(second, "V_THREE", fitted, data)
    assert second.get_version("V_THREE").name == "V_THREE"  # which the caller reuses
    hashes = [r for r in session.rows("TRAIN_ROW_HASH_PARTS") if r["VERSION_NAME"] == "V_THREE"]
    assert len(hashes) == 1


def test_a_retried_decision_finds_the_one_its_run_committed(session, contest, make_registry):
    backend = Backend(source=None, registry=make_registry())
    promoted = contest.promote_if_champion_is(OLD, NEW, decision(run_id="graph-run-7"))
    steps.record_failure(backend, error="the finalizer's view", run_id="graph-run-7")
    found = steps.committed_decision(backend, "graph-run-7")
    assert found is not None and (found.id, found.outcome) == (promoted.id, Outcome.PROMOTED)
    assert steps.committed_decision(backend, "graph-run-8") is None
    assert steps.committed_decision(backend, None) is None


def test_a_decision_whose_switch_failed_does_not_stand(session, contest, make_registry):
    session.before(r"SET DEFAULT_VERSION", lambda: session.fail())
    with pytest.raises(Exception, match="restored"):
        contest.promote_if_champion_is(OLD, NEW, decision(run_id="graph-run-7"))
    backend = Backend(source=None, registry=make_registry())
    assert steps.committed_decision(backend, "graph-run-7") is None  # a retry may decide again
