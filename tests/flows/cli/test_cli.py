"""The ``ccflows`` commands that need no orchestrator, rendered at a fixed width."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from flows.cli import build_parser, main
from tests.flows.homes import home_with_a_version, tree


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("CC_HOME", str(path))
    return path


def test_generate_stores_and_exports_csv_and_parquet(home, tmp_path, screen):
    assert main(["generate", "--out", str(tmp_path / "apps.csv")]) == 0
    assert "8,000 applications (weeks 0–19), 4,011 approved" in screen.getvalue()
    exported = pd.read_csv(tmp_path / "apps.csv")
    assert len(exported) == 8000 and int(exported["approved"].sum()) == 4011
    assert main(["generate", "--append-weeks", "2", "--out", str(tmp_path / "new.parquet")]) == 0
    assert sorted(pd.read_parquet(tmp_path / "new.parquet")["week_number"].unique()) == [20, 21]
    assert (home / "data" / "applications" / "week-00021.parquet").is_file()


def test_generate_twice_explains_append_or_replace(home, screen, capsys):
    assert main(["generate"]) == 0
    assert main(["generate"]) == 2
    assert "--append-weeks" in capsys.readouterr().err


def test_export_refuses_unknown_extensions(home, tmp_path, capsys):
    assert main(["generate", "--no-store", "--out", str(tmp_path / "apps.xlsx")]) == 2
    assert ".csv or .parquet" in capsys.readouterr().err


def test_status_and_history_print_json(home, screen, capsys):
    home_with_a_version(home)
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["live_version"] is None and [v["name"] for v in status["versions"]] == ["V_ONE"]
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


READ_ONLY = (["status"], ["history"], ["score"], ["replay"], ["history", "--at", "2030-01-01"])
"""Commands that only read the registry."""


class TestMistakesAreNamed:
    @pytest.mark.parametrize(
        "argv", [*READ_ONLY, ["run"], ["train-champion"], ["rollback"]], ids=" ".join
    )
    def test_a_missing_home_is_one_line_and_is_not_created(self, tmp_path, argv, capsys):
        missing = tmp_path / "typo"
        assert main([*argv, "--home", str(missing)]) == 2
        err = capsys.readouterr().err
        assert f"no home directory {missing}" in err and len(err.strip().splitlines()) == 1
        assert not missing.exists()

    @pytest.mark.parametrize("argv", [*READ_ONLY, ["run"], ["rollback"]], ids=" ".join)
    def test_an_unknown_model_names_the_models_that_exist_and_creates_nothing(
        self, home, argv, capsys
    ):
        home_with_a_version(home)
        before = tree(home)
        assert main([*argv, "--model-name", "CREDIT_APROVAL"]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"no model CREDIT_APROVAL in {home}; models here: CREDIT_APPROVAL" in err
        assert tree(home) == before

    def test_a_home_with_data_but_no_model_says_none_yet(self, home, capsys):
        assert main(["generate", "--weeks", "2"]) == 0
        assert main(["status"]) == 2
        assert "models here: none yet (run `ccflows train-champion`)" in capsys.readouterr().err

    def test_a_read_only_registry_refuses_writes(self, home):
        from flows.backends.local.registry import LocalRegistry
        from flows.errors import RegistryError

        home_with_a_version(home)
        registry = LocalRegistry(home, "CREDIT_APPROVAL", mode="read")
        assert [v.name for v in registry.list_versions()] == ["V_ONE"]
        with pytest.raises(RegistryError, match="opened read-only; nothing was changed"):
            registry.set_challenger("V_ONE")

    @pytest.mark.parametrize(
        ("table", "key", "allowed"),
        [
            (
                "windows",
                "train_week",
                "holdout, holdout_weeks, test, test_weeks, train, train_weeks",
            ),
            ("champion", "estimater", "estimator, factory, params, scale"),
            ("data", "lable", "categorical, complete_through, features, id_column, ignore, label"),
            (
                "snowflake",
                "databse",
                "applications_table, compute, connection_name, credentials_block",
            ),
        ],
    )
    def test_a_bad_key_inside_a_config_table_lists_the_allowed_keys(
        self, home, capsys, table, key, allowed
    ):
        home_with_a_version(home)
        (home / "config.toml").write_text(f'[{table}]\n{key} = "x"\n')
        assert main(["status"]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"has unknown key(s) ['{key}'] in [{table}]; allowed: {allowed}" in err

    def test_a_config_table_that_is_not_a_table_is_named(self, home, capsys):
        home_with_a_version(home)
        (home / "config.toml").write_text("windows = 5\n")
        assert main(["status"]) == 2
        assert "[windows] must be a table" in capsys.readouterr().err


class TestErrorsAreOneLine:
    def _run(self, exc, *argv):
        from flows.cli._console import run_command

        def handler(args):
            raise exc

        return run_command(handler, build_parser().parse_args(["status", *argv]))

    def test_bad_input_exits_2_and_a_failure_1_each_on_one_line_without_traceback(self, capsys):
        from flows.errors import ConfigError, RegistryBusyError

        assert self._run(ConfigError("bad setting")) == 2
        assert capsys.readouterr().err == "Error: bad setting\n"
        assert self._run(RegistryBusyError("busy")) == 1
        err = capsys.readouterr().err
        assert err.startswith("Error: busy") and "--debug" in err and "Traceback" not in err
        assert self._run(RuntimeError("a\nbug")) == 1
        err = capsys.readouterr().err
        assert err.startswith("Error: RuntimeError: a bug") and len(err.splitlines()) == 1

    def test_a_policy_that_cannot_be_loaded_is_bad_input_one_that_raises_deciding_a_failure(self):
        import ccpolicy
        from flows.cli._console import exit_code_for

        assert exit_code_for(ccpolicy.UnknownPolicyError("no policy named 'x'")) == 2
        assert exit_code_for(ccpolicy.PolicyLoadError("error loading policy 'x'")) == 2
        assert exit_code_for(ccpolicy.PolicyDecisionError(None, "policy 'x' raised")) == 1

    @pytest.mark.parametrize("how", ["flag", "env"])
    def test_debug_prints_the_traceback_too(self, capsys, monkeypatch, how):
        if how == "env":
            monkeypatch.setenv("CC_DEBUG", "1")
        assert self._run(RuntimeError("bug"), *(["--debug"] if how == "flag" else [])) == 1
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err and "Error: RuntimeError: bug" in err

    @pytest.mark.parametrize(
        "argv", [["--debug", "status"], ["status", "--debug"], ["snowflake", "emit", "--debug"]]
    )
    def test_debug_is_accepted_before_or_after_any_command(self, argv):
        assert build_parser().parse_args(argv).debug is True


def test_unknown_policy_lists_what_is_installed(home, capsys):
    assert main(["replay", "--policy", "auc_gt"]) == 2
    err = capsys.readouterr().err
    assert "auc_gt" in err and "auc_greater" in err and "significance_margin" in err


def test_bad_param_syntax_is_a_usage_error(home, capsys):
    assert main(["replay", "--param", "margin"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_policies_lists_builtins_with_parameters(screen):
    assert main(["policies"]) == 0
    out = screen.getvalue()
    assert "auc_greater" in out and "significance_margin" in out and "alpha=0.05" in out


def test_fast_commands_import_no_heavy_library():
    code = (
        "import sys; from flows.cli import build_parser; build_parser().parse_args(['status']);"
        "import flows.cli.pipeline_cmds, flows.cli.registry_cmds, flows.cli.policy_cmds;"
        "heavy = [m for m in ('prefect', 'sklearn', 'snowflake.snowpark', 'snowflake.ml', 'pandas')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_status_of_a_registry_with_versions_imports_no_array_library(home):
    from flows.backends.local.registry import LocalRegistry
    from flows.data.quickstart import generate_applications
    from flows.names import FEATURE_COLUMNS
    from tests.registry.contract import TINY_SPEC, record

    data = generate_applications(2)
    registry = LocalRegistry(home, "CREDIT_APPROVAL")
    model = TINY_SPEC.build().fit(data[list(FEATURE_COLUMNS)], data["approved"])
    registry.log_version(
        model, record("V_ONE", registry.model_name), sample_input=data[list(FEATURE_COLUMNS)]
    )
    code = (
        "import sys; from flows.cli import build_parser, main; code = main(['status', '--json']);"
        "heavy = [m for m in ('numpy', 'pandas', 'sklearn') if m in sys.modules];"
        "print('heavy:', *heavy); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert '"V_ONE"' in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "heavy:"


def test_step_modules_import_neither_prefect_nor_snowflake():
    modules = [
        "flows.data.quickstart", "flows.data.periods", "flows.cycle.training", "flows.cycle.evaluation", "flows.cycle.promotion",
        "flows.cycle.steps", "flows.backends.local.registry", "flows.backends.local.source", "flows.backends",
        "flows.config", "flows.cycle.report", "flows.data.specs", "flows.data.plan", "flows.cycle.contestants",
    ]  # fmt: skip
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}];"
        # The bare 'snowflake' namespace is preloaded by a .pth file of snowpark, and
        # 'snowflake._legacy' by the 'snowflake' package's snowflake.pth (prefect-snowflake
        # needs it); the other subpackages are what costs time and what a stored procedure may lack.
        "print(','.join(m for m in sys.modules if m != 'snowflake._legacy' and (m == 'prefect' or m.startswith(('prefect.', 'snowflake.')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
