"""``import ccpolicy`` stays light: no prefect, snowflake or rich (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
before = set(sys.modules)
import ccpolicy, ccpolicy.stats, ccpolicy.errors
new = sorted(set(sys.modules) - before)
print(json.dumps(new))
"""


def test_import_loads_no_orchestration_cloud_or_rendering_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    )
    new_modules = json.loads(result.stdout)
    assert "ccpolicy._builtin" not in new_modules  # policies load on demand, by name
    heavy = [
        m
        for m in new_modules
        if m.split(".")[0] in {"prefect", "snowflake", "rich", "sklearn", "scipy", "pandas"}
    ]
    assert heavy == []
