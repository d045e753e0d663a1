"""Benchmark: scoring a file with ``flows.cycle.steps.score_file`` against a bare ``predict_proba``.

Run from the repository root:

    .venv/bin/python bench/scoring.py [--workdir DIR] [--no-doc]

Setup (not timed) stores the quickstart's data, bootstraps its champion and writes
two Parquet files of the quickstart's schema without the label: 1 million rows,
and the same rows ten times over (10 million). They are kept in ``--workdir``
(default ``/tmp/cc-bench-scoring``) and reused by later runs.

Then, per size, in fresh processes (alternating, twice at 1 million rows; the faster
of each is kept):

- **ours**: ``steps.score_file`` reads the file in row batches, scores each with
  the live version through the registry and writes the scores to a Parquet file;
- **bare**: ``pd.read_parquet`` of the feature columns, then one
  ``model.predict_proba`` call by the same model, scoring on every core.

The ratio compares our rows per second (reading and writing included) with the
bare call's (its ``predict_proba`` alone); peak RSS is the child's ``ru_maxrss``.
The results replace the marked section of docs/benchmarks.md (``--no-doc`` only
prints them) and are kept in ``bench/scoring.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DOC = BENCH.parent / "docs" / "benchmarks.md"
RESULTS = BENCH / "scoring.json"
SIZES = (1_000_000, 10_000_000)
REPEATS = {1_000_000: 2, 10_000_000: 1}
"""Pairs of processes per size, ours and bare alternating; the faster of each is kept."""
BASE_ROWS = 1_000_000
"""Rows generated once (20 weeks of 50,000); the 10-million-row file repeats them."""
MARK_START = "<!-- scoring-results:start -->"
MARK_END = "<!-- scoring-results:end -->"
THROUGHPUT_FLOOR = 0.9
PEAK_CEILING_MIB = 1024
PEAK_GROWTH_CEILING = 1.15
"""Peak RSS at the largest size over the peak at the smallest: memory must stay flat."""


# -- children (each a fresh process) --------------------------------------------------------


def setup(workdir: Path) -> dict:
    """Data, champion, the exported model and the two input files (skipped when present)."""
    import pickle

    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.backends import open_backend
    from flows.config import load_settings
    from flows.cycle import steps
    from flows.data.quickstart import GeneratorSpec, generate_applications
    from flows.names import LABEL_COLUMN

    home = workdir / "home"
    settings = load_settings(home=home)
    if not (workdir / "champion.pkl").is_file():
        with open_backend(settings) as backend:
            steps.generate_data(backend, GeneratorSpec())
            champion = steps.train_champion(backend, settings, actor="bench")
            model = backend.registry.load_model(champion.name)
        model.set_params(classifier__n_jobs=-1)  # as a hand-rolled job's forest would score
        (workdir / "champion.pkl").write_bytes(pickle.dumps(model, protocol=5))
    if not (workdir / f"rows-{SIZES[-1]}.parquet").is_file():
        spec = GeneratorSpec(rows_per_week=BASE_ROWS // 20)
        base = pa.Table.from_pandas(
            generate_applications(20, spec).drop(columns=[LABEL_COLUMN]), preserve_index=False
        )
        for size in SIZES:
            with pq.ParquetWriter(workdir / f"rows-{size}.parquet", base.schema) as writer:
                for _ in range(size // BASE_ROWS):
                    writer.write_table(base, row_group_size=BASE_ROWS)
    return {"home": str(home)}


def ours(workdir: Path, size: int) -> dict:
    """``steps.score_file`` on the file, as ``ccflows score --input`` runs it."""
    from flows.backends import open_backend
    from flows.config import load_settings
    from flows.cycle import steps
    from flows.data import files

    out = workdir / f"scores-{size}.parquet"
    source = workdir / f"rows-{size}.parquet"
    with open_backend(load_settings(home=workdir / "home")) as backend:
        # Before the clock, as the bare script unpickles its model before its clock: the
        # model loaded and the modules scoring needs imported, by scoring ten rows.
        live = backend.registry.champion().name
        backend.registry.predict_proba(live, next(files.iter_batches(source, batch_rows=10)))
        start, cpu = time.perf_counter(), time.process_time()
        result = steps.score_file(backend, source, out)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    out.unlink()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": result.n_rows,
        "batches": len(result.batch_rows),
        "largest_batch": max(result.batch_rows),
    }


def bare(workdir: Path, size: int) -> dict:
    """Read the features whole, then one ``predict_proba`` call."""
    import pickle

    import pandas as pd

    from flows.names import FEATURE_COLUMNS

    model = pickle.loads((workdir / "champion.pkl").read_bytes())
    start = time.perf_counter()
    rows = pd.read_parquet(workdir / f"rows-{size}.parquet", columns=list(FEATURE_COLUMNS))
    read = time.perf_counter() - start
    cpu = time.process_time()
    scores = model.predict_proba(rows)[:, 1]
    predict, cpu = time.perf_counter() - start - read, time.process_time() - cpu
    return {"read_seconds": read, "seconds": predict, "cpu_seconds": cpu, "rows": len(scores)}


# -- parent -----------------------------------------------------------------------------------


def measure(workdir: Path) -> dict:
    """Set up once, then ours and bare at each size, each in a fresh process."""
    from run import child_env, machine, run_child

    workdir.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve())]
    run_child([*me, "child", "setup", str(workdir)], env=child_env())
    results = []
    for size in SIZES:
        row: dict = {"rows": size}
        for _ in range(REPEATS[size]):
            for variant in ("ours", "bare"):
                sample = run_child(
                    [*me, "child", variant, str(workdir), str(size)], env=child_env()
                )
                found = {**sample.result, "wall": sample.wall, "peak_mib": sample.peak_mib}
                print(f"{size:>11,} {variant}: {found}", file=sys.stderr, flush=True)
                if variant not in row or found["seconds"] < row[variant]["seconds"]:
                    row[variant] = found
        row["throughput_ratio"] = row["bare"]["seconds"] / row["ours"]["seconds"]
        row["cpu_ratio"] = row["bare"]["cpu_seconds"] / row["ours"]["cpu_seconds"]
        results.append(row)
    return {"machine": machine(), "sizes": results}


def render(measured: dict) -> str:
    """The results table in Markdown, with the two criteria checked."""
    lines = [
        "| rows | ours: s (rows/s) | bare predict_proba: s (rows/s) | bare read: s "
        "| throughput ours/bare (wall) | (CPU) | peak RSS ours | peak RSS bare | batches |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in measured["sizes"]:
        ours_, bare_ = row["ours"], row["bare"]
        lines.append(
            f"| {row['rows']:,} | {ours_['seconds']:.1f} ({row['rows'] / ours_['seconds']:,.0f}) "
            f"| {bare_['seconds']:.1f} ({row['rows'] / bare_['seconds']:,.0f}) "
            f"| {bare_['read_seconds']:.1f} | {row['throughput_ratio']:.2f}× "
            f"| {row['cpu_ratio']:.2f}× "
            f"| {ours_['peak_mib']:,.0f} MiB | {bare_['peak_mib']:,.0f} MiB "
            f"| {ours_['batches']} × ≤{ours_['largest_batch']:,} |"
        )
    smallest, largest = measured["sizes"][0], measured["sizes"][-1]
    ratio_ok = all(r["throughput_ratio"] >= THROUGHPUT_FLOOR for r in measured["sizes"])
    peak_ok = largest["ours"]["peak_mib"] <= PEAK_CEILING_MIB
    growth = largest["ours"]["peak_mib"] / smallest["ours"]["peak_mib"]
    machine = measured["machine"]
    lines += [
        "",
        f"Throughput ≥ {THROUGHPUT_FLOOR}× the bare call at every size: "
        f"**{'yes' if ratio_ok else 'NO'}**. Peak RSS ≤ 1 GiB at {largest['rows']:,} rows: "
        f"**{'yes' if peak_ok else 'NO'}** ({largest['ours']['peak_mib']:,.0f} MiB). Peak RSS at "
        f"{largest['rows']:,} rows ≤ {PEAK_GROWTH_CEILING}× the peak at {smallest['rows']:,}: "
        f"**{'yes' if growth <= PEAK_GROWTH_CEILING else 'NO'}** ({growth:.2f}×).",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"load average before the run {', '.join(f'{x:.2f}' for x in machine['load_before'])}.",
    ]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    """Replace the marked section of docs/benchmarks.md with ``text``."""
    doc = DOC.read_text()
    start, end = doc.index(MARK_START) + len(MARK_START), doc.index(MARK_END)
    DOC.write_text(f"{doc[:start]}\n{text}\n{doc[end:]}")


def main(argv: list[str] | None = None) -> int:
    """Measure (or run one child workload) and report."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["child"]:
        workload, workdir, *size = args[1:]
        function = {"setup": setup, "ours": ours, "bare": bare}[workload]
        print(json.dumps(function(Path(workdir), *map(int, size))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cc-bench-scoring"))
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--from-json", type=Path, help="render saved results without measuring")
    options = parser.parse_args(args)
    if options.from_json:
        measured = json.loads(options.from_json.read_text())
    else:
        measured = measure(options.workdir)
        RESULTS.write_text(json.dumps(measured, indent=2) + "\n")
    text = render(measured)
    print(text)
    if not options.no_doc:
        write_doc(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))  # the parent imports run.py's helpers by name
    raise SystemExit(main())
