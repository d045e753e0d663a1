"""The reviewable SQL script: a golden copy, statement order, quoting."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from deployments.code_archive import archive_name
from deployments.snowflake_graph import TaskSpec
from deployments.snowflake_sql import render_script, render_task
from flows.errors import ConfigError
from flows.identifiers import sql_literal
from tests.deployments.conftest import GOLDEN, golden_graph

CHECKOUT = PurePosixPath("/path/to/checkout")
"""Where the golden script's PUT finds the archive (the stdout emit uses the current folder)."""

REGENERATE = (
    "The emitted script changed. If the change is intended (prefect.yaml's weekly deployment, "
    "the graph, the pins or the version changed), regenerate the golden file with\n"
    "  ccflows snowflake emit --warehouse COMPUTE_WH --home $(mktemp -d) "
    "--out tests/deployments/golden/graph.sql\nand review its diff."
)


def test_the_script_equals_the_golden_file(tmp_path):
    script = render_script(golden_graph(tmp_path), archive=CHECKOUT / archive_name(), built=False)
    assert script.text() == GOLDEN.read_text(), REGENERATE


class TestOrder:
    @pytest.fixture
    def script(self, tmp_path):
        return render_script(golden_graph(tmp_path), archive=PurePosixPath("/dist/cc.zip"))

    def test_the_procedure_exists_before_the_schedule_stops(self, script):
        """An unhosted package pin fails CREATE PROCEDURE while the old graph still runs."""
        text = script.text()
        assert (
            text.index("CREATE STAGE")
            < text.index("CREATE OR REPLACE PROCEDURE")
            < text.index(" SUSPEND;")
            < text.index("EXECUTE IMMEDIATE")
            < text.index("CREATE OR REPLACE TASK")
        )
        assert script.suspend_root.startswith("ALTER TASK IF EXISTS ")

    def test_child_tasks_no_longer_in_the_graph_are_dropped(self, script):
        root = "CHAMPION_CHALLENGER_DAG"
        kept = ", ".join(
            f"'{root}{step}'"
            for step in ("", "$WEEKLY_RETRAINING", "$AUTO_DEPLOY_BEST_MODEL", "$RECORD_OUTCOME")
        )
        assert f"WHERE NAME NOT IN ({kept})" in script.drop_stale
        assert "TASK_DEPENDENTS(TASK_NAME => 'DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER." in (
            script.drop_stale
        )
        assert "DROP TASK IF EXISTS" in script.drop_stale
        assert "RETURN 'first deploy" in script.drop_stale  # no root yet: nothing to look up

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
            "PUT 'file:///dist/cc.zip' @DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE"
            in script.upload
        )
        assert (
            "IMPORTS = ('@DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE/cc.zip')"
            in script.create_procedure
        )
        assert "HANDLER = 'deployments.procedures.run_step'" in script.create_procedure
        assert "The PUT uploads the code archive /dist/cc.zip, built by" in script.header

    def test_a_relative_archive_path_is_refused(self, tmp_path):
        with pytest.raises(ConfigError, match="must be absolute"):
            render_script(golden_graph(tmp_path), archive=PurePosixPath("dist/cc.zip"))

    def test_an_unbuilt_archive_is_named_with_the_command_that_builds_it(self, tmp_path):
        script = render_script(golden_graph(tmp_path), archive=CHECKOUT / "cc.zip", built=False)
        assert "`ccflows snowflake emit --archive /path/to/checkout` writes cc.zip" in script.header


class TestQuoting:
    def test_literals_escape_backslashes_then_quotes(self):
        assert sql_literal("it's C:\\x") == "'it''s C:\\\\x'"

    def test_a_config_value_cannot_close_its_dollar_quotes(self):
        task = TaskSpec(name="T", definition="SELECT 1", config={"note": "x$$; DROP"})
        with pytest.raises(ConfigError, match=r"CONFIG must not contain '\$\$'"):
            render_task(task, database="D", schema="S")

    def test_a_comment_cannot_break_out_of_its_literal(self):
        task = TaskSpec(name="T", definition="SELECT 1", comment="x'; DROP TASK T; --")
        assert "COMMENT = 'x''; DROP TASK T; --'" in render_task(task, database="D", schema="S")

    def test_a_python_definition_cannot_be_rendered_offline(self):
        task = TaskSpec(name="T", definition=print)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="must have a SQL definition"):
            render_task(task, database="D", schema="S")
