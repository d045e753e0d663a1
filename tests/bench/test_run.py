"""The benchmark's command line starts and documents its options (nothing is measured here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_help_lists_the_quick_mode_and_the_doc_it_updates():
    done = subprocess.run(
        [sys.executable, str(RUN), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--no-doc" in done.stdout
