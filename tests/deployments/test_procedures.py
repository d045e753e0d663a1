"""The procedure's handlers: importable without prefect, and the Snowflake runtime they run in."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from snowflake.ml._internal import file_utils
from snowflake.snowpark import Row

from deployments import procedures
from deployments.prefect_yaml import read_deployment
from deployments.snowflake_graph import build_graph
from flows.backends import open_backend
from flows.config import Settings, SnowflakeSettings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from flows.errors import ConfigError
from flows.records import LedgerEntry, Outcome
from tests.deployments.conftest import PREFECT_YAML
from tests.snowflake.recording_session import RecordingSession

RUN_ID = "1736060460000"
ROOT_ID = "01b9f2aa-0000-4000-8000-000000000001"
FINALIZER = "CC_DB.CC_SCHEMA.CHAMPION_CHALLENGER_DAG$RECORD_OUTCOME"


def test_the_handlers_import_with_prefect_absent():
    code = (
        "import sys; sys.modules['prefect'] = None;"  # any 'import prefect' now fails
        "import deployments.procedures as p; assert callable(p.run_step);"
        # 'snowflake._legacy' is preloaded by the 'snowflake' package's snowflake.pth.
        "print(','.join(m for m in sys.modules if m != 'snowflake._legacy' and m.startswith(('prefect.', 'snowflake.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_an_unknown_step_names_the_graphs_steps():
    with pytest.raises(
        ConfigError, match="Unknown step 'TRAIN'; the task graph's steps are WEEKLY"
    ):
        procedures.run("TRAIN", None)  # type: ignore[arg-type]


class _Rows:
    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows

    def collect(self, *args: Any, **kwargs: Any) -> list[Row]:
        return self._rows


class InTaskSession:
    """A procedure's session inside a graph task: the task system functions answer from
    here, every other statement goes to the recording session (our tables, the registry)."""

    def __init__(
        self,
        inner: RecordingSession,
        *,
        config: dict | None,
        history: list[Row] = (),
        root_id: str = ROOT_ID,
        task: str = FINALIZER,
        predecessor: str | None = None,
    ) -> None:
        self._inner = inner
        self.root_id, self.task, self.predecessor = root_id, task, predecessor
        self.config_text = None if config is None else json.dumps(config)
        self.history = list(history)
        self.sent: list[tuple[str, tuple]] = []
        self.returned: list[str] = []

    def sql(self, query: str, params: Any = None, **kwargs: Any) -> Any:
        text = " ".join(query.split())
        self.sent.append((text, tuple(params or ())))
        answers = {
            "SELECT SYSTEM$GET_TASK_GRAPH_CONFIG()": [Row(self.config_text)],
            "SELECT TO_CHAR(SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_GRAPH_RUN_GROUP_ID'))": [
                Row(RUN_ID)
            ],
            "SELECT TO_CHAR(SYSTEM$TASK_RUNTIME_INFO('CURRENT_ROOT_TASK_UUID'))": [
                Row(self.root_id)
            ],
            "SELECT SYSTEM$CURRENT_USER_TASK_NAME()": [Row(self.task)],
            "SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE()": [Row(self.predecessor)],
        }
        if text in answers:
            return _Rows(answers[text])
        if text == "CALL SYSTEM$SET_RETURN_VALUE(?)":
            self.returned.extend(params)
            return _Rows([Row("ok")])
        if "INFORMATION_SCHEMA.TASK_HISTORY" in text:
            return _Rows(self.history)
        return self._inner.sql(query, params=params, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def graph(tmp_path):
    snowflake = SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA")
    return build_graph(read_deployment(PREFECT_YAML), Settings(home=tmp_path, snowflake=snowflake))


@pytest.fixture
def recording():
    return RecordingSession("CC_DB", "CC_SCHEMA")


def _ledger(session, graph):
    with open_backend(graph.config.settings, session=session) as backend:
        return backend.registry.ledger()


class TestInsideSnowflake:
    """run_step with the procedure's session, on the Snowflake backend (a recording session)."""

    def test_the_finalizer_records_the_first_error_of_a_failed_run(self, graph, recording):
        failed = Row(
            "CHAMPION_CHALLENGER_DAG$WEEKLY_RETRAINING", "FAILED", "No rows are stored yet"
        )
        session = InTaskSession(recording, config=graph.root_task().config, history=[failed])
        assert procedures.run_step(session, "RECORD_OUTCOME") == "failed"
        entry = _ledger(recording, graph)[-1]
        assert entry.outcome is Outcome.FAILED and entry.run_id == RUN_ID
        assert entry.actor == f"snowflake-task:{FINALIZER}"
        assert (
            "CHAMPION_CHALLENGER_DAG$WEEKLY_RETRAINING failed: No rows are stored yet"
            in entry.reason
        )
        history = next((q, p) for q, p in session.sent if "TASK_HISTORY" in q)
        assert (
            f"FROM TABLE(CC_DB.INFORMATION_SCHEMA.TASK_HISTORY(ROOT_TASK_ID => '{ROOT_ID}'"
            in history[0]
        )
        assert history[1] == (RUN_ID,)

    def test_the_finalizer_keeps_a_decision_the_run_recorded(self, graph, recording):
        with open_backend(graph.config.settings, session=recording) as backend:
            backend.registry.append_ledger(LedgerEntry(Outcome.KEPT, "kept it", run_id=RUN_ID))
        session = InTaskSession(recording, config=graph.root_task().config, history=[])
        assert procedures.run_step(session, "RECORD_OUTCOME") == "kept"
        assert [e.outcome for e in _ledger(recording, graph)] == [Outcome.KEPT]
        assert not [q for q, _ in session.sent if "TASK_HISTORY" in q]

    def test_a_failed_run_without_history_yet_is_still_recorded(self, graph, recording):
        session = InTaskSession(recording, config=graph.root_task().config, history=[])
        assert procedures.run_step(session, "RECORD_OUTCOME") == "failed"
        assert procedures.NO_ERROR_SEEN in _ledger(recording, graph)[-1].reason

    def test_outside_a_graph_run_there_is_no_config(self, recording):
        session = InTaskSession(recording, config=None, history=[])
        with pytest.raises(ConfigError, match="runs as a task of the graph"):
            procedures.run_step(session, "RECORD_OUTCOME")


def test_the_whole_graph_runs_inside_snowflake_on_the_flows_steps(graph, recording, monkeypatch):
    """Each task's CALL, in the graph's order, with the procedure's session on the Snowflake backend."""
    monkeypatch.setattr(file_utils, "upload_directory_to_stage", recording.upload_directory)
    settings = graph.config.settings
    with open_backend(settings, session=recording) as backend:
        steps.generate_data(backend, GeneratorSpec(rows_per_week=40))
        steps.train_champion(backend, settings, actor="tester")
    returned: dict[str, str] = {}
    for step in graph.steps:
        session = InTaskSession(
            recording,
            config=graph.root_task().config,
            task=graph.qualified(graph.task_name(step)),
            predecessor=returned.get(step.after) if step.after else None,
        )
        result = procedures.run_step(session, step.name)
        returned[step.name] = session.returned[-1] if session.returned else result
    retrained, outcome = (
        json.loads(returned["WEEKLY_RETRAINING"]),
        returned["AUTO_DEPLOY_BEST_MODEL"],
    )
    challenger = retrained["challenger"]["version"]
    entry = _ledger(recording, graph)[-1]
    assert entry.plan == retrained["plan"]
    assert (entry.challenger_version, entry.outcome.value, entry.run_id) == (
        challenger,
        outcome,
        RUN_ID,
    )
    assert (
        entry.actor
        == "snowflake-task:CC_DB.CC_SCHEMA.CHAMPION_CHALLENGER_DAG$AUTO_DEPLOY_BEST_MODEL"
    )
    assert returned["RECORD_OUTCOME"] == outcome
    pointers = recording.pointers("CREDIT_APPROVAL")
    assert (
        pointers["LIVE_VERSION"] == pointers["CHAMPION"] == pointers["default"] == entry.live_after
    )


class TestSnowflakeTaskRuntime:
    def test_the_config_reads_back_as_the_graphs(self, graph, recording):
        session = InTaskSession(recording, config=graph.root_task().config, history=[])
        read_back = procedures.SnowflakeTaskRuntime(session).graph_config()
        assert read_back.to_config() == graph.config.to_config()
        assert read_back.settings.backend == "snowflake"
        assert read_back.settings.home == Path(tempfile.gettempdir()).resolve()

    def test_return_values_are_bound_not_spliced(self, graph, recording):
        session = InTaskSession(recording, config=graph.root_task().config, history=[])
        procedures.SnowflakeTaskRuntime(session).set_return_value("CHALLENGER_W006_015_'X")
        assert session.returned == ["CHALLENGER_W006_015_'X"]

    def test_an_unexpected_root_id_is_never_spliced_into_sql(self, graph, recording):
        config = graph.root_task().config
        session = InTaskSession(recording, config=config, history=[], root_id="x') --")
        assert procedures.SnowflakeTaskRuntime(session).first_error() is None
        assert not [q for q, _ in session.sent if "TASK_HISTORY" in q]
