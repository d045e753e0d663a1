"""The task graph derived from the weekly deployment, and its snowflake.core twin."""

from __future__ import annotations

import json
import warnings

import pytest
import yaml

import ccpolicy
from deployments.graph_config import GraphConfig
from deployments.graph_contract import AUTO_DEPLOY_BEST_MODEL, RECORD_OUTCOME, WEEKLY_RETRAINING
from deployments.prefect_yaml import CronSchedule, read_deployment
from deployments.snowflake_graph import (
    PROCEDURE_PACKAGES,
    GraphOptions,
    TaskSpec,
    build_graph,
    load_graph,
    to_snowflake_dag,
)
from deployments.snowflake_sql import render_task
from flows.config import Settings, SnowflakeSettings
from flows.cycle.stages import CycleParameters
from flows.data.contract import DataContract
from flows.errors import ConfigError
from tests.deployments.conftest import PREFECT_YAML, golden_graph

DAG = "CHAMPION_CHALLENGER_DAG"


def _changed_copy(tmp_path, *, schedule, parameters):
    """This project's prefect.yaml with the weekly deployment's schedule and parameters changed."""
    document = yaml.safe_load(PREFECT_YAML.read_text())
    weekly = next(d for d in document["deployments"] if d["name"] == "weekly")
    weekly["schedules"] = [schedule]
    weekly["parameters"] = parameters
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


class TestTheRootCarriesTheDeployment:
    def test_schedule_and_timezone_are_the_deployments(self, tmp_path):
        root = golden_graph(tmp_path).root_task()
        assert root.schedule == read_deployment(PREFECT_YAML).schedule
        assert (root.schedule.expr, root.schedule.timezone) == ("1 1 * * 1", "Asia/Singapore")

    def test_config_carries_the_deployments_parameters(self, tmp_path):
        graph = golden_graph(tmp_path)
        written = dict(read_deployment(PREFECT_YAML).parameters)
        carried = GraphConfig.from_config(json.loads(json.dumps(graph.root_task().config)))
        assert {k: v for k, v in carried.flow_parameters().items() if k in written} == written
        assert carried.parameters == graph.config.parameters
        assert carried.to_config() == graph.config.to_config()

    def test_the_graph_follows_a_change_in_prefect_yaml(self, tmp_path):
        path = _changed_copy(
            tmp_path,
            schedule={"cron": "30 4 * * 2", "timezone": "Europe/Paris"},
            parameters={
                "policy": "auc_greater",
                "model_name": "loan_model",
                "windows": {"train_weeks": 6, "test_weeks": 2, "holdout_weeks": 3},
                "dry_run": True,
            },
        )
        graph = load_graph(path, settings=Settings(home=tmp_path))
        root = graph.root_task()
        assert root.schedule == CronSchedule("30 4 * * 2", "Europe/Paris")
        assert graph.config.flow_parameters() == {
            "policy": "auc_greater",
            "policy_params": {},
            "model_name": "LOAN_MODEL",
            "windows": {"train": 6, "test": 2, "holdout": 3},  # the *_weeks names read as aliases
            "dry_run": True,
        }
        sql = render_task(root, database=graph.database, schema=graph.schema)
        assert "SCHEDULE = 'USING CRON 30 4 * * 2 Europe/Paris'" in sql
        assert '"policy": "auc_greater"' in sql and '"dry_run": true' in sql

    def test_left_out_parameters_take_the_settings_values(self, tmp_path):
        path = _changed_copy(
            tmp_path, schedule={"cron": "1 1 * * 1"}, parameters={"policy": "auc_greater"}
        )
        settings = Settings(home=tmp_path, model_name="OTHER_MODEL")
        config = load_graph(path, settings=settings).config
        assert config.settings.model_name == "OTHER_MODEL"
        assert config.settings.windows == settings.windows

    def test_the_data_contract_of_the_settings_travels_in_config(self, tmp_path):
        contract = DataContract(
            label="churned",
            positive_label="yes",
            time_column="signup_time",
            period="day",
            categorical=("plan",),
            id_column="customer_id",
        )
        graph = load_graph(PREFECT_YAML, settings=Settings(home=tmp_path, contract=contract))
        carried = GraphConfig.from_config(json.loads(json.dumps(graph.root_task().config)))
        assert carried.settings.contract == contract
        assert carried.settings.backend == "snowflake"

    def test_complete_through_travels_in_config_when_set(self, tmp_path):
        contract = DataContract(label="churned", positive_label="yes", time_column="signup_time")
        settings = Settings(home=tmp_path, contract=contract, complete_through="2025-03-31")
        graph = load_graph(PREFECT_YAML, settings=settings)
        config = json.loads(json.dumps(graph.root_task().config))
        assert json.loads(config["settings"])["complete_through"] == "2025-03-31"
        assert GraphConfig.from_config(config).settings.complete_through == "2025-03-31"

    def test_no_overlap_retries_timeout_and_suspension_are_on_the_root(self, tmp_path):
        options = GraphOptions(retry_attempts=1, timeout_minutes=90, suspend_after_failures=5)
        root = build_graph(
            read_deployment(PREFECT_YAML), Settings(home=tmp_path), options
        ).root_task()
        assert root.allow_overlapping_execution is False
        assert root.task_auto_retry_attempts == 1
        assert root.user_task_timeout_ms == 90 * 60_000
        assert root.suspend_task_after_num_failures == 5


class TestEdgesMirrorTheFlow:
    def test_retrain_then_evaluate_and_promote_then_the_finalizer(self, tmp_path):
        graph = golden_graph(tmp_path)
        by_name = {task.name: task for task in graph.step_tasks()}
        assert list(by_name) == [
            f"{DAG}${WEEKLY_RETRAINING}",
            f"{DAG}${AUTO_DEPLOY_BEST_MODEL}",
            f"{DAG}${RECORD_OUTCOME}",
        ]
        assert by_name[f"{DAG}${WEEKLY_RETRAINING}"].predecessors == (DAG,)
        assert by_name[f"{DAG}${AUTO_DEPLOY_BEST_MODEL}"].predecessors == (
            f"{DAG}${WEEKLY_RETRAINING}",
        )
        finalizer = by_name[f"{DAG}${RECORD_OUTCOME}"]
        assert finalizer.predecessors is None and finalizer.finalize == DAG

    def test_each_step_task_calls_the_procedure_with_its_step(self, tmp_path):
        for task in golden_graph(tmp_path).step_tasks():
            step = task.name.split("$")[1]
            assert task.definition == (
                f"CALL DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STEP('{step}')"
            )


class TestCompute:
    def test_without_a_warehouse_the_steps_are_serverless(self, tmp_path):
        graph = build_graph(read_deployment(PREFECT_YAML), Settings(home=tmp_path), GraphOptions())
        assert graph.root_task().warehouse is None
        for task in graph.step_tasks():
            assert (
                task.warehouse is None and task.user_task_managed_initial_warehouse_size == "XSMALL"
            )

    def test_with_a_warehouse_every_task_uses_it(self, tmp_path):
        graph = golden_graph(tmp_path)
        assert {task.warehouse for task in graph.tasks()} == {"COMPUTE_WH"}
        assert {task.user_task_managed_initial_warehouse_size for task in graph.tasks()} == {None}

    def test_locations_come_from_the_snowflake_settings(self, tmp_path):
        settings = Settings(home=tmp_path, snowflake=SnowflakeSettings(database="ml", schema="reg"))
        graph = build_graph(read_deployment(PREFECT_YAML), settings)
        assert graph.qualified("X") == "ML.REG.X"
        assert "CALL ML.REG.CHAMPION_CHALLENGER_STEP(" in graph.step_tasks()[0].definition


class TestRefusals:
    def test_a_parameter_the_graph_cannot_carry_is_named(self, tmp_path):
        path = _changed_copy(
            tmp_path,
            schedule={"cron": "1 1 * * 1"},
            parameters={"policy": "auc_greater", "seed": 3},
        )
        with pytest.raises(
            ConfigError, match=r"parameter\(s\) \['seed'\] that the Snowflake task graph"
        ):
            load_graph(path, settings=Settings(home=tmp_path))

    def test_a_deployment_without_a_policy_is_refused(self, tmp_path):
        path = _changed_copy(tmp_path, schedule={"cron": "1 1 * * 1"}, parameters={})
        with pytest.raises(ConfigError, match="names no policy"):
            load_graph(path, settings=Settings(home=tmp_path))

    def test_an_unknown_policy_fails_when_emitting_not_in_snowflake(self, tmp_path):
        path = _changed_copy(
            tmp_path, schedule={"cron": "1 1 * * 1"}, parameters={"policy": "auc_gt"}
        )
        with pytest.raises(ccpolicy.UnknownPolicyError, match="auc_greater"):
            load_graph(path, settings=Settings(home=tmp_path))

    def test_text_that_would_end_the_config_literal_is_refused(self, tmp_path):
        config = GraphConfig(
            CycleParameters(policy="auc_greater", policy_params={"note": "a$$b"}),
            Settings(home=tmp_path),
        )
        with pytest.raises(ConfigError, match=r"'policy_params' contains '\$\$'"):
            config.to_config()

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"warehouse": "wh; drop"}, "warehouse must be a plain identifier"),
            ({"name": "a-b"}, "--name must be a plain identifier"),
            ({"serverless_size": "HUGE"}, "Serverless size must be one of"),
            ({"retry_attempts": -1}, "--retries must be a whole number between 0 and 30"),
            ({"retry_attempts": 31}, "--retries must be a whole number between 0 and 30"),
            ({"timeout_minutes": 0}, "--timeout-minutes must be a whole number ≥ 1"),
            ({"packages": ("pandas==2.2\n",)}, "must be pinned as name==version"),
            ({"packages": ("pandas",)}, "must be pinned as name==version"),
        ],
    )
    def test_bad_options_are_refused(self, options, message):
        with pytest.raises(ConfigError, match=message):
            GraphOptions(**options)

    def test_a_package_pin_replaces_that_package_only(self):
        options = GraphOptions().with_packages(["Scikit-Learn==1.6.1"])
        assert (
            "Scikit-Learn==1.6.1" in options.packages
            and "scikit-learn==1.9.1" not in options.packages
        )
        assert len(options.packages) == len(PROCEDURE_PACKAGES)


class TestSnowflakeCoreTwin:
    """to_snowflake_dag builds the graph DAGOperation deploys; it must equal ours, field by field."""

    @staticmethod
    def _low_level(graph):
        dag = to_snowflake_dag(graph)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no deprecated argument may slip in
            return [dag._to_low_level_task(), *(t._to_low_level_task() for t in dag.tasks)]

    @staticmethod
    def _as_spec(task):
        fields = TaskSpec.__dataclass_fields__
        values = {name: getattr(task, name) for name in fields}
        if task.schedule is not None:
            values["schedule"] = CronSchedule(task.schedule.expr, task.schedule.timezone)
        if task.predecessors is not None:
            values["predecessors"] = tuple(task.predecessors)
        return TaskSpec(**values)

    @pytest.mark.parametrize("warehouse", ["COMPUTE_WH", None])
    def test_converted_tasks_equal_ours_and_render_the_same_sql(self, tmp_path, warehouse):
        graph = build_graph(
            read_deployment(PREFECT_YAML),
            Settings(home=tmp_path),
            GraphOptions(warehouse=warehouse),
        )
        converted = self._low_level(graph)
        assert [self._as_spec(task) for task in converted] == list(graph.tasks())
        where = {"database": graph.database, "schema": graph.schema}
        assert [render_task(t, **where) for t in converted] == [
            render_task(t, **where) for t in graph.tasks()
        ]

    def test_the_rest_body_carries_schedule_config_and_finalizer(self, tmp_path):
        root, *steps = self._low_level(golden_graph(tmp_path))
        body = root.to_dict(hide_readonly_properties=True)
        assert body["schedule"] == {
            "cron_expr": "1 1 * * 1",
            "timezone": "Asia/Singapore",
            "schedule_type": "CRON_TYPE",
        }
        assert body["config"] == dict(golden_graph(tmp_path).root_task().config)
        assert body["allow_overlapping_execution"] is False
        assert steps[-1].to_dict(hide_readonly_properties=True)["finalize"] == DAG
