"""``ccflows ingest``: every row checked against the contract first, all or nothing.

Each bad input must fail with one line naming the problem, and leave the stored
files and the registry exactly as they were.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.backends import open_backend
from flows.cli import main
from flows.config import Settings
from flows.cycle import steps
from flows.data.output import write_table
from flows.data.quickstart import GeneratorSpec, generate_weeks
from flows.errors import ChampionChallengerError
from tests.flows.homes import quickstart_home
from tests.flows.loans import LOANS_CONTRACT, loans


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    """A home with the quickstart's 20 weeks and a live champion, shared by the bad cases."""
    return quickstart_home(tmp_path_factory.mktemp("ingest-home"))


def _state(settings: Settings) -> tuple[dict[str, str], dict, int]:
    """Every stored data file's SHA-256, the registry's status and the ledger's length."""
    data = settings.home / "data"
    hashes = {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file()
    }
    with open_backend(settings) as backend:
        return hashes, backend.registry.status().to_dict(), len(backend.registry.ledger())


def _ingest(backend, settings: Settings, paths: list[Path], **options) -> steps.IngestResult:
    """Check the files, then store them: what ``ccflows ingest`` does."""
    return steps.ingest(backend, settings, steps.check_files(settings, paths), **options)


def _new_weeks() -> pd.DataFrame:
    """Weeks 20–21, which the store does not hold yet: a valid append."""
    return generate_weeks(20, 21, GeneratorSpec())


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "new.csv") -> Path:
    path = tmp_path / name
    write_table(frame, path)
    return path


def _with(column: str, row: int, value: object):
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: float if isinstance(value, float) else object})
        frame.loc[row, column] = value
        return frame

    return change


# Each case: a name, how to spoil weeks 20–21 (or the file), the expected message.
BAD_FRAMES = [
    (
        "missing column",
        lambda f: f.drop(columns=["credit_score"]),
        "missing column.*'credit_score'",
    ),
    (
        "unparseable timestamp",
        _with("application_date", 5, "next tuesday"),
        "'application_date'.*cannot read 'next tuesday'",
    ),
    ("missing time", _with("application_date", 3, None), "'application_date'.*missing time"),
    ("label outside the contract", _with("approved", 7, 2), "'approved'.*two values.*'2'"),
    ("missing label", _with("approved", 0, float("nan")), "'approved'.*1 missing label"),
    (
        "text in a numeric feature",
        _with("credit_score", 9, "lots"),
        "'credit_score'.*numeric.*'lots'",
    ),
    ("infinite feature", _with("annual_income", 1, float("inf")), "'annual_income'.*infinite"),
    ("negative week", _with("week_number", 2, -1), "'week_number'.*non-negative"),
    ("fractional week", _with("week_number", 2, 20.5), "'week_number'.*whole numbers"),
    (
        "late data: a week already stored",
        lambda f: pd.concat([f, generate_weeks(0, 19, GeneratorSpec()).tail(3)]),
        "Week\\(s\\) 19 are already stored",
    ),
]


class TestBadInputChangesNothing:
    @pytest.mark.parametrize(
        ("spoil", "message"),
        [case[1:] for case in BAD_FRAMES],
        ids=[case[0] for case in BAD_FRAMES],
    )
    def test_a_bad_row_refuses_the_whole_file(self, settings, tmp_path, spoil, message):
        path = _write(tmp_path, spoil(_new_weeks().reset_index(drop=True)))
        self._refused(settings, [path], message)

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("empty.csv", "", "is empty: it has no header and no rows"),
            ("header-only.csv", "application_date,week_number\n", "has no rows"),
            ("duplicate.csv", "a,b,a\n1,2,3\n", "repeats column name\\(s\\) 'a'"),
            ("broken.parquet", "PAR1 not really", "cannot be read as parquet"),
            ("table.xlsx", "x", "use a .csv or .parquet file"),
        ],
    )
    def test_a_bad_file_is_refused(self, settings, tmp_path, name, content, message):
        path = tmp_path / name
        path.write_text(content)
        self._refused(settings, [path], message)

    def test_files_with_different_columns_are_refused_together(self, settings, tmp_path):
        good = _write(tmp_path, _new_weeks(), "a.csv")
        other = _write(tmp_path, generate_weeks(22, 22, GeneratorSpec()).drop(columns="approved"))
        self._refused(settings, [good, other], "same columns")

    def test_one_good_and_one_bad_file_store_neither(self, settings, tmp_path):
        good = _write(tmp_path, _new_weeks(), "good.csv")
        bad = _write(tmp_path, _with("approved", 0, "maybe")(generate_weeks(22, 22)), "bad.csv")
        self._refused(settings, [good, bad], "'approved'.*'maybe'")

    def test_a_missing_file_is_named(self, settings, tmp_path):
        self._refused(settings, [tmp_path / "nowhere.csv"], "nowhere.csv does not exist")

    def test_a_string_label_without_positive_label_asks_for_it(self, settings, tmp_path):
        frame = _new_weeks().assign(approved=lambda f: np.where(f.approved, "yes", "no"))
        self._refused(settings, [_write(tmp_path, frame)], "need positive_label")

    def test_a_positive_label_the_data_lacks_is_named(self, settings, tmp_path):
        contract = replace(settings.contract, positive_label="granted")
        frame = _new_weeks().assign(approved=lambda f: np.where(f.approved, "yes", "no"))
        path = _write(tmp_path, frame)
        self._refused(
            replace(settings, contract=contract), [path], "positive_label 'granted' is not one"
        )

    def test_stored_data_needs_append_or_replace(self, settings, tmp_path):
        self._refused(settings, [_write(tmp_path, _new_weeks())], "pass --append", append=False)

    def test_the_cli_prints_one_line_and_exits_2(self, settings, tmp_path, capsys):
        before = _state(settings)
        path = _write(tmp_path, _new_weeks().drop(columns=["credit_score"]))
        argv = ["ingest", str(path), "--append", "--home", str(settings.home)]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "'credit_score'" in err and "\n" not in err
        assert _state(settings) == before

    @staticmethod
    def _refused(settings: Settings, paths: list[Path], message: str, *, append: bool = True):
        before = _state(settings)
        with (
            pytest.raises(ChampionChallengerError, match=message) as raised,
            open_backend(settings) as backend,
        ):
            _ingest(backend, settings, paths, append=append)
        assert "\n" not in str(raised.value)
        assert _state(settings) == before


class TestGoodInput:
    @pytest.fixture
    def fresh(self, tmp_path) -> Settings:
        return Settings(home=tmp_path / "home")

    @pytest.mark.parametrize("suffix", [".csv", ".parquet"])
    def test_ingest_then_append_stores_the_new_weeks(self, fresh, tmp_path, suffix):
        history = generate_weeks(0, 19, GeneratorSpec())
        with open_backend(fresh) as backend:
            first = _ingest(backend, fresh, [_write(tmp_path, history, f"h{suffix}")])
            added = _ingest(
                backend, fresh, [_write(tmp_path, _new_weeks(), f"n{suffix}")], append=True
            )
            stored = backend.source.read_periods(steps.PeriodRange(20, 21))
        assert (first.rows, first.span) == (8000, (0, 19))
        assert (added.rows, added.span, added.replaced) == (800, (0, 21), False)
        expected = _new_weeks().reset_index(drop=True)
        np.testing.assert_allclose(stored["credit_score"], expected["credit_score"])

    def test_a_folder_of_parquet_files_is_one_table(self, fresh, tmp_path):
        folder = tmp_path / "parts"
        folder.mkdir()
        for week in range(20):
            generate_weeks(0, 19, GeneratorSpec()).query(f"week_number == {week}").to_parquet(
                folder / f"part-{week:02d}.parquet", index=False
            )
        with open_backend(fresh) as backend:
            result = _ingest(backend, fresh, [folder])
        assert (result.rows, result.span) == (8000, (0, 19))

    def test_replace_keeps_only_the_new_files_rows(self, fresh, tmp_path):
        with open_backend(fresh) as backend:
            _ingest(backend, fresh, [_write(tmp_path, generate_weeks(0, 19))])
            result = _ingest(backend, fresh, [_write(tmp_path, _new_weeks())], replace=True)
        assert (result.rows, result.span, result.replaced) == (800, (20, 21), True)

    def test_append_and_replace_together_are_refused(self, fresh, tmp_path):
        with (
            pytest.raises(ChampionChallengerError, match="one of --append and --replace"),
            open_backend(fresh) as backend,
        ):
            _ingest(backend, fresh, [_write(tmp_path, _new_weeks())], append=True, replace=True)


class TestLateDataOnATimeColumn:
    """Periods counted from timestamps: stored weeks are immutable, new weeks continue the count."""

    @pytest.fixture
    def stored(self, tmp_path) -> tuple[Settings, pd.DataFrame]:
        """Ten weeks of loans (2024-01-03 to 2024-03-12) stored; the rest kept for appending."""
        settings = Settings(home=tmp_path / "home", contract=LOANS_CONTRACT)
        table = loans(100)
        with open_backend(settings) as backend:
            _ingest(backend, settings, [_write(tmp_path, table.iloc[: 70 * 30], "old.csv")])
        return settings, table

    def test_a_later_week_is_appended_and_numbered_from_the_first_stored_week(
        self, stored, tmp_path
    ):
        settings, table = stored
        newer = table[table["opened_at"] >= "2024-03-18"]  # the Monday of week 11
        with open_backend(settings) as backend:
            result = _ingest(backend, settings, [_write(tmp_path, newer)], append=True)
            week = backend.source.read_periods(steps.PeriodRange(11, 11))
        assert result.span == (0, 14)
        assert week["loan_id"].iloc[0] == newer["loan_id"].iloc[0]

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            (lambda t: t.iloc[70 * 30 :], "Week\\(s\\) 10 are already stored"),
            (
                lambda t: t.iloc[:30].assign(opened_at="2023-12-20T10:00:00"),
                "'opened_at'.*rows before the first stored week \\(2024-01-01\\)",
            ),
        ],
        ids=["rows of a stored week", "rows before the first stored week"],
    )
    def test_late_rows_refuse_the_whole_append(self, stored, tmp_path, rows, message):
        settings, table = stored
        before = _state(settings)
        with (
            pytest.raises(ChampionChallengerError, match=message) as raised,
            open_backend(settings) as backend,
        ):
            _ingest(backend, settings, [_write(tmp_path, rows(table))], append=True)
        assert "\n" not in str(raised.value)
        assert _state(settings) == before

    def test_a_third_label_value_names_the_values_found(self, stored, tmp_path):
        settings, table = stored
        later = table.iloc[80 * 30 :].copy()
        later.loc[later.index[4], "outcome"] = "written off"
        before = _state(settings)
        with (
            pytest.raises(ChampionChallengerError, match="'default', 'repaid', 'written off'"),
            open_backend(settings) as backend,
        ):
            _ingest(backend, settings, [_write(tmp_path, later)], append=True)
        assert _state(settings) == before


class TestCommonMistakes:
    """What a new user gets wrong first: each refused in one line, leaving nothing behind."""

    @pytest.fixture
    def churn(self, tmp_path) -> Path:
        """A table nothing like the quickstart's: an id, a timestamp and a yes/no label."""
        path = tmp_path / "churn.csv"
        path.write_text(
            "customer_id,observed_at,tenure,churned\n"
            "C1,2025-01-06T10:00:00,3,yes\nC2,2025-01-07T11:00:00,9,no\n"
        )
        return path

    def test_another_table_without_a_data_table_points_at_config_toml(
        self, churn, tmp_path, capsys
    ):
        home = tmp_path / "home"
        assert main(["ingest", str(churn), "--home", str(home)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err
        assert "does not look like the quickstart's credit table" in err
        assert f"{home / 'config.toml'} needs a [data] table" in err and "docs/data.md" in err
        assert "'applicant_age'" not in err  # not the twelve credit columns
        assert not home.exists()

    def test_a_home_made_by_hand_keeps_only_what_was_there(self, churn, tmp_path):
        home = tmp_path / "home"
        home.mkdir()
        assert main(["ingest", str(churn), "--home", str(home)]) == 2
        assert list(home.iterdir()) == []

    def test_the_same_file_twice_is_refused(self, tmp_path, capsys):
        path = _write(tmp_path, generate_weeks(0, 19, GeneratorSpec()), "history.csv")
        home = tmp_path / "home"
        assert main(["ingest", str(path), str(path), "--home", str(home)]) == 2
        assert f"{path} is named twice" in capsys.readouterr().err
        assert not home.exists()

    def test_a_file_inside_a_folder_also_named_is_refused(self, tmp_path):
        folder = tmp_path / "parts"
        folder.mkdir()
        part = _write(folder, generate_weeks(0, 19, GeneratorSpec()), "part-0.parquet")
        with pytest.raises(ChampionChallengerError, match=f"{folder} and {part} both hold"):
            steps.check_files(Settings(home=tmp_path / "home"), [folder, part])

    def test_a_folder_counts_its_files(self, tmp_path, capsys):
        folder = tmp_path / "parts"
        folder.mkdir()
        history = generate_weeks(0, 19, GeneratorSpec())
        for half, weeks in enumerate(((0, 9), (10, 19))):
            rows = history[history["week_number"].between(*weeks)]
            _write(folder, rows, f"part-{half}.parquet")
        assert main(["ingest", str(folder), "--home", str(tmp_path / "home")]) == 0
        assert "Ingested 8,000 rows from 2 file(s)" in capsys.readouterr().out
