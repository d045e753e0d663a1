"""Benchmarks: our weekly cycle against a bare scikit-learn script, CLI latency, the demo, DeLong.

Run from the repository root:

    .venv/bin/python bench/run.py [--quick]

Most of the time goes to the forests at 1 million rows, 2 to 6 minutes per cycle
on two cores: the full run took 20 minutes here. ``--quick`` skips that size and
the 10^7-row statistics.

Every measurement runs in a fresh process (``bench/_measure.py`` or ``ccflows``).
Its wall time is taken around the process; its CPU time (user + system, far less
sensitive than wall time to other processes' load) and its peak RSS come from
``os.wait4`` (``ru_maxrss`` of that child: the largest resident set of the process
or of any descendant it waited for). The pipeline and the bare script alternate
within each repeat so that load from other processes hits both alike. The results
replace the marked section of docs/benchmarks.md (``--no-doc`` only prints them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import _report

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(1, str(REPO))  # the server helper lives with the tests: tests.support

from tests.support.local_prefect import local_server  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
MEASURE = BENCH / "_measure.py"
CCFLOWS = Path(sys.executable).parent / "ccflows"

CYCLE_SIZES = {400: 3, 5_000: 3, 50_000: 2}
"""Rows per week (over 20 weeks: 8 thousand, 100 thousand, 1 million) → repeats."""
QUICK_SKIPS_ROWS = 50_000
VARIANTS = ("bare", "steps", "flow")
"""The bare script, ``flows.cycle.stages.weekly_cycle``, and the flow against a running server."""
STATS_SIZES = {10**4: 7, 10**5: 5, 10**6: 3, 10**7: 2}
"""Hold-out rows → repeats inside one process (best of them is kept)."""
QUICK_SKIPS_STATS = 10**7
FLOOR_REPEATS = 5
"""Pairs of a process that only imports and one that also runs the smallest flow."""
CLI_COMMANDS = {
    "ccflows --help": ["--help"],
    "ccflows status": ["status"],
    "ccflows policies": ["policies"],
    "ccflows snowflake emit": ["snowflake", "emit"],
}
CLI_REPEATS = 5
CLI_RUN_REPEATS = 3
"""``ccflows run`` processes after the one that starts the shared Prefect server."""
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PREFECT_API_URL")
"""Unset in every child: the OpenBLAS overrides slow a current NumPy; the flow gets its own URL."""
OUR_SETTINGS = ("CC_HOME", "CC_BACKEND", "CC_MODEL_NAME", "CC_CONFIG")
LIBRARIES = ("prefect", "scikit-learn", "numpy", "pandas", "pyarrow", "scipy")


@dataclass(frozen=True)
class Sample:
    """One fresh process: wall and CPU seconds, peak RSS in MiB, and what it printed as JSON."""

    wall: float
    cpu: float
    peak_mib: float
    result: dict | list = field(default_factory=dict)


class ChildFailed(RuntimeError):
    """A measured process exited with an error."""


def run_child(command: list[str], *, env: dict[str, str], cwd: Path = REPO) -> Sample:
    """Run ``command`` to completion; time it and read its peak RSS from ``os.wait4``.

    Raises:
        ChildFailed: naming the command, its exit code and the end of its stderr.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise ChildFailed(f"{' '.join(command)} exited with {proc.returncode}:\n{tail}")
    lines = stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1][:1] in "{[" else {}
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(wall=wall, cpu=cpu, peak_mib=usage.ru_maxrss / 1024, result=result)


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without the OpenBLAS overrides, our settings and any Prefect URL."""
    env = {k: v for k, v in os.environ.items() if k not in (*UNSET, *OUR_SETTINGS)}
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **extra}


def measure_cycles(rows_per_week: int, repeats: int, root: Path, flow_env: dict[str, str]) -> dict:
    """Bootstrap once (not timed), then each variant ``repeats`` times on a fresh copy."""
    template = root / f"home-{rows_per_week}"
    setup = run_child(
        [sys.executable, str(MEASURE), "setup", str(template), str(rows_per_week)], env=child_env()
    )
    samples: dict[str, list[Sample]] = {v: [] for v in VARIANTS}
    for repeat in range(repeats):
        order = VARIANTS[repeat % 3 :] + VARIANTS[: repeat % 3]
        for variant in order:
            home = root / f"run-{rows_per_week}-{repeat}-{variant}"
            shutil.copytree(template, home)
            env = flow_env if variant == "flow" else child_env()
            sample = run_child([sys.executable, str(MEASURE), variant, str(home)], env=env)
            shutil.rmtree(home)
            samples[variant].append(sample)
            _progress(
                f"{rows_per_week * 20:>9,} rows  {variant:<5} {sample.wall:7.2f} s "
                f"{sample.cpu:7.2f} s CPU {sample.peak_mib:7.0f} MiB  {sample.result}"
            )
    return {
        "rows": setup.result["rows"],
        "rows_per_week": rows_per_week,
        "setup_seconds": setup.wall,
        "samples": {v: [asdict(s) for s in runs] for v, runs in samples.items()},
    }


def measure_floor(flow_env: dict[str, str]) -> dict:
    """Prefect's fixed cost per run: the smallest flow's process against an idle one."""
    samples: dict[str, list[dict]] = {"idle": [], "floor": []}
    for _ in range(FLOOR_REPEATS):
        for kind, env in (("idle", child_env()), ("floor", flow_env)):
            sample = run_child([sys.executable, str(MEASURE), kind], env=env)
            samples[kind].append(asdict(sample))
    best = {kind: min(s["wall"] for s in runs) for kind, runs in samples.items()}
    _progress(f"Prefect floor: {best['floor'] - best['idle']:.2f} s per run")
    return samples


def measure_cli(home: Path) -> dict:
    """Median wall time of each CLI command over :data:`CLI_REPEATS` fresh processes."""
    env = child_env(CC_HOME=str(home))
    latency: dict[str, dict] = {}
    for label, argv in CLI_COMMANDS.items():
        try:
            run_child([str(CCFLOWS), *argv, "--help"], env=env)
        except ChildFailed:
            latency[label] = {"missing": True}
            _progress(f"{label}: not available in this checkout")
            continue
        try:
            walls = [run_child([str(CCFLOWS), *argv], env=env).wall for _ in range(CLI_REPEATS)]
        except ChildFailed as exc:
            latency[label] = {"error": str(exc).splitlines()[-1]}
            continue
        latency[label] = {"walls": walls, "median": statistics.median(walls)}
        _progress(f"{label}: median {statistics.median(walls):.2f} s of {walls}")
    return latency


def measure_cli_runs(root: Path) -> dict:
    """``ccflows run`` in a row with no PREFECT_API_URL, each on a fresh copy of the 8,000 rows.

    The first starts the shared local server (and waits for it); the others reuse it.
    The server is stopped by its PID at the end, with ``ccflows server stop``.
    """
    env = child_env(PREFECT_HOME=str(root / "cli-prefect-home"))
    samples = []
    try:
        for repeat in range(CLI_RUN_REPEATS + 1):
            home = root / f"cli-run-{repeat}"
            shutil.copytree(root / "home-400", home)
            sample = run_child([str(CCFLOWS), "run", "--home", str(home), "--json"], env=env)
            samples.append(asdict(sample))
            _progress(f"ccflows run #{repeat + 1}: {sample.wall:.2f} s, {sample.cpu:.2f} s CPU")
    finally:
        run_child([str(CCFLOWS), "server", "stop"], env=env)
    return {"first": samples[0], "reused": samples[1:]}


def measure_demo(root: Path) -> dict:
    """``ccflows demo`` in a fresh home with a fresh PREFECT_HOME (its server's start included)."""
    env = child_env(PREFECT_HOME=str(root / "demo-prefect-home"))
    try:
        sample = run_child([str(CCFLOWS), "demo", "--home", str(root / "demo-home")], env=env)
    finally:
        run_child([str(CCFLOWS), "server", "stop"], env=env)
    _progress(f"demo: {sample.wall:.1f} s, {sample.peak_mib:.0f} MiB")
    return asdict(sample)


def measure_stats(quick: bool) -> list[dict]:
    """``delong_test`` against ``roc_auc_score``, one fresh process per size."""
    results = []
    for rows, repeats in STATS_SIZES.items():
        if quick and rows >= QUICK_SKIPS_STATS:
            continue
        sample = run_child(
            [sys.executable, str(MEASURE), "stats", str(rows), str(repeats)], env=child_env()
        )
        results.append({"rows": rows, **sample.result})
        _progress(f"stats {rows:>10,}: {sample.result}")
    return results


def machine() -> dict:
    """Cores, memory, CPU model, Python and library versions, BLAS as the children see it."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    blas = run_child(
        [
            sys.executable,
            "-c",
            "import json, numpy, threadpoolctl; "
            "print(json.dumps([{k: i.get(k) for k in ('internal_api', 'architecture', 'num_threads')}"
            " for i in threadpoolctl.threadpool_info()]))",
        ],
        env=child_env(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "libraries": {name: metadata.version(name) for name in LIBRARIES},
        "blas": blas.result if isinstance(blas.result, list) else [],
        "load_before": os.getloadavg(),
    }


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_all(*, quick: bool) -> dict:
    """Every measurement of one benchmark run, as raw results for :func:`_report.render`."""
    started = time.perf_counter()
    results: dict = {"quick": quick, "date": time.strftime("%Y-%m-%d"), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp:
        root = Path(tmp)
        with local_server(root / "prefect-home", env=child_env()) as server:
            results["floor"] = measure_floor(server.env)
            results["cycles"] = [
                measure_cycles(rows, repeats, root, server.env)
                for rows, repeats in CYCLE_SIZES.items()
                if not (quick and rows >= QUICK_SKIPS_ROWS)
            ]
        results["cli"] = measure_cli(root / "home-400")
        results["cli_runs"] = measure_cli_runs(root)
        results["demo"] = measure_demo(root)
    results["stats"] = measure_stats(quick)
    results["machine"]["load_after"] = os.getloadavg()
    results["total_seconds"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    """Run every measurement (or load them), print the tables, and update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the 1-million-row cycle and the 10^7-row statistics",
    )
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the doc alone")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the raw results")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="measure nothing: render the raw results an earlier --json run wrote",
    )
    args = parser.parse_args(argv)

    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = measure_all(quick=args.quick)
    markdown = _report.render(results)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if not args.no_doc:
        _report.replace_section(DOC, markdown)
        _progress(f"Updated {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
