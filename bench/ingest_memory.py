"""Benchmark: the peak memory of ``ccflows ingest`` on a 10-million-row Parquet file.

Run from the repository root:

    .venv/bin/python bench/ingest_memory.py [--workdir DIR]

Setup (not measured) writes the quickstart's 20 weeks of 50,000 applications ten
times over into one zstd-compressed Parquet file of 10 million rows (12 columns),
kept in ``--workdir`` (default ``/tmp/cc-bench-ingest``) and reused by later runs.

Then two fresh processes run ``ccflows ingest`` into empty homes:

- **accepted**: within the default budget (``CC_INGEST_MAX_MIB``), the whole load;
- **refused**: with a budget of 256 MiB, which the file exceeds: refused before it is read.

Each prints its wall time, its exit code and its peak RSS (the child's ``ru_maxrss``,
from ``os.wait4``); the numbers are copied into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS_PER_WEEK = 50_000
COPIES = 10
CLI = "import sys; from flows.cli import main; sys.exit(main(sys.argv[1:]))"


def make_file(path: Path) -> None:
    """The quickstart's million rows, written ten times into one file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.data.quickstart import GeneratorSpec, generate_applications

    base = generate_applications(20, GeneratorSpec(rows_per_week=ROWS_PER_WEEK))
    table = pa.Table.from_pandas(base, preserve_index=False)
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        for _ in range(COPIES):
            writer.write_table(table, row_group_size=len(base))


def measure(source: Path, env: dict[str, str]) -> dict[str, float]:
    """One ``ccflows ingest`` in a fresh process, into a fresh home."""
    home = tempfile.mkdtemp(prefix="cc-bench-ingest-home-")
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CLI, "ingest", "--home", home, str(source)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    error = child.stderr.read().decode().strip() if child.stderr else ""
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(time.perf_counter() - started, 1),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "error": error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/cc-bench-ingest")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "applications-10m.parquet"
    if not source.exists():
        make_file(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    print(f"input: {source} ({source.stat().st_size / 2**20:,.0f} MiB on disk)")
    print("accepted:", measure(source, env))
    print("refused: ", measure(source, {**env, "CC_INGEST_MAX_MIB": "256"}))


if __name__ == "__main__":
    main()
