"""The embedded store publishes a write in one step: a killed ingest leaves the table as it was.

``ccflows ingest`` runs in a child process that kills itself (SIGKILL, as an OOM kill
or a power cut would) at the checkpoint where every period file is written but the
manifest that publishes them is not; the table must read exactly as before, and the next ingest
must succeed and clear what the killed one left.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.backends import open_backend
from flows.backends.local.source import STORE_FILE, LocalPeriodStore
from flows.cli import main
from flows.config import Settings
from flows.cycle import steps
from flows.data.contract import DataContract
from flows.data.periods import PeriodRange
from flows.data.quickstart import GeneratorSpec, generate_weeks

SPEC = GeneratorSpec(rows_per_week=30)


@pytest.fixture
def home(tmp_path) -> Path:
    """Twenty weeks of quickstart data, ingested."""
    history = tmp_path / "history.csv"
    generate_weeks(0, 19, SPEC).to_csv(history, index=False)
    settings = Settings(home=tmp_path / "home")
    files = steps.check_files(settings, [history])
    with open_backend(settings) as backend:
        steps.ingest(backend, settings, files)
    return tmp_path / "home"


KILLED_WHEN_STAGED = """
import os, signal, sys
from flows.backends.local import durable
from flows.cli import main
durable.set_checkpoint_hook(
    lambda name: name == "periods-staged" and os.kill(os.getpid(), signal.SIGKILL)
)
sys.exit(main(sys.argv[1:]))
"""
"""``ccflows`` in a process that kills itself once the period files are written."""


def _ingest_killed(home: Path, *args: str) -> int:
    argv = [sys.executable, "-c", KILLED_WHEN_STAGED, "ingest", "--home", str(home), *args]
    return subprocess.run(argv, capture_output=True, check=False).returncode


def _table(home: Path) -> tuple[tuple[int, int] | None, pd.DataFrame]:
    store = LocalPeriodStore(home / "data" / "applications")
    span = store.period_span()
    return span, store.read_periods(PeriodRange(*span)) if span else pd.DataFrame()


@pytest.mark.parametrize("mode", ["--append", "--replace"])
def test_an_ingest_killed_before_publishing_leaves_the_table_as_it_was(home, tmp_path, mode):
    new = tmp_path / "new.csv"
    generate_weeks(20, 21, SPEC).to_csv(new, index=False)
    manifest = (home / "data" / "applications" / STORE_FILE).read_bytes()
    span, rows = _table(home)
    assert _ingest_killed(home, str(new), mode) == -signal.SIGKILL
    assert (home / "data" / "applications" / STORE_FILE).read_bytes() == manifest
    after_span, after_rows = _table(home)
    assert after_span == span == (0, 19)
    pd.testing.assert_frame_equal(after_rows, rows)

    assert main(["ingest", "--home", str(home), str(new), mode]) == 0
    folder = home / "data" / "applications"
    expected = (0, 21) if mode == "--append" else (20, 21)
    assert _table(home)[0] == expected
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    weeks = range(expected[0], expected[1] + 1)
    prefix = "" if mode == "--append" else "generation-1/"  # the killed one's staging is gone
    assert files == [f"{prefix}week-{w:05d}.parquet" for w in weeks]


def test_a_store_from_before_manifests_is_read_from_its_files_and_then_listed(home, tmp_path):
    """A store written by an earlier release has no period list; its files are the table."""
    path = home / "data" / "applications" / STORE_FILE
    record = json.loads(path.read_text())
    del record["periods"]
    path.write_text(json.dumps(record))
    assert _table(home)[0] == (0, 19)
    new = tmp_path / "new.parquet"
    generate_weeks(20, 20, SPEC).to_parquet(new)
    assert main(["ingest", "--home", str(home), str(new), "--append"]) == 0
    assert json.loads(path.read_text())["periods"] == [[0, 20]]


def test_a_load_of_many_periods_reports_its_progress(tmp_path, capsys):
    days = 2500
    frame = pd.DataFrame(
        {
            "day": np.repeat(np.arange(days), 2),
            "x": np.arange(2 * days, dtype=float),
            "y": np.tile([0, 1], days),
        }
    )
    frame.to_csv(tmp_path / "days.csv", index=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        'model_name = "DAYS"\n[data]\nperiod_column = "day"\nperiod = "day"\nlabel = "y"\n'
    )
    assert main(["ingest", "--home", str(home), str(tmp_path / "days.csv")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Stored")]
    assert lines == [f"Stored {n:,} of 2,500 day files" for n in (1000, 2000, 2500)]
    contract = DataContract(period_column="day", period="day", label="y")
    assert LocalPeriodStore(home / "data" / "applications", contract).period_span() == (0, 2499)
