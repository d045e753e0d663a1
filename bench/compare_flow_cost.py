"""What the flow adds to the steps, in this checkout and another, measured side by side.

Run from the repository root:

    .venv/bin/python bench/compare_flow_cost.py --baseline /path/to/other/checkout [--rows-per-week 400]

Both checkouts need their own ``.venv``. One Prefect server serves both; the home is
bootstrapped once by the baseline's code (so both read it) and every run works on a
fresh copy. Each repeat runs, for each checkout in turn (alternating which goes first),
``bench/_measure.py`` with ``flow``, ``steps``, ``floor`` and ``idle``. The flow's own
cost is ``flow - steps``; Prefect's floor is ``floor - idle`` (see ``bench/run.py``).
CPU time (user + system of the child) is reported beside wall time: on a machine
shared with other work it is the figure that load disturbs least.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from deployments.local_prefect import local_server
from run import REPO, child_env, run_child

KINDS = ("flow", "steps", "floor", "idle")


def measure(checkouts: dict[str, Path], rows_per_week: int, repeats: int) -> dict:
    """Interleaved runs of every kind in every checkout; raw samples by checkout and kind."""
    samples: dict[str, dict[str, list[dict]]] = {name: {k: [] for k in KINDS} for name in checkouts}
    with tempfile.TemporaryDirectory(prefix="cc-compare-") as tmp:
        root = Path(tmp)
        template = root / "template"
        baseline = checkouts["baseline"]
        run_child(
            [str(baseline / ".venv/bin/python"), "bench/_measure.py", "setup", str(template),
             str(rows_per_week)],
            env=child_env(), cwd=baseline,
        )  # fmt: skip
        with local_server(root / "prefect-home", env=child_env()) as server:
            for repeat in range(repeats):
                order = list(checkouts) if repeat % 2 == 0 else list(reversed(checkouts))
                for name in order:
                    for kind in KINDS:
                        home = root / "home"
                        shutil.rmtree(home, ignore_errors=True)
                        shutil.copytree(template, home)
                        env = server.env if kind in ("flow", "floor") else child_env()
                        command = [str(checkouts[name] / ".venv/bin/python"), "bench/_measure.py"]
                        command += [kind, str(home)] if kind in ("flow", "steps") else [kind]
                        sample = run_child(command, env=env, cwd=checkouts[name])
                        samples[name][kind].append(asdict(sample))
                        print(f"{name:8} {kind:5} {sample.wall:6.2f} s {sample.cpu:6.2f} s CPU",
                              file=sys.stderr, flush=True)  # fmt: skip
    return {"rows": rows_per_week * 20, "repeats": repeats, "samples": samples}


def render(results: dict) -> str:
    """Median and best of the flow's own cost and of Prefect's floor, per checkout."""
    lines = [
        f"{results['rows']:,} rows, {results['repeats']} interleaved repeats "
        "(median, best in brackets; seconds)",
        "",
        "| checkout | flow − steps, wall | floor, wall | beyond the floor, wall "
        "| flow − steps, CPU | floor, CPU | beyond the floor, CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, kinds in results["samples"].items():
        cells = [name]
        for key in ("wall", "cpu"):
            added = _stats(kinds, "flow", "steps", key)
            floor = _stats(kinds, "floor", "idle", key)
            beyond = (added[0] - floor[0], added[1] - floor[1])
            cells += [_cell(added), _cell(floor), _cell(beyond, signed=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _stats(kinds: dict, minuend: str, subtrahend: str, key: str) -> tuple[float, float]:
    """Median and best of one kind minus the median and best of another."""
    first = [s[key] for s in kinds[minuend]]
    second = [s[key] for s in kinds[subtrahend]]
    return (
        statistics.median(first) - statistics.median(second),
        min(first) - min(second),
    )


def _cell(values: tuple[float, float], *, signed: bool = False) -> str:
    fmt = "{:+.2f}" if signed else "{:.2f}"
    return f"{fmt.format(values[0])} ({fmt.format(values[1])})"


def main(argv: list[str] | None = None) -> int:
    """Measure (or render saved results) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="the other checkout (with its .venv)")
    parser.add_argument("--rows-per-week", type=int, default=400, help="default: 400")
    parser.add_argument("--repeats", type=int, default=5, help="default: 5")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument("--from-json", type=Path, help="measure nothing: render saved samples")
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    elif args.baseline is None:
        parser.error("--baseline is needed to measure")
    else:
        checkouts = {"baseline": args.baseline.resolve(), "this": REPO}
        results = measure(checkouts, args.rows_per_week, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
