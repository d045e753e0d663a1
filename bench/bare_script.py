"""The baseline: what a hand-rolled weekly cron job does with scikit-learn, and nothing more.

Read the weeks it needs from the weekly Parquet files, fit the challenger
pipeline (``StandardScaler`` then the forest), score the pickled champion and the
challenger on the hold-out, compare their ROC AUCs with ``>``, and pickle the
winner. No registry, no ledger, no statistics, no orchestration: the column
names are all it takes from this package. ``bench/run.py`` times our pipeline
against this script on the same files and the same specs.

Run it by hand (weeks are inclusive ranges; ``--params`` is the forest's JSON):

    .venv/bin/python bench/bare_script.py --weeks-dir HOME/data/applications \\
        --train 3 12 --holdout 16 19 --champion champion.pkl --out model.pkl \\
        --params '{"n_estimators": 120, "random_state": 42}'
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from flows.names import FEATURE_COLUMNS, LABEL_COLUMN

FEATURES = list(FEATURE_COLUMNS)
LABEL = LABEL_COLUMN


def read_periods(folder: Path, first: int, last: int) -> pd.DataFrame:
    """Concatenate ``week-NNNNN.parquet`` for weeks ``first..last``."""
    files = [folder / f"week-{week:05d}.parquet" for week in range(first, last + 1)]
    return pd.concat([pd.read_parquet(f) for f in files if f.exists()], ignore_index=True)


def weekly_job(
    *,
    weeks_dir: Path,
    train: tuple[int, int],
    holdout: tuple[int, int],
    champion_path: Path,
    out: Path,
    params: dict,
) -> dict[str, float | bool]:
    """Retrain, compare on the hold-out, keep the better model. Returns both AUCs."""
    data = read_periods(weeks_dir, *train)
    challenger = Pipeline(
        [
            ("scaler", StandardScaler()),
            ("classifier", RandomForestClassifier(**params, n_jobs=-1)),
        ]
    )
    challenger.fit(data[FEATURES], data[LABEL])
    del data
    held = read_periods(weeks_dir, *holdout)
    champion = pickle.loads(champion_path.read_bytes())
    champion_auc = roc_auc_score(held[LABEL], champion.predict_proba(held[FEATURES])[:, 1])
    challenger_auc = roc_auc_score(held[LABEL], challenger.predict_proba(held[FEATURES])[:, 1])
    promoted = challenger_auc > champion_auc
    out.write_bytes(pickle.dumps(challenger if promoted else champion, protocol=5))
    return {"champion_auc": champion_auc, "challenger_auc": challenger_auc, "promoted": promoted}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run :func:`weekly_job` once."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks-dir", type=Path, required=True)
    parser.add_argument("--train", type=int, nargs=2, required=True, metavar=("FIRST", "LAST"))
    parser.add_argument("--holdout", type=int, nargs=2, required=True, metavar=("FIRST", "LAST"))
    parser.add_argument("--champion", type=Path, required=True, help="pickled champion pipeline")
    parser.add_argument("--out", type=Path, required=True, help="where to pickle the winner")
    parser.add_argument("--params", type=json.loads, default={}, help="forest parameters (JSON)")
    args = parser.parse_args(argv)
    result = weekly_job(
        weeks_dir=args.weeks_dir,
        train=tuple(args.train),
        holdout=tuple(args.holdout),
        champion_path=args.champion,
        out=args.out,
        params=args.params,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
