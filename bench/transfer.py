"""What crosses between the warehouse and the worker in one weekly cycle, in each compute mode.

Runs offline: Snowpark on fakesnow, the ML registry replaced at its boundary and the
stage procedure answered in-process (the test fixtures of ``tests/snowflake``). The
worker's session is metered in the connector (``tests/snowflake/traffic.py``):
rows × columns of every result that came down and of every frame sent up.

    .venv/bin/python bench/transfer.py            # 100 and 1,000 rows a week
    .venv/bin/python bench/transfer.py 5000       # other sizes
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.cycle import stages

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's tests package
from tests.snowflake.snowpark_fakesnow import FakesnowWarehouse
from tests.snowflake.warehouse_fixtures import offline_account


def measure(warehouse: FakesnowWarehouse, rows_per_week: int) -> list[str]:
    """One line per mode: cells down, cells up, the largest single download, the hold-out."""
    lines = []
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as home:
        schema = f"B_{uuid.uuid4().hex[:10].upper()}"
        account = offline_account(warehouse, schema, patch, Path(home), rows_per_week=rows_per_week)
        for mode, settings in (
            ("warehouse", account.settings),
            ("worker", account.worker_settings),
        ):
            policy = ccpolicy.load_policy("auc_greater")
            with open_backend(settings) as backend, account.traffic.window() as seen:
                report = stages.weekly_cycle(backend, settings, policy, dry_run=True)
            largest = max(seen.downloads(), key=lambda t: t.cells)
            lines.append(
                f"| {rows_per_week:,} | {mode} | {report.evaluation.n_rows:,} "
                f"| {seen.cells_down():,} | {seen.cells_up():,} "
                f"| {largest.rows:,} × {largest.columns} |"
            )
    return lines


def main(sizes: list[int]) -> None:
    print("| rows a week | mode | hold-out rows | cells down | cells up | largest download |")
    print("|---|---|---|---|---|---|")
    with FakesnowWarehouse() as warehouse:
        for size in sizes:
            print("\n".join(measure(warehouse, size)), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
