"""Write the live-test example: the churn table, then three weeks of traffic and their outcomes.

Usage (from the repository root):

    python examples/own-data/make_live.py OUT_DIR [SEED]

It writes, into OUT_DIR:

- ``history.csv``: the churn example's 16 weeks (0–15), labelled;
- ``traffic-16.csv``, ``traffic-17.csv``, ``traffic-18.csv``: the customers of the
  next three weeks as they arrive, unlabelled, to score under the live test;
- ``outcomes-16.csv``, ``outcomes-17.csv``, ``outcomes-18.csv``: whether each of
  them churned (``customer_id``, ``churned``), known weeks later;
- ``config.toml``: the churn example's, with ``[live]`` on in shadow mode.

``SEED`` (default 2025, the churn example's) draws another sample of the same table.
"""

from __future__ import annotations

import sys
from pathlib import Path

from make_churn import CONFIG, HISTORY_WEEKS, churn_rows

LIVE_WEEKS = (HISTORY_WEEKS, HISTORY_WEEKS + 1, HISTORY_WEEKS + 2)
LIVE = """
# A challenger that passes offline is tested on live traffic before it is promoted.
[live]
mode = "shadow"     # the candidate scores every customer beside the champion
maturity = 1        # an outcome counts once a week has passed since the scoring
policy = "sequential_margin"
params = { alpha = 0.05, margin = 0.0, max_looks = 4, max_rows = 1000 }
"""


def write_live_example(out: Path, *, seed: int = 2025) -> list[Path]:
    """Write the history, the traffic, the outcomes and config.toml into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"history.csv": churn_rows(0, HISTORY_WEEKS - 1, seed=seed)}
    for week in LIVE_WEEKS:
        rows = churn_rows(week, week, seed=seed)
        files[f"traffic-{week}.csv"] = rows.drop(columns=["churned"])
        files[f"outcomes-{week}.csv"] = rows[["customer_id", "churned"]]
    for name, frame in files.items():
        frame.to_csv(out / name, index=False)
    (out / "config.toml").write_text(CONFIG + LIVE)
    return [out / name for name in (*files, "config.toml")]


def main(argv: list[str]) -> int:
    """``make_live.py OUT_DIR [SEED]``."""
    if len(argv) not in (1, 2):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    seed = int(argv[1]) if len(argv) == 2 else 2025
    for path in write_live_example(Path(argv[0]), seed=seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
