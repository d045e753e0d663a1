"""Hostile inputs on homes with ids, timestamps and text labels, and what empty homes must accept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from tests.reliability.hostile_writers import (
    Case,
    Frame,
    Writer,
    at,
    both,
    csv,
    fresh_rows,
    in_folder,
    loans_rows,
    parquet,
    replace_column,
    timestamps,
)  # fmt: skip

# -- the loans home: ids, times, text labels ------------------------------------------------


def _ids(values: list) -> Callable[[], pa.Table]:
    return lambda: replace_column(loans_rows(), "loan_id", pa.array(values))


def _latin1_ids(folder: Path) -> list[Path]:
    text = loans_rows().to_csv(index=False).encode()
    (folder / "in.csv").write_bytes(text.replace(b"L000003", b"L00\xe9003"))
    return [folder / "in.csv"]


N_LOANS = len(loans_rows())
LOANS_SPOILERS: list[tuple[str, Writer, str]] = [
    (
        "struct ids",
        parquet(_ids([{"a": i} for i in range(N_LOANS)])()),
        r"'loan_id'.*whole numbers or text; got mixed",
    ),
    (
        "list ids",
        parquet(_ids([[i] for i in range(N_LOANS)])()),
        r"'loan_id'.*whole numbers or text",
    ),
    (
        "byte ids",
        parquet(_ids([b"L%d" % i for i in range(N_LOANS)])()),
        r"'loan_id'.*whole numbers or text; got bytes",
    ),
    ("float ids", parquet(_ids([i + 0.5 for i in range(N_LOANS)])()), r"'loan_id'.*got floating"),
    ("missing id (csv)", csv(at("loan_id", 4, None)(loans_rows())), r"'loan_id'.*1 missing id"),
    (
        "missing id (parquet)",
        parquet(at("loan_id", 4, None)(loans_rows())),
        r"'loan_id'.*1 missing id",
    ),
    ("latin-1 id", _latin1_ids, r"not UTF-8"),
]
"""Inputs whose ids would come out changed; each is ingested and scored."""

LABELS: list[tuple[str, Frame, str]] = [
    (
        "labels by case",
        at("outcome", 2, "DEFAULT"),
        r"'default' and 'DEFAULT'.*differ only by case",
    ),
    (
        "labels by spaces",
        at("outcome", 2, " repaid "),
        r"'repaid' and ' repaid '.*differ only by case or spaces",
    ),
    ("a third label", at("outcome", 2, "late"), r"must hold two values"),
    (
        "no positive label",
        lambda f: f.assign(outcome=np.where(f.outcome == "default", "bad", "repaid")),
        r"positive_label 'default' is not one",
    ),
    ("reserved cc_period", lambda f: f.assign(cc_period=1), r"'cc_period', a name reserved"),
    ("bad time", at("opened_at", 2, "soon\x1b[2J"), r"'opened_at'.*cannot read 'soon\\x1b\[2J'"),
    (
        "time 9999 as text",
        at("opened_at", 2, "9999-12-31T00:00:00"),
        r"outside the supported range",
    ),
    (
        "late rows",
        lambda f: f.assign(opened_at="2024-05-21T10:00:00"),
        r"Week\(s\) 20 are already stored",
    ),
    (
        "a live feature missing",
        lambda f: f.drop(columns=["amount"]),
        r"live version .* missing column\(s\) 'amount'",
    ),
]


def _time_units() -> list[tuple[str, Writer, str]]:
    out = []
    for unit, value in (
        ("us", "9999-12-31"),
        ("ms", "2508-06-01"),
        ("s", "1500-01-01"),
        ("us", "1677-01-01"),
    ):
        table = timestamps(loans_rows(), "opened_at", unit, value)
        out.append(
            (
                f"time {value} in {unit}",
                parquet(table),
                rf"'opened_at'.*holds {value}.*outside the supported range",
            )
        )
    dates = pa.array(np.full(N_LOANS, np.datetime64("9999-12-31", "D")), pa.date32())
    out.append(
        (
            "date32 9999",
            parquet(replace_column(loans_rows(), "opened_at", dates)),
            r"outside the supported range",
        )
    )
    return out


def loans_cases() -> list[Case]:
    cases = []
    for name, write, pattern in [*LOANS_SPOILERS, *_time_units()]:
        cases.append(Case(name, "loans", "append", write, pattern))
    for name, write, pattern in LOANS_SPOILERS:
        cases.append(Case(f"score {name}", "loans", "score", write, pattern))
    for name, spoil, pattern in LABELS:
        cases.append(Case(f"{name} (csv)", "loans", "append", csv(spoil(loans_rows())), pattern))
        cases.append(
            Case(f"{name} (parquet)", "loans", "append", parquet(spoil(loans_rows())), pattern)
        )
    leading = loans_rows().assign(loan_id=lambda f: [f"00{i}" for i in range(len(f))])
    formulas = loans_rows().assign(
        loan_id=lambda f: [f"=1+{i}" if i % 2 else f"@SUM({i})" for i in range(len(f))]
    )
    cases += [
        Case("score ids with leading zeros", "loans", "score", csv(leading), None),
        Case(
            "score integer ids",
            "loans",
            "score",
            parquet(loans_rows().assign(loan_id=range(N_LOANS))),
            None,
            out="s.parquet",
        ),
        Case("score formula ids", "loans", "score", csv(formulas), None),
        Case(
            "score formula ids --csv-safe",
            "loans",
            "score",
            csv(formulas),
            None,
            flags=("--csv-safe",),
        ),
        Case(
            "score escape ids",
            "loans",
            "score",
            csv(at("loan_id", 1, "\x1b]0;owned\x07")(loans_rows())),
            None,
        ),
    ]
    return cases


# -- empty homes: what must be accepted, and stored as given ----------------------------------


def _units(key: str) -> list[tuple[str, Writer]]:
    out = []
    for unit in ("s", "ms", "us", "ns"):
        rows = fresh_rows(key)
        table = replace_column(rows, "t", pa.array(rows.t.to_numpy().astype(f"datetime64[{unit}]")))
        out.append((f"{key} times in {unit}", parquet(table)))
    return out


def _hive(parts: Path) -> None:
    rows = fresh_rows("week")
    for half, part in enumerate((rows.iloc[:120], rows.iloc[120:])):
        (parts / f"half={half}").mkdir()
        part.to_parquet(parts / f"half={half}" / "part-0.parquet")
    (parts / "_SUCCESS").write_bytes(b"")


def fresh_cases() -> list[Case]:
    pid = fresh_rows("pid")
    week = fresh_rows("week")
    centuries = fresh_rows("day").assign(
        t=lambda f: np.where(np.arange(len(f)) % 2, "1700-01-01", "2200-12-31")
    )
    accepted: list[tuple[str, str, Writer]] = [
        ("six-digit periods (csv)", "pid", csv(pid)),
        ("six-digit periods (parquet)", "pid", parquet(pid)),
        ("nine-digit periods", "pid", csv(pid.assign(pid=pid.pid + 999_000_000 - 202501))),
        ("days across five centuries", "day", csv(centuries)),
        *[(n, "week", w) for n, w in _units("week")],
        (
            "dates as date32",
            "week",
            parquet(replace_column(week, "t", pa.array(week.t.dt.date, pa.date32()))),
        ),
        ("byte-order mark", "week", csv(week, encoding="utf-8-sig")),
        ("CRLF line ends", "week", csv(week, lineterminator="\r\n")),
        (
            "odd header names",
            "week",
            csv(week.rename(columns={"x": 'x y\u00e9 "q"', "kind": "\u4e2d"})),
        ),
        (
            "ids with leading zeros",
            "week",
            csv(week.assign(id=[f"000{i}" for i in range(len(week))])),
        ),
        ("escape in a category", "week", csv(at("kind", 3, "\x1b[2J")(week))),
        ("hive folder", "week", in_folder(_hive)),
        (
            "three hundred columns",
            "pid",
            csv(pd.concat([pid, pd.DataFrame(np.ones((len(pid), 300))).add_prefix("c")], axis=1)),
        ),
        ("one huge cell", "week", csv(at("kind", 0, "k" * (4 << 20))(week))),
    ]
    nested = pa.Table.from_pandas(week, preserve_index=False)
    refused: list[tuple[str, str, Writer, str]] = [
        (
            "a struct feature",
            "week",
            parquet(nested.append_column("s", pa.array([{"a": 1}] * len(week)))),
            r"'s' .*holds dict values.*numbers or text",
        ),
        (
            "a list feature",
            "week",
            parquet(nested.append_column("l", pa.array([[1, 2]] * len(week)))),
            r"'l' .*holds ndarray values",
        ),
        (
            "mixed time zones",
            "week",
            parquet(week.assign(t=["2024-03-04T00:00:00+01:00", "2024-03-05"] * (len(week) // 2))),
            r"'t' .*mixes times with and without a time zone or offset",
        ),
        (
            "ten-digit period",
            "pid",
            csv(at("pid", 0, 10**10)(pid)),
            r"'pid'.*period numbers go from 0",
        ),
        (
            "labels yes and YES",
            "week",
            csv(at("y", 0, "YES")(week)),
            r"'yes' and 'YES'|'YES' and 'yes'",
        ),
        (
            "a cc_period column",
            "week",
            csv(week.assign(cc_period=3)),
            r"'cc_period', a name reserved",
        ),
        (
            "week 9999 in parquet",
            "week",
            parquet(timestamps(week, "t", "us", "9999-12-31")),
            r"holds 9999-12-31",
        ),
        (
            "struct ids, empty home",
            "week",
            parquet(replace_column(week, "id", pa.array([{"k": 1}] * len(week)))),
            r"'id'.*whole numbers or text",
        ),
        ("same rows twice", "week", both(csv(week), parquet(week)), r"Every row of"),
    ]
    cases = [Case(name, key, "ingest", write, None) for name, key, write in accepted]
    cases += [Case(name, key, "ingest", write, pattern) for name, key, write, pattern in refused]
    return cases
