"""The ``ccflows`` commands that need no orchestrator, rendered at a fixed width."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from rich.console import Console

from flows.cli import main
from flows.cli._console import set_console


@pytest.fixture
def screen():
    buffer = io.StringIO()
    set_console(Console(file=buffer, width=120, color_system=None, force_terminal=False))
    yield buffer
    set_console(None)


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
    main(["generate"])
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["live_version"] is None and status["versions"] == []
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


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
    from flows.data import generate_applications
    from flows.names import FEATURE_COLUMNS
    from flows.registry.local import LocalRegistry
    from tests.registry.contract import TINY_SPEC, record

    data = generate_applications(2)
    registry = LocalRegistry(home, "CREDIT_APPROVAL")
    model = TINY_SPEC.build().fit(data[list(FEATURE_COLUMNS)], data["approved"])
    registry.log_version(
        model, record("V_ONE", registry.model_name), sample_input=data[list(FEATURE_COLUMNS)]
    )
    code = (
        "import sys; from flows.cli import main; code = main(['status', '--json']);"
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
        "flows.data", "flows.windows", "flows.training", "flows.evaluation", "flows.promotion",
        "flows.steps", "flows.registry.local", "flows.sources.local", "flows.backends",
        "flows.config", "flows.report",
    ]  # fmt: skip
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}];"
        # The bare 'snowflake' namespace is preloaded by a .pth file of snowpark; its
        # subpackages are what costs time and what a stored procedure may lack.
        "print(','.join(m for m in sys.modules if m == 'prefect' or m.startswith(('prefect.', 'snowflake.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
