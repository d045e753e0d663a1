"""One definition, two orchestrators: the graph's steps decide as the Prefect flow does."""

from __future__ import annotations

from uuid import UUID

import pytest

from deployments.graph_contract import AUTO_DEPLOY_BEST_MODEL, WEEKLY_RETRAINING
from deployments.local_graph import run_graph_locally
from deployments.prefect_yaml import read_deployment
from deployments.snowflake_graph import load_graph
from flows.backends import open_backend
from flows.config import load_settings
from tests.deployments.conftest import PREFECT_YAML

SAME = (
    "outcome", "verdict", "champion_version", "challenger_version", "live_before", "live_after",
    "policy", "policy_params", "holdout_fingerprint", "holdout_weeks", "data_week",
)  # fmt: skip
"""What the decision is, on which models and which rows: equal exactly."""
CLOSE = ("metrics", "details")
"""The numbers behind it: equal up to float noise. A forest's predict_proba sums its trees'
votes across threads in completion order, so scores differ in the last bits between runs."""

STEP_OF_FLOW_TASK = {"retrain": WEEKLY_RETRAINING, "evaluate": AUTO_DEPLOY_BEST_MODEL}
STEP_OF_FLOW_TASK["promote"] = AUTO_DEPLOY_BEST_MODEL


def _leaves(value, path=()):
    """A nested mapping or list as ``{path: leaf}``, for an approximate comparison."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, (*path, key)).items()}
    if isinstance(value, list | tuple):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, (*path, i)).items()}
    return {path: value}


def _decision(home):
    with open_backend(load_settings(home=home)) as backend:
        return backend.registry.ledger()[-1], backend.registry.status()


def _task_names_by_start(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))
        )
    return [run.name.rsplit("-", 1)[0] for run in sorted(runs, key=lambda r: r.start_time)]


@pytest.mark.prefect_server
@pytest.mark.slow
def test_the_graph_reaches_the_flows_decision_on_the_same_data(copy_home, prefect_server):
    from flows.orchestration.pipeline import champion_challenger

    flow_home, graph_home = copy_home("flow"), copy_home("graph")
    parameters = dict(read_deployment(PREFECT_YAML).parameters)

    flow_entry = champion_challenger(**parameters, home=str(flow_home))
    graph = load_graph(PREFECT_YAML, settings=load_settings(home=graph_home))
    rehearsal = run_graph_locally(graph, home=graph_home)

    by_flow, flow_status = _decision(flow_home)
    by_graph, graph_status = _decision(graph_home)
    assert by_flow.run_id == flow_entry["run_id"] and by_graph.run_id == rehearsal.run_id
    assert {k: getattr(by_graph, k) for k in SAME} == {k: getattr(by_flow, k) for k in SAME}
    for key in CLOSE:
        assert _leaves(getattr(by_graph, key)) == pytest.approx(
            _leaves(getattr(by_flow, key)), rel=1e-6
        )
    assert graph_status.to_dict() | {"last_entry": None} == flow_status.to_dict() | {
        "last_entry": None
    }

    # The graph's edges follow the flow's task order: retrain, then evaluate and promote.
    order = [STEP_OF_FLOW_TASK[name] for name in _task_names_by_start(flow_entry["run_id"])
             if name in STEP_OF_FLOW_TASK]  # fmt: skip
    assert order == [WEEKLY_RETRAINING, AUTO_DEPLOY_BEST_MODEL, AUTO_DEPLOY_BEST_MODEL]
    assert [s.name for s in graph.steps if not s.is_finalizer] == [
        WEEKLY_RETRAINING,
        AUTO_DEPLOY_BEST_MODEL,
    ]
    assert graph.steps[1].after == WEEKLY_RETRAINING
