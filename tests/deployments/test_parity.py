"""One cycle, two orchestrators: the Prefect flow and the task graph have the same effects.

Each scenario runs the weekly flow on a real Prefect server and the task graph with
``run_graph_locally`` (the procedure's own handlers, Snowflake's run semantics), each
on its own copy of one home, and compares what they leave: the ledger entries (ids,
times, run ids and actors aside) and the registry's pointers and versions.

The Snowflake backend's two compute modes (the heavy stages in the warehouse through
the stage procedure, or in the worker) are the other half of the story:
``tests/snowflake/test_warehouse_parity.py`` runs these scenarios in both modes on
fakesnow and compares them with :func:`_assert_same_entries`. Its docstring says why
that is a suite of its own rather than one more parameter here.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from uuid import UUID

import pytest

from deployments.local_graph import run_graph_locally
from deployments.prefect_yaml import read_deployment
from deployments.snowflake_graph import build_graph
from flows.backends import open_backend
from flows.config import load_settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from flows.records import Outcome
from tests.deployments.conftest import PREFECT_YAML
from tests.flows.live.homes import STORED_DAYS, live_settings
from tests.flows.loans import loans

pytestmark = [pytest.mark.prefect_server, pytest.mark.slow]

NOT_COMPARED = {"id", "recorded_at", "run_id", "run_count", "actor"}
"""Who ran it and when: different by design between the two runs. ``run_count`` is
Prefect's attempt of a flow run; a graph run has none (Snowflake retries its tasks
inside the same run), so its entries leave it unknown."""
DRAWN = ("details", "live", "salt")
"""A candidate's salt: drawn fresh for every test, so different between the two runs."""
CLOSE = {"metrics", "details"}
"""The numbers behind a decision: equal up to float noise. A forest's predict_proba sums its
trees' votes across threads in completion order, so scores differ in the last bits."""
HOME_ENV = "CC_PARITY_HOME"
"""Where the parity plugin's ``switches_live_first`` policy switches the live version."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    parameters: dict
    """The weekly deployment's parameters for this scenario."""
    champion: bool = True
    """Whether the home has a live champion."""
    challenger: str | None = None
    """A ``[challenger]`` table replacing the home's (a model that cannot train)."""
    outcomes: tuple[Outcome, ...] = ()
    """The outcomes of the entries the run leaves, oldest first."""
    live: bool = False
    """Run in a home with ``[live]`` shadow mode on (loans with ids) instead."""


def _fixed(verdict: str, **more) -> dict:
    return {"policy": "fixed_verdict", "policy_params": {"verdict": verdict}, **more}


SCENARIOS = {
    "promote": Scenario(_fixed("promote"), outcomes=(Outcome.PROMOTED,)),
    "keep": Scenario(_fixed("keep"), outcomes=(Outcome.KEPT,)),
    "inconclusive": Scenario(_fixed("inconclusive"), outcomes=(Outcome.INCONCLUSIVE,)),
    "dry-run": Scenario(_fixed("promote", dry_run=True), outcomes=(Outcome.DRY_RUN,)),
    "policy-raises": Scenario({"policy": "raises_while_deciding"}, outcomes=(Outcome.FAILED,)),
    "not-a-decision": Scenario({"policy": "returns_a_string"}, outcomes=(Outcome.FAILED,)),
    "no-champion": Scenario(_fixed("promote"), champion=False, outcomes=(Outcome.FAILED,)),
    "stale-champion": Scenario(
        {"policy": "switches_live_first"},
        outcomes=(Outcome.ROLLED_BACK, Outcome.STALE_CHAMPION),
    ),
    "live-candidate": Scenario(_fixed("promote"), live=True, outcomes=(Outcome.CANDIDATE,)),
    "training-fails": Scenario(
        _fixed("promote"),
        challenger=(
            '[challenger]\nestimator = "sklearn.ensemble.RandomForestClassifier"\n'
            "params = { n_estimators = 0 }\n"
        ),
        outcomes=(Outcome.FAILED,),
    ),
}


@pytest.fixture(scope="module")
def homes(tmp_path_factory, prepared_home):
    """The prepared home (a champion), one with the same data but no champion yet, and a
    home of loans with ids under ``[live]`` shadow mode, with a champion."""
    bare = tmp_path_factory.mktemp("bare") / "home"
    bare.mkdir()
    shutil.copy(prepared_home / "config.toml", bare / "config.toml")
    with open_backend(load_settings(home=bare)) as backend:
        steps.generate_data(backend, GeneratorSpec())
    live = live_settings(tmp_path_factory.mktemp("live") / "home")
    with open_backend(live) as backend:
        backend.source.write(loans(STORED_DAYS))
        steps.train_champion(backend, live, actor="tester")
    return {True: prepared_home, False: bare, "live": live.home}


def _copy(source: Path, target: Path, challenger: str | None) -> Path:
    home = Path(shutil.copytree(source, target))
    if challenger is not None:
        config = home / "config.toml"
        kept = config.read_text().split("[challenger]")[0]
        config.write_text(kept + challenger)
    return home


def _effects(home: Path, before: int) -> tuple[list[dict], dict, list[str]]:
    """The entries a run added, the pointers, and the version names, in ``home``."""
    with open_backend(load_settings(home=home)) as backend:
        entries = [entry.to_dict() for entry in backend.registry.ledger()[before:]]
        pointers = backend.registry.status().to_dict() | {"last_entry": None}
        versions = sorted(version.name for version in backend.registry.list_versions())
    return entries, pointers, versions


def _started_rows(home: Path) -> list[tuple[str | None, int | None]]:
    with open_backend(load_settings(home=home)) as backend:
        return [(e.run_id, e.run_count) for e in backend.registry.ledger(started=True)]


def _ledger_size(home: Path) -> int:
    with open_backend(load_settings(home=home)) as backend:
        return len(backend.registry.ledger())


def _live_apart(entry: dict) -> tuple[dict, dict | None]:
    """``entry`` without its live record, and that record (exact) without the :data:`DRAWN` salt."""
    details, live, salt = DRAWN
    if live not in entry[details]:
        return entry, None
    record = dict(entry[details][live])
    assert record.pop(salt)
    return {**entry, details: {k: v for k, v in entry[details].items() if k != live}}, record


def _leaves(value, path=()):
    """A nested mapping or list as ``{path: leaf}``, for an approximate comparison."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, (*path, key)).items()}
    if isinstance(value, list | tuple):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, (*path, i)).items()}
    return {path: value}


def _assert_same_entries(by_graph: list[dict], by_flow: list[dict]) -> None:
    assert len(by_graph) == len(by_flow)
    for graph_entry, flow_entry in zip(by_graph, by_flow, strict=True):
        (graph_entry, graph_live), (flow_entry, flow_live) = map(
            _live_apart, (graph_entry, flow_entry)
        )
        assert graph_live == flow_live
        exact = set(flow_entry) - NOT_COMPARED - CLOSE
        assert {k: graph_entry[k] for k in exact} == {k: flow_entry[k] for k in exact}
        for key in CLOSE:
            assert _leaves(graph_entry[key]) == pytest.approx(_leaves(flow_entry[key]), rel=1e-6)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_flow_and_the_graph_leave_the_same_ledger_and_pointers(
    name, homes, tmp_path, monkeypatch, prefect_server, with_broken, with_parity_plugin
):
    from flows.orchestration.pipeline import champion_challenger

    scenario = SCENARIOS[name]
    source = homes["live" if scenario.live else scenario.champion]
    flow_home = _copy(source, tmp_path / "flow", scenario.challenger)
    graph_home = _copy(source, tmp_path / "graph", scenario.challenger)
    before = _ledger_size(source)
    _, pointers_before, versions_before = _effects(source, before)

    monkeypatch.setenv(HOME_ENV, str(flow_home))
    state = champion_challenger(**scenario.parameters, home=str(flow_home), return_state=True)
    monkeypatch.setenv(HOME_ENV, str(graph_home))
    deployment = dataclasses.replace(read_deployment(PREFECT_YAML), parameters=scenario.parameters)
    graph = build_graph(deployment, load_settings(home=graph_home))
    rehearsal = run_graph_locally(graph, home=graph_home)

    by_flow, flow_pointers, flow_versions = _effects(flow_home, before)
    by_graph, graph_pointers, graph_versions = _effects(graph_home, before)
    assert [Outcome(e["outcome"]) for e in by_flow] == list(scenario.outcomes)
    _assert_same_entries(by_graph, by_flow)
    assert graph_pointers == flow_pointers
    assert graph_versions == flow_versions

    # Each run's entries carry its own run id; failures end the run as failed.
    run_of_flow = str(state.state_details.flow_run_id)
    own = [e for e in by_flow if e["run_id"] is not None]
    assert {e["run_id"] for e in own} == {run_of_flow}
    assert {e["run_id"] for e in by_graph if e["run_id"] is not None} == {rehearsal.run_id}
    # Only the flow writes a started row: the next cycle reads it to find attempts that
    # died unrecorded. A graph run needs none, its finalizer records every end itself.
    assert _started_rows(flow_home) == [*_started_rows(source), (run_of_flow, 1)]
    assert _started_rows(graph_home) == _started_rows(source)
    failed = Outcome.FAILED in scenario.outcomes
    assert state.is_failed() == failed and rehearsal.succeeded == (not failed)
    if failed:  # the failure is recorded with the plan whenever the plan was made
        assert by_flow[-1]["plan"]["holdout"] == [16, 19]
    if scenario.live:  # a candidate, not a promotion: CHALLENGER, the champion stays live
        assert state.name == "Candidate"
        assert flow_pointers["live_version"] == pointers_before["live_version"]
        assert flow_pointers["challenger_alias"] == by_flow[-1]["challenger_version"]
    if name == "dry-run":  # nothing moved and no version was logged, on either path
        assert (flow_pointers, flow_versions) == (pointers_before, versions_before)


def test_the_flows_tasks_are_the_cycles_stages_in_order(
    copy_home, prefect_server, with_parity_plugin
):
    """The flow's task runs are the stages of flows.cycle.stages, in their order."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.cycle.stages import STAGES
    from flows.orchestration.pipeline import champion_challenger

    state = champion_challenger(**_fixed("keep"), home=str(copy_home("order")), return_state=True)
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[UUID(str(state.state_details.flow_run_id))])
            )
        )
    names = [run.name.rsplit("-", 1)[0] for run in sorted(runs, key=lambda r: r.start_time)]
    assert [name for name in names if name in STAGES] == list(STAGES)
