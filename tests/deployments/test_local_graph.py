"""The graph rehearsed on the embedded backend: Snowflake's run semantics, the same steps."""

from __future__ import annotations

import json

from deployments.local_graph import FAILED, SKIPPED, SUCCEEDED, run_graph_locally
from deployments.snowflake_graph import load_graph
from flows.backends import open_backend
from flows.config import load_settings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from flows.records import Outcome
from tests.deployments.conftest import PREFECT_YAML

DAG = "CHAMPION_CHALLENGER_DAG"


def _graph(home):
    return load_graph(PREFECT_YAML, settings=load_settings(home=home))


def test_a_run_decides_once_and_the_finalizer_confirms_it(copy_home):
    home = copy_home("run")
    result = run_graph_locally(_graph(home), home=home, run_id="local-1")
    assert [(t.task, t.state) for t in result.tasks] == [
        (f"{DAG}$WEEKLY_RETRAINING", SUCCEEDED),
        (f"{DAG}$AUTO_DEPLOY_BEST_MODEL", SUCCEEDED),
        (f"{DAG}$RECORD_OUTCOME", SUCCEEDED),
    ]
    retrained, decided, recorded = (t.return_value for t in result.tasks)
    with open_backend(load_settings(home=home)) as backend:
        ledger = backend.registry.ledger()
    entry = ledger[-1]
    assert [e.run_id for e in ledger].count("local-1") == 1
    assert entry.run_id == "local-1"
    assert entry.challenger_version == json.loads(retrained)["challenger"]["version"]
    assert entry.plan == json.loads(retrained)["plan"]
    assert entry.outcome.value == decided == recorded
    assert entry.actor == f"local-graph:{DAG}$AUTO_DEPLOY_BEST_MODEL"
    assert entry.policy == "significance_margin"


def test_a_failed_step_skips_the_rest_and_the_finalizer_records_it(tmp_path):
    home = tmp_path / "no-champion"
    with open_backend(load_settings(home=home)) as backend:
        steps.generate_data(backend, GeneratorSpec())
    result = run_graph_locally(_graph(home), home=home, run_id="local-2")
    assert [t.state for t in result.tasks] == [FAILED, SKIPPED, SUCCEEDED]
    assert result.tasks[0].error.startswith("NoChampionError: ")
    assert result.tasks[2].return_value == "failed" and not result.succeeded
    with open_backend(load_settings(home=home)) as backend:
        (entry,) = backend.registry.ledger()
    assert entry.outcome is Outcome.FAILED and entry.run_id == "local-2"
    # The failing task recorded the end itself, with the plan it had made; the
    # finalizer found that entry and recorded nothing more.
    assert "NoChampionError" in entry.reason and entry.plan["holdout"] == [16, 19]
    assert entry.actor == f"local-graph:{DAG}$WEEKLY_RETRAINING"


def test_a_deciding_task_retried_after_its_decision_committed_records_nothing_new(copy_home):
    from deployments import procedures
    from deployments.graph_contract import AUTO_DEPLOY_BEST_MODEL
    from deployments.local_graph import LocalTaskRuntime, _RunState

    home = copy_home("retry")
    graph = _graph(home)
    result = run_graph_locally(graph, home=home, run_id="local-3")
    with open_backend(load_settings(home=home)) as backend:
        before = backend.registry.ledger()

    state = _RunState(run_id="local-3", config_text=json.dumps(graph.config.to_config()))
    state.returns["WEEKLY_RETRAINING"] = result.tasks[0].return_value
    deciding = next(step for step in graph.steps if step.name == AUTO_DEPLOY_BEST_MODEL)
    runtime = LocalTaskRuntime(graph, deciding, home=home, state=state)

    assert procedures.run(AUTO_DEPLOY_BEST_MODEL, runtime) == result.tasks[1].return_value
    with open_backend(load_settings(home=home)) as backend:
        assert backend.registry.ledger() == before
