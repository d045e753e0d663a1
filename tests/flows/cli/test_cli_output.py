"""What ``ccflows`` prints, in real subprocesses: through a pipe and on an 80-column terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.records import LedgerEntry, Outcome
from tests.flows.homes import home_with_a_version

CCFLOWS = str(Path(sys.executable).parent / "ccflows")
BOX = re.compile("[─│┃━┏┓┗┛┡┩╇╭╮╯╰]")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_REASON = (
    "auc: challenger 0.654 vs champion 0.648 (+0.006, 90% CI [-0.008, +0.020]); "
    "margin 0.000; p=0.25 ≥ alpha 0.05 → inconclusive"
)
VERSIONS = ("CHAMPION_W000_009_0EBE96FD", "CHALLENGER_W003_012_95471986")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """Two versions with the real names' length, and a ledger entry with parameters."""
    path = tmp_path_factory.mktemp("output") / "home"
    registry = home_with_a_version(path, VERSIONS[0])
    home_with_a_version(path, VERSIONS[1])
    registry.append_ledger(
        LedgerEntry(
            outcome=Outcome.INCONCLUSIVE,
            reason=LONG_REASON,
            actor="tester",
            champion_version=VERSIONS[0],
            challenger_version=VERSIONS[1],
            policy="significance_margin",
            policy_params={"margin": 0.0, "alpha": 0.05, "max_metric_drop": {}},
        )
    )
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CC_HOME", "FORCE_COLOR")}
    return {**env, "COLUMNS": "80", "LINES": "40", "TERM": "xterm-256color", **extra}


def piped(*argv: str) -> str:
    """stdout of ``ccflows argv`` through a pipe."""
    result = subprocess.run(
        [CCFLOWS, *argv], capture_output=True, text=True, env=_env(), check=True
    )
    return result.stdout


def on_terminal(*argv: str) -> list[str]:
    """The lines ``ccflows argv`` shows on an 80-column pseudo-terminal, colours removed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [CCFLOWS, *argv], stdin=follower, stdout=follower, stderr=follower, env=_env()
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait() == 0
    text = ANSI.sub("", b"".join(chunks).decode())
    return text.replace("\r", "").splitlines()


class TestThroughAPipe:
    def test_policies_are_one_record_per_line_so_grep_and_cut_work(self):
        out = piped("policies")
        assert not BOX.search(out)
        [row] = [line for line in out.splitlines() if "significance_margin" in line.split("\t")]
        name, _origin, status, params, _description = row.split("\t")
        assert (name, status) == ("significance_margin", "ok")
        assert "margin=0.0: " in params and "alpha=0.05: " in params
        assert "max_metric_drop=—" in params

    def test_history_and_status_are_tab_separated_records_with_whole_ids(self, home):
        history = piped("history", "--home", str(home)).splitlines()
        assert history[0].split("\t") == [
            "#", "when (UTC)", "outcome", "live after", "policy", "reason",
        ]  # fmt: skip
        fields = history[1].split("\t")
        assert fields[2] == "inconclusive" and fields[4] == "significance_margin"
        assert fields[5] == LONG_REASON and fields[3] == "—"
        status = piped("status", "--home", str(home))
        assert not BOX.search(status)
        for version in VERSIONS:
            [line] = [row for row in status.splitlines() if row.startswith(version)]
            assert line.split("\t")[0] == version
        assert "LIVE_VERSION\t—" in status and "None" not in status


class TestOnAnEightyColumnTerminal:
    @pytest.mark.parametrize(
        ("command", "names"),
        [
            ("status", VERSIONS),
            ("history", ("significance_margin", "inconclusive")),
            ("policies", ("auc_greater", "significance_margin")),
        ],
    )
    def test_tables_fit_and_never_cut_an_identifier(self, home, command, names):
        lines = on_terminal(command, *(["--home", str(home)] if command != "policies" else []))
        text = "\n".join(lines)
        assert max(len(line) for line in lines) <= 80
        assert "None" not in text and "{'" not in text
        for name in names:
            assert re.search(rf"\b{name}\b", text), f"{name} cut or split"

    def test_a_decision_writes_parameters_and_missing_values_for_people(self):
        import io

        from rich.console import Console

        from flows.cli._render import print_decision

        buffer = io.StringIO()
        console = Console(file=buffer, width=80, force_terminal=True, color_system=None)
        entry = LedgerEntry(
            outcome=Outcome.DRY_RUN,
            reason="would be kept",
            champion_version=VERSIONS[0],
            challenger_version=VERSIONS[1],
            policy="significance_margin",
            policy_params={"margin": 0.0, "alpha": 0.05, "max_metric_drop": {"roc_auc": 0.01}},
        )
        print_decision(console, entry)
        text = buffer.getvalue()
        assert "significance_margin (margin=0.0, alpha=0.05, max_metric_drop=(roc_auc=0.01))" in (
            " ".join(text.replace("│", " ").split())
        )
        assert re.search(r"live before +—", text) and "None" not in text
        assert all(version in text for version in VERSIONS)


def test_a_flows_progress_becomes_the_status_line_and_its_failure_report_is_dropped():
    import io
    import logging

    from rich.console import Console
    from rich.status import Status

    from flows.cli._flow_runs import _StatusLine

    status = Status("", console=Console(file=io.StringIO()))
    line = _StatusLine(status, width=60)

    def shown(name: str, level: int, message: str, **extra) -> logging.LogRecord | None:
        record = logging.LogRecord(name, level, __file__, 1, message, None, None)
        record.__dict__.update(extra)
        return record if line.filter(record) else None

    assert shown("prefect.task_runs", logging.INFO, "Reused X", task_name="retrain") is None
    assert str(status.status) == "retrain: Reused X"
    assert shown("flows.cycle.training", logging.INFO, "Training " + "x" * 80) is None
    assert str(status.status).startswith("retrain: Training x") and len(str(status.status)) == 56
    failure = (ValueError, ValueError("boom"), None)
    assert shown("prefect.flow_runs", logging.ERROR, "Encountered", exc_info=failure) is None
    warning = shown("prefect.flow_runs", logging.WARNING, "Could not record", exc_info=failure)
    assert warning is not None and warning.exc_info is None
