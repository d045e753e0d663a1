"""Deploy, run and status through snowflake.core's real DAGOperation, up to its REST boundary.

DAGOperation talks to Snowflake only through the schema's task collection
(``schema.tasks.create`` and ``schema.tasks[name].fetch/resume/suspend/drop/execute``),
each a REST call. ``Schema`` below stands in for that collection and records the
calls with the real snowflake.core ``Task`` objects they carry; ``AccountSession``
stands in for the Snowpark session. What is not exercised: the REST transport
itself (request bodies are ``Task.to_dict()``, checked in test_snowflake_graph.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from snowflake.core.exceptions import ConflictError, NotFoundError
from snowflake.snowpark import Row
from snowflake.snowpark.exceptions import SnowparkSQLException

from deployments.code_archive import build_archive
from deployments.snowflake_deploy import deploy_graph, graph_status, run_graph
from deployments.snowflake_graph import PROCEDURE_PACKAGES
from flows.backends.snowflake.session import open_session
from flows.config import SnowflakeSettings
from flows.errors import ConfigError
from tests.deployments.conftest import golden_graph

DAG = "CHAMPION_CHALLENGER_DAG"
ROOT_ID = "01b9f2aa-0000-4000-8000-000000000001"
HOSTED = [Row(*pin.split("==")) for pin in PROCEDURE_PACKAGES] + [Row("scikit-learn", "1.6.1")]


class AccountSession:
    """The Snowpark surface deploy/run/status use: ``sql`` and ``file.put``, recorded."""

    def __init__(self, *, hosted: list[Row] = HOSTED, history: list[Row] = (), refuse: str = ""):
        self.hosted, self.history, self.refuse = hosted, list(history), refuse
        self.log: list[str] = []
        self.file = SimpleNamespace(put=self._put)

    def sql(self, query: str, params: Any = None) -> Any:
        text = " ".join(query.split())
        self.log.append(text)
        if self.refuse and text.startswith(self.refuse):
            raise SnowparkSQLException("Insufficient privileges to operate on schema")
        if "INFORMATION_SCHEMA.PACKAGES" in text:
            rows = [row for row in self.hosted if row[0] in params]
        elif "INFORMATION_SCHEMA.TASK_HISTORY" in text:
            rows = self.history
        else:
            rows = [Row(status="ok")]
        return SimpleNamespace(collect=lambda: rows)

    def _put(self, local: str, stage: str, **options: Any) -> None:
        self.log.append(f"PUT {Path(local).name} {stage} {sorted(options.items())}")


class Schema:
    """Stands in for the graph's snowflake.core SchemaResource: its ``tasks`` collection."""

    def __init__(self) -> None:
        self.existing: dict[str, Any] = {}
        self.calls: list[tuple[str, str]] = []
        self.current_runs: list[Any] = []
        self.tasks = self
        # DAGOperation reports each call to snowflake.core's telemetry, another REST call.
        self.root = SimpleNamespace(_telemetry_client=SimpleNamespace(safe_send=lambda event: None))

    def create(self, task: Any, *, mode: Any = "errorIfExists") -> None:
        self.calls.append(("create", task.name))
        if task.name in self.existing and str(getattr(mode, "value", mode)) == "errorIfExists":
            raise ConflictError(None, 409, "Conflict")
        task.id, task.state = f"id-of-{task.name}", "suspended"
        self.existing[task.name] = task
        if task.finalize:  # Snowflake links the finalizer from its root's task relations
            relations = {"Predecessors": [], "FinalizerTask": f"DB.SC.{task.name}"}
            self.existing[task.finalize].task_relations = json.dumps(relations)

    def __getitem__(self, name: str) -> Any:
        return _TaskResource(self, name)


class _TaskResource:
    def __init__(self, schema: Schema, name: str) -> None:
        self.schema, self.name = schema, name

    def _task(self) -> Any:
        if self.name not in self.schema.existing:
            raise NotFoundError(None, 404, "Not Found")
        return self.schema.existing[self.name]

    def _call(self, verb: str) -> None:
        self._task()
        self.schema.calls.append((verb, self.name))

    def fetch(self) -> Any:
        return self._task()

    def resume(self) -> None:
        self._call("resume")
        self._task().state = "started"

    def suspend(self) -> None:
        self._call("suspend")
        self._task().state = "suspended"

    def execute(self, *, retry_last: bool = False) -> None:
        self._call("execute")

    def drop(self) -> None:
        self._call("drop")
        del self.schema.existing[self.name]

    def fetch_task_dependents(self) -> list[Any]:
        root = self._task()
        return [
            root,
            *(t for n, t in self.schema.existing.items() if n.startswith(f"{self.name}$")),
        ]

    def get_current_graphs(self) -> list[Any]:
        self._task()
        return self.schema.current_runs


@pytest.fixture
def graph(tmp_path):
    return golden_graph(tmp_path)


@pytest.fixture
def archive(tmp_path):
    return build_archive(tmp_path / "dist")


class TestDeploy:
    def test_a_procedure_snowflake_refuses_fails_before_the_schedule_stops(self, graph, archive):
        session, schema = AccountSession(refuse="CREATE OR REPLACE PROCEDURE"), Schema()
        with pytest.raises(ConfigError, match="Snowflake refused to deploy"):
            deploy_graph(
                graph, session=session, archive=archive, schema=schema, package_check=False
            )
        assert not any("SUSPEND" in line for line in session.log)
        assert schema.calls == []

    def test_code_and_procedure_go_before_the_suspension_then_the_tasks_root_first(
        self, graph, archive
    ):
        session, schema = AccountSession(), Schema()
        report = deploy_graph(graph, session=session, archive=archive, schema=schema)
        assert [line.split()[0:2] for line in session.log] == [
            ["SELECT", "PACKAGE_NAME,"],
            ["CREATE", "STAGE"],
            ["PUT", archive.name],
            ["CREATE", "OR"],
            ["CREATE", "OR"],
            ["ALTER", "TASK"],
        ]
        assert session.log[5].endswith(f"{DAG} SUSPEND")  # after both procedures exist
        assert "@DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE" in session.log[2]
        assert "('auto_compress', False), ('overwrite', True)" in session.log[2]
        assert session.log[3].startswith(
            "CREATE OR REPLACE PROCEDURE DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STEP"
        )
        assert session.log[4].startswith(
            "CREATE OR REPLACE PROCEDURE DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STAGE"
        )
        created = [name for verb, name in schema.calls if verb == "create"]
        assert created[0] == DAG
        assert created.index(f"{DAG}$WEEKLY_RETRAINING") < created.index(
            f"{DAG}$AUTO_DEPLOY_BEST_MODEL"
        )
        for name in created[1:]:
            assert schema.calls.index(("create", name)) < schema.calls.index(("resume", name))
        assert schema.calls[-1] == ("resume", DAG)
        assert {n: (t.definition, t.predecessors) for n, t in schema.existing.items()} == {
            t.name: (t.definition, list(t.predecessors) if t.predecessors else None)
            for t in graph.tasks()
        }
        assert report.tasks[0] == graph.qualified(DAG)

    def test_a_redeploy_replaces_a_running_graph(self, graph, archive):
        schema = Schema()
        deploy_graph(graph, session=AccountSession(), archive=archive, schema=schema)
        schema.calls.clear()
        deploy_graph(graph, session=AccountSession(), archive=archive, schema=schema)
        assert schema.calls[:2] == [
            ("suspend", DAG),
            ("drop", f"{DAG}$AUTO_DEPLOY_BEST_MODEL"),
        ] or (schema.calls[0] == ("suspend", DAG) and ("drop", DAG) in schema.calls)
        assert all(state == "started" for state in (t.state for t in schema.existing.values()))
        assert sorted(schema.existing) == sorted(t.name for t in graph.tasks())

    def test_an_unhosted_pin_fails_before_anything_changes(self, graph, archive):
        hosted = [row for row in HOSTED if row[:2] != ("scikit-learn", "1.9.1")]
        session, schema = AccountSession(hosted=hosted), Schema()
        with pytest.raises(
            ConfigError, match=r"does not host scikit-learn==1\.9\.1 \(hosted: 1\.6\.1\)"
        ):
            deploy_graph(graph, session=session, archive=archive, schema=schema)
        assert len(session.log) == 1 and schema.calls == []

    def test_a_refusal_by_snowflake_is_a_user_error(self, graph, archive):
        session = AccountSession(refuse="CREATE STAGE")
        with pytest.raises(
            ConfigError, match="Snowflake refused to deploy task graph .*Insufficient"
        ):
            deploy_graph(graph, session=session, archive=archive, schema=Schema())


class TestRunAndStatus:
    def test_run_resumes_the_root_then_executes_it(self, graph, archive):
        schema = Schema()
        deploy_graph(graph, session=AccountSession(), archive=archive, schema=schema)
        schema.calls.clear()
        run_graph(graph, session=AccountSession(), schema=schema)
        assert schema.calls == [("resume", DAG), ("execute", DAG)]

    def test_run_and_status_of_a_graph_never_deployed_name_the_fix(self, graph):
        with pytest.raises(ConfigError, match="is not deployed .*ccflows snowflake deploy"):
            run_graph(graph, session=AccountSession(), schema=Schema())
        with pytest.raises(ConfigError, match="is not deployed"):
            graph_status(graph, session=AccountSession(), schema=Schema())

    def test_status_reports_current_runs_and_the_task_history(self, graph, archive):
        schema = Schema()
        deploy_graph(graph, session=AccountSession(), archive=archive, schema=schema)
        schema.existing[DAG].id = ROOT_ID
        schema.current_runs = [
            SimpleNamespace(
                root_task_name=DAG, database_name="D", schema_name="S", state="EXECUTING",
                first_error_task_name=None, first_error_code=None, first_error_message=None,
                scheduled_time="2026-01-05 01:01", query_start_time=None,
                next_scheduled_time="2026-01-12 01:01", run_id=17, graph_version=1,
            )
        ]  # fmt: skip
        history = [Row(9, f"{DAG}$AUTO_DEPLOY_BEST_MODEL", "SUCCEEDED", "t0", "t1", "kept", None)]
        session = AccountSession(history=history)
        status = graph_status(graph, session=session, schema=schema)
        assert [(r.run_id, r.state, r.first_error) for r in status.current] == [
            (17, "EXECUTING", None)
        ]
        assert [(h.run_group_id, h.task, h.return_value) for h in status.history] == [
            ("9", f"{DAG}$AUTO_DEPLOY_BEST_MODEL", "kept")
        ]
        assert f"TASK_HISTORY(ROOT_TASK_ID => '{ROOT_ID}'" in session.log[-1]


def test_no_configured_connection_is_a_user_error():
    with pytest.raises(
        ConfigError, match="Cannot open a Snowflake session \\(connection 'cc-none'"
    ):
        open_session(SnowflakeSettings(connection_name="cc-none"))
