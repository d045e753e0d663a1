"""Hostile inputs on the quickstart home: spoiled rows, broken files, and outputs that must be refused."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from flows.cycle.scoring import VERSION_COLUMN
from flows.data.contract import DEFAULT_CONTRACT
from tests.reliability.hostile_writers import (
    Case,
    Frame,
    Writer,
    at,
    both,
    csv,
    in_folder,
    parquet,
    quick_rows,
    raw,
)  # fmt: skip

# -- the quickstart home: ingest --append, and score --input ------------------------------

NOT_QUICKSTART = r"missing column.*'approved'|does not look like the quickstart's credit table"
"""Without its label, the quickstart's contract says the file is another table (or lacks it)."""
QUICK_SPOILERS: list[tuple[str, Frame, str]] = [
    (
        "missing feature",
        lambda f: f.drop(columns=["credit_score"]),
        r"missing column.*'credit_score'",
    ),
    ("missing label", lambda f: f.drop(columns=["approved"]), NOT_QUICKSTART),
    ("missing week", lambda f: f.drop(columns=["week_number"]), r"missing column.*'week_number'"),
    ("bad date", at("application_date", 2, "next tuesday"), r"'application_date'.*'next tuesday'"),
    ("missing date", at("application_date", 3, None), r"'application_date'.*missing time"),
    (
        "date 9999",
        at("application_date", 3, "9999-12-31"),
        r"'9999-12-31'.*outside the supported range",
    ),
    (
        "date year 1",
        at("application_date", 3, "0001-01-01"),
        r"'0001-01-01'.*outside the supported range",
    ),
    ("label 2", at("approved", 7, 2), r"'approved'.*two values.*'2'"),
    ("missing label value", at("approved", 0, None), r"'approved'.*1 missing label"),
    ("label yes", at("approved", 0, "yes"), r"'approved'.*'yes'"),
    ("text in a feature", at("credit_score", 9, "lots"), r"'credit_score'.*numeric.*'lots'"),
    ("escape in a feature", at("credit_score", 9, "\x1b[2J"), r"'credit_score'.*numeric"),
    ("infinity", at("annual_income", 1, np.inf), r"'annual_income'.*infinite"),
    ("minus infinity", at("annual_income", 1, -np.inf), r"'annual_income'.*infinite"),
    ("1e308", at("annual_income", 4, 1e308), r"'annual_income' .*holds 1e\+308.*overflow"),
    ("-1e200", at("debt_to_income", 4, -1e200), r"'debt_to_income' .*-1e\+200.*overflow"),
    ("negative week", at("week_number", 2, -1), r"'week_number'.*non-negative"),
    ("fractional week", at("week_number", 2, 20.5), r"'week_number'.*whole numbers"),
    (
        "huge week",
        at("week_number", 2, 10**12),
        r"'week_number'.*period numbers go from 0 to 999,999,999",
    ),
    ("stored week", at("week_number", 2, 19), r"Week\(s\) 19 are already stored"),
    ("week before", at("week_number", 2, 0), r"Week\(s\) 0 are already stored"),
    (
        "escape header",
        lambda f: f.rename(columns={"credit_score": "\x1b[31mred"}),
        r"missing column.*'credit_score'",
    ),
    (
        "bidi header",
        lambda f: f.rename(columns={"approved": "a\u202eppr"}),
        NOT_QUICKSTART,
    ),
    ("newline label", at("approved", 5, "1\n0"), r"'approved'"),
    ("no rows", lambda f: f.head(0), r"has no rows"),
]
"""Ways to spoil a valid append; each runs as CSV and as Parquet, ingested and scored."""

SCORE_ONLY = {"missing feature", "text in a feature", "escape in a feature", "infinity", "1e308",
              "-1e200", "escape header", "no rows"}  # fmt: skip
"""The spoilers that matter to scoring (which reads only the features)."""


def quick_cases() -> list[Case]:
    cases = []
    for name, spoil, pattern in QUICK_SPOILERS:
        for suffix, writer in (("csv", csv), ("parquet", parquet)):
            spoiled = spoil(quick_rows())
            if suffix == "parquet":
                spoiled = spoiled.astype({c: str for c in spoiled if spoiled[c].dtype == object})
                spoiled = spoiled.replace({"None": None, "nan": None})
            cases.append(Case(f"{name} ({suffix})", "quick", "append", writer(spoiled), pattern))
            if name in SCORE_ONLY:
                scored = spoiled.drop(columns=["approved"], errors="ignore")
                cases.append(
                    Case(f"score {name} ({suffix})", "quick", "score", writer(scored), pattern)
                )
    return cases


def _mismatched(parts: Path) -> None:
    quick_rows().to_parquet(parts / "a.parquet")
    quick_rows().drop(columns=["credit_score"]).to_parquet(parts / "b.parquet")


def _looped(parts: Path) -> None:
    quick_rows().to_parquet(parts / "a.parquet")
    os.symlink(parts, parts / "again")


def _linked_twice(parts: Path) -> None:
    quick_rows().to_parquet(parts / "a.parquet")
    os.symlink(parts / "a.parquet", parts / "b.parquet")


def _broken_link(parts: Path) -> None:
    quick_rows().to_parquet(parts / "a.parquet")
    os.symlink(parts / "gone.parquet", parts / "b.parquet")


def _pipe(folder: Path) -> list[Path]:
    os.mkfifo(folder / "in.csv")
    return [folder / "in.csv"]


def _device(folder: Path) -> list[Path]:
    os.symlink("/dev/zero", folder / "in.csv")
    return [folder / "in.csv"]


def _csv_and_parquet(folder: Path) -> list[Path]:
    rows = quick_rows()
    return [*csv(rows)(folder), *parquet(rows)(folder)]


def _folder_and_its_file(folder: Path) -> list[Path]:
    (parts,) = in_folder(lambda p: quick_rows().to_parquet(p / "a.parquet"))(folder)
    return [parts, parts / "a.parquet"]


HEADER = ",".join(quick_rows().columns).encode()
FILE_CASES: list[tuple[str, Writer, str]] = [
    ("no such file", lambda f: [f / "nowhere.csv"], r"nowhere.csv does not exist"),
    ("empty csv", raw(b""), r"is empty: it has no header and no rows"),
    ("header only", raw(HEADER + b"\n"), r"has no rows"),
    ("repeated column", raw(b"a,b,a\n1,2,3\n"), r"repeats column name\(s\) 'a'"),
    ("ragged row", raw(HEADER + b"\n1,2\n"), r"cannot be read as csv"),
    ("nul bytes", raw(b"\x00" * 64), r"in.csv"),
    ("latin-1 byte", raw(HEADER + b"\n" + b"2024-01-01,20,\xe9" + b",1" * 9 + b"\n"), r"not UTF-8"),
    ("binary garbage csv", raw(os.urandom(0) + bytes(range(256)) * 4), r"in.csv"),
    ("text as parquet", raw(b"PAR1 not really", "in.parquet"), r"cannot be read as parquet"),
    ("zero-byte parquet", raw(b"", "in.parquet"), r"cannot be read as parquet"),
    ("truncated parquet", lambda f: _truncated(f), r"cannot be read as parquet"),
    ("unknown suffix", raw(b"x", "in.xlsx"), r"use a .csv or .parquet file"),
    ("no suffix", raw(b"x", "data"), r"Cannot tell the format"),
    ("a pipe", _pipe, r"is not a regular file or folder"),
    ("a link to a device", _device, r"is not a regular file or folder"),
    ("empty folder", in_folder(lambda p: None), r"holds no .parquet files"),
    (
        "folder of mismatched files",
        in_folder(_mismatched),
        r"b.parquet .*lacks 'credit_score'.*same columns",
    ),
    ("folder with a link loop", in_folder(_looped), r"holds a link loop"),
    ("folder with one file twice", in_folder(_linked_twice), r"holds the same file twice"),
    ("folder with a broken link", in_folder(_broken_link), r"broken link"),
    ("same file twice", lambda f: csv(quick_rows())(f) * 2, r"in.csv is named twice"),
    ("csv and parquet of the same rows", _csv_and_parquet, r"Every row of .* is also in"),
    ("folder and its own file", _folder_and_its_file, r"parts and .*a.parquet both hold"),
    (
        "different columns",
        both(csv(quick_rows()), csv(quick_rows().drop(columns=["approved"]), "b.csv")),
        r"same columns",
    ),
    (
        "good and bad file",
        both(csv(quick_rows()), csv(at("approved", 0, "maybe")(quick_rows()), "b.csv")),
        r"'maybe'",
    ),
    ("a folder named .csv", in_folder(lambda p: None, "dir.csv"), r"holds no .parquet files"),
]
"""Inputs broken as files rather than as rows; each is ingested (appended) and scored."""


def _truncated(folder: Path) -> list[Path]:
    quick_rows().to_parquet(folder / "in.parquet")
    data = (folder / "in.parquet").read_bytes()
    (folder / "in.parquet").write_bytes(data[: len(data) // 2])
    return [folder / "in.parquet"]


def file_cases() -> list[Case]:
    cases = [Case(name, "quick", "append", write, pattern) for name, write, pattern in FILE_CASES]
    single = [c for c in FILE_CASES if c[0] not in {"same file twice", "csv and parquet of the same rows",
              "folder and its own file", "different columns", "good and bad file", "repeated column", "header only"}]  # fmt: skip
    cases += [
        Case(f"score {name}", "quick", "score", write, pattern) for name, write, pattern in single
    ]
    return cases


# -- where the scores go ----------------------------------------------------------------

OUTPUTS: list[tuple[str, str, str]] = [
    (
        "into a stored period",
        "{home}/data/applications/week-00019.parquet",
        r"inside .*where the stored data and the registry live",
    ),
    ("into the home", "{home}/scores.csv", r"inside .*where the stored data and the registry live"),
    (
        "into the artifacts",
        "{home}/artifacts/x.parquet",
        r"inside .*where the stored data and the registry live",
    ),
    ("onto a folder", "existing", r"is a folder"),
    ("onto the input", "in.csv", r"is the input file"),
    ("under a file", "in.csv/scores.csv", r"is a file, not a folder"),
    ("unknown suffix", "scores.txt", r"Cannot tell the format"),
    ("onto a device", "/dev/null", r"Cannot tell the format"),
    ("unwritable", "/proc/scores.csv", r"Cannot write /proc/scores.csv: .*nothing was written"),
]


def output_cases() -> list[Case]:
    def with_folder(folder: Path) -> list[Path]:
        (folder / "existing").mkdir()
        return csv(quick_rows())(folder)

    cases = [
        Case(f"out {name}", "quick", "score", with_folder, pattern, out=out)
        for name, out, pattern in OUTPUTS
    ]
    cases.append(Case("out inside the input folder", "quick", "score",
                      in_folder(lambda p: quick_rows().to_parquet(p / "a.parquet")), r"inside the input folder",
                      out="parts/scores.parquet"))  # fmt: skip
    score_column = DEFAULT_CONTRACT.score_column
    scored = quick_rows().assign(**{score_column: 0.5, VERSION_COLUMN: "V1"})
    again = rf"already has column\(s\) '{score_column}', '{VERSION_COLUMN}'"
    cases.append(Case("already scored (csv)", "quick", "score", csv(scored), again))
    cases.append(
        Case("already scored (parquet)", "quick", "score", parquet(scored), again, out="s.parquet")
    )
    cases.append(
        Case(
            "input without --out",
            "quick",
            "score",
            csv(quick_rows()),
            r"--input needs --out",
            out="",
        )
    )
    return cases
