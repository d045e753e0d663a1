"""Hostile input through ``ccflows ingest`` and ``ccflows score --input``: stored faithfully or refused.

Every case of ``hostile_cases.py`` runs the real command in-process. A refusal must
exit 2 with one line (no traceback, no raw control character) matching the case's
pattern, leave the home byte-identical and leave no temporary file in the work
folder. An input that is right to accept must round-trip: what a re-read of the
store (or the scores file) shows is what the input said.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from flows.cycle import steps
from flows.data.files import read_tables
from flows.data.output import FORMULA_PREFIXES
from flows.data.periods import PeriodRange
from flows.errors import DataValidationError
from tests.flows.loans import loans
from tests.reliability.helpers import CONFIG_TOML, open_home
from tests.reliability.hostile_cases import file_cases, output_cases, quick_cases
from tests.reliability.hostile_contracts import fresh_cases, loans_cases
from tests.reliability.hostile_writers import FRESH_CONTRACTS, LOANS_TOML, Case, fresh_rows

CASES = [*quick_cases(), *file_cases(), *output_cases(), *loans_cases(), *fresh_cases()]


def snapshot(home: Path) -> dict[str, str]:
    """Every file's SHA-256 and every folder under ``home``."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(home.rglob("*"))
    }


def new_home(path: Path, data_toml: str) -> Path:
    """A home with ``[data]``, the tiny model specs and an empty registry."""
    path.mkdir(parents=True)
    (path / "config.toml").write_text(data_toml + "\n" + CONFIG_TOML)
    with open_home(path):
        pass
    return path


@pytest.fixture(scope="module")
def quick_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart's 20 weeks and a live champion."""
    return Path(shutil.copytree(template_home, tmp_path_factory.mktemp("hostile") / "quick"))


@pytest.fixture(scope="module")
def loans_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 weeks of loans (ids, timestamps, text labels, a category) and a live champion."""
    home = new_home(tmp_path_factory.mktemp("hostile") / "loans", LOANS_TOML)
    history = home.parent / "history.csv"
    loans(140, per_day=12).to_csv(history, index=False)
    with open_home(home) as (backend, settings):
        steps.ingest(backend, settings, steps.check_files(settings, [history]))
        steps.train_champion(backend, settings, actor="setup")
    return home


@pytest.fixture
def homes(quick_home: Path, loans_home: Path, tmp_path: Path):
    def home_for(case: Case) -> Path:
        shared = {"quick": quick_home, "loans": loans_home}
        return shared.get(case.home) or new_home(tmp_path / "home", FRESH_CONTRACTS[case.home])

    return home_for


def argv(case: Case, home: Path, work: Path, inputs: list[Path]) -> list[str]:
    where = ["--home", str(home)]
    if case.command == "score":
        out = case.out.replace("{home}", str(home))
        target = ["--out", str(work / out)] if out else []
        return ["score", *where, "--input", str(inputs[0]), *target, *case.flags]
    mode = ["--append"] if case.command == "append" else []
    return ["ingest", *where, *mode, *map(str, inputs), *case.flags]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_input_is_stored_faithfully_or_refused_in_one_line(case, homes, cli, tmp_path):
    home = homes(case)
    work = tmp_path / "work"
    work.mkdir()
    inputs = case.write(work)
    before = snapshot(home)
    code, out, err = cli(*argv(case, home, work, inputs))
    assert "Traceback" not in out + err
    if case.refused is None:
        assert code == 0, err
        (check_scores if case.command == "score" else check_stored)(case, home, work, inputs, out)
        return
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert not [ch for ch in lines[0] if unicodedata.category(ch) in ("Cc", "Cf")], lines[0]
    assert re.search(case.refused, lines[0]), lines[0]
    assert snapshot(home) == before
    assert not [p.name for p in work.rglob("*.tmp")]


def check_stored(case: Case, home: Path, work: Path, inputs: list[Path], _: str) -> None:
    """The stored rows, read back, are the input's rows in canonical form, period by period."""
    with open_home(home) as (backend, settings):
        contract = settings.contract
        span = backend.source.period_span()
        assert span is not None
        stored = backend.source.read_periods(PeriodRange(*span))
    text = [
        *(contract.categorical or ()),
        *filter(None, (contract.time_column, contract.id_column)),
    ]
    given = contract.validate(read_tables(inputs, text_columns=text)[0])
    expected = given.sort_values(contract.period_key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected)


def check_scores(case: Case, home: Path, work: Path, inputs: list[Path], out: str) -> None:
    """Every input row is scored once, its id (or columns) written back as the file gave it."""
    path = work / case.out
    read = pd.read_parquet if path.suffix == ".parquet" else _text_csv
    scores, given = read(path), read(inputs[0])
    with open_home(home) as (_, settings):
        id_column, score_column = settings.contract.id_column, settings.contract.score_column
    kept = [id_column] if id_column else list(given.columns)
    expected = given[kept]
    if "--csv-safe" in case.flags:
        expected = expected.map(lambda v: f"'{v}" if v.startswith(FORMULA_PREFIXES) else v)
    else:
        assert ("--csv-safe" in out) == any(
            str(v).startswith(FORMULA_PREFIXES) for v in expected.to_numpy().ravel()
        ), out
    pd.testing.assert_frame_equal(scores[kept], expected)
    assert pd.to_numeric(scores[score_column]).between(0, 1).all()


def _text_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_a_champion_no_better_than_chance_is_made_live_only_when_asked(tmp_path):
    """A feature that says nothing about the label trains a model with test AUC 0.5."""
    home = new_home(tmp_path / "home", FRESH_CONTRACTS["pid"])
    rows = fresh_rows("pid").assign(x=1.0, kind="a")
    rows.to_csv(tmp_path / "flat.csv", index=False)
    with open_home(home) as (backend, settings):
        steps.ingest(backend, settings, steps.check_files(settings, [tmp_path / "flat.csv"]))
        with pytest.raises(
            DataValidationError,
            match=r"test AUC 0\.5000 on weeks 202511–202513, not above 0\.55 \(chance is 0\.5\); "
            r"it is logged but not made live.*--allow-weak-champion",
        ):
            steps.train_champion(backend, settings, actor="tester")
        assert backend.registry.live_version() is None and backend.registry.ledger() == []
        version = steps.train_champion(backend, settings, allow_weak=True, actor="tester")
        assert backend.registry.live_version() == version.name
