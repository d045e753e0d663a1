"""The benchmark's command line and its report (nothing is measured here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_help_lists_the_quick_mode_and_the_doc_it_updates():
    done = subprocess.run(
        [sys.executable, str(RUN), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--no-doc" in done.stdout


@pytest.fixture(scope="module")
def report():
    sys.path.insert(0, str(RUN.parent))  # the bench scripts import their siblings by name
    import _report

    yield _report
    sys.path.remove(str(RUN.parent))


def _sample(wall: float, cpu: float = 1.0, peak: float = 100.0, cycle: float = 1.0) -> dict:
    return {"wall": wall, "cpu": cpu, "peak_mib": peak, "result": {"cycle_seconds": cycle}}


def test_prefects_floor_is_set_against_the_allowance_at_each_size(report):
    cycles = [
        {
            "rows": 100_000,
            "samples": {
                "bare": [_sample(11.0), _sample(10.0)],
                "steps": [_sample(10.5), _sample(12.0)],
                "flow": [_sample(14.0), _sample(15.0)],
            },
        }
    ]
    floor = {
        "idle": [_sample(2.0, cpu=1.8, peak=200), _sample(2.5, cpu=2.0, peak=210)],
        "floor": [_sample(5.5, cpu=4.0, peak=290), _sample(6.0, cpu=4.5, peak=300)],
    }
    table = report._floor_tables(floor, cycles)
    assert "| **Prefect's floor** (the difference) | 3.50 | 2.20 | 90 |" in table
    # 10 % of the bare script's best 10.0 s; the flow's best minus the steps' best.
    assert "| 100,000 | 1.00 s | 3.50 s | +3.50 s |" in table


def test_results_without_a_floor_still_render(report):
    results = json.loads((RUN.parent / "results.json").read_text())
    results.pop("floor", None)
    assert "Prefect's fixed cost" not in report.render(results)
