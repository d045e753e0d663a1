"""The reviewable SQL script: a golden copy, statement order, quoting."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from deployments.code_archive import archive_name
from deployments.snowflake_graph import TaskSpec
from deployments.snowflake_sql import render_script, render_task, sql_literal
from tests.deployments.conftest import GOLDEN, golden_graph

REGENERATE = (
    "The emitted script changed. If the change is intended (prefect.yaml's weekly deployment, "
    "the graph, the pins or the version changed), regenerate the golden file with\n"
    "  ccflows snowflake emit --warehouse COMPUTE_WH --home $(mktemp -d) "
    "--out tests/deployments/golden/graph.sql\nand review its diff."
)


def test_the_script_equals_the_golden_file(tmp_path):
    script = render_script(golden_graph(tmp_path), archive=Path(archive_name())).text()
    assert script == GOLDEN.read_text(), REGENERATE


class TestOrder:
    @pytest.fixture
    def script(self, tmp_path):
        return render_script(golden_graph(tmp_path), archive=PurePosixPath("dist/cc.zip"))

    def test_the_root_is_suspended_before_anything_changes(self, script):
        text = script.text()
        assert text.index("SUSPEND;") < text.index("CREATE STAGE") < text.index("CREATE OR REPLACE")
        assert script.suspend_root.startswith("ALTER TASK IF EXISTS ")

    def test_tasks_are_created_root_first_and_resumed_root_last(self, script):
        created = [s.split("\n")[0].split(".")[-1] for s in script.create_tasks]
        resumed = [s.split()[2].split(".")[-1] for s in script.resume_tasks]
        root = "CHAMPION_CHALLENGER_DAG"
        assert created[0] == root and created[1:] == [
            f"{root}$WEEKLY_RETRAINING",
            f"{root}$AUTO_DEPLOY_BEST_MODEL",
            f"{root}$RECORD_OUTCOME",
        ]
        assert resumed == [*created[1:], root]

    def test_the_procedure_imports_the_uploaded_archive_by_its_file_name(self, script):
        assert (
            "PUT 'file://dist/cc.zip' @DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE"
            in script.upload
        )
        assert (
            "IMPORTS = ('@DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE/cc.zip')"
            in script.create_procedure
        )
        assert "HANDLER = 'deployments.procedures.run_step'" in script.create_procedure


class TestQuoting:
    def test_literals_escape_backslashes_then_quotes(self):
        assert sql_literal("it's C:\\x") == "'it''s C:\\\\x'"

    def test_a_comment_cannot_break_out_of_its_literal(self):
        task = TaskSpec(name="T", definition="SELECT 1", comment="x'; DROP TASK T; --")
        assert "COMMENT = 'x''; DROP TASK T; --'" in render_task(task, database="D", schema="S")

    def test_a_python_definition_cannot_be_rendered_offline(self):
        task = TaskSpec(name="T", definition=print)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="must have a SQL definition"):
            render_task(task, database="D", schema="S")
