"""Bad input of every kind: a clear error naming the problem, and the champion untouched.

Each case breaks one thing (a data file, a setting, a policy, the registry, the
home) and runs the real ``ccflows`` command in-process, or for the commands that
start Prefect flows (``run``, ``train-champion``) the same step functions the flows
call. It then checks the message, the exit code, that the live version and the
ledger are as they were, and every registry invariant.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ccpolicy
from ccpolicy.stats import UndefinedStatisticWarning
from flows.backends.local.backend import BUSY_TIMEOUT_ENV
from flows.backends.local.registry import LocalRegistry
from flows.config import load_settings
from flows.cycle import stages, steps
from flows.cycle.training import train_model
from flows.data.periods import PeriodRange
from flows.data.quickstart import GeneratorSpec
from flows.errors import ArtifactIntegrityError, DataValidationError, EmptyWindowError, LeakageError
from flows.names import DEFAULT_MODEL_NAME, FEATURE_COLUMNS
from flows.records import ModelVersion, Outcome
from tests.reliability.helpers import CONFIG_TOML, assert_consistent, open_home, pointers


@contextmanager
def untouched(home: Path, *, damaged: tuple[str, ...] = ()) -> Iterator[None]:
    """Assert that the block leaves the champion as it was, switches nothing, breaks nothing.

    The registry is opened directly (not through the home's settings), so cases that
    break the configuration are checked too.
    """
    registry = LocalRegistry(home, DEFAULT_MODEL_NAME)
    live = ("live", "champion", "default")
    before = {k: v for k, v in pointers(registry).items() if k in live}
    n_entries = len(registry.ledger())
    yield
    registry = LocalRegistry(home, DEFAULT_MODEL_NAME)
    assert {k: v for k, v in pointers(registry).items() if k in live} == before
    ledger = assert_consistent(registry, damaged=damaged)
    assert not any(e.outcome.switched_live for e in ledger[n_entries:])


def _week_file(home: Path, week: int) -> Path:
    return home / "data" / "applications" / f"week-{week:05d}.parquet"


def _rewrite_week(home: Path, week: int, change) -> None:
    """Replace a stored week with ``change(rows)``, bypassing validation (a bad upstream load)."""
    path = _week_file(home, week)
    rows = pd.read_parquet(path)
    change(rows).to_parquet(path, index=False)


def _score(cli, home: Path, week: int = 19) -> tuple[int, str]:
    code, _, err = cli("score", "--home", str(home), "--first-week", str(week))
    return code, err


class TestBadData:
    def test_a_missing_column(self, home, cli):
        _rewrite_week(home, 19, lambda rows: rows.drop(columns=["credit_score"]))
        with untouched(home):
            code, err = _score(cli, home)
        assert code == 2
        assert "scoring input is missing column(s) 'credit_score'; expected columns:" in err

    def test_nan_in_a_feature_is_imputed_not_refused(self, home, cli, tmp_path):
        _rewrite_week(home, 19, lambda rows: rows.assign(annual_income=np.nan))
        with untouched(home):
            code, _, err = cli(
                "score", "--home", str(home), "--first-week", "19", "--out", str(tmp_path / "s.csv")
            )
        assert code == 0, err
        scores = pd.read_csv(tmp_path / "s.csv")["approved_probability"]
        assert len(scores) and scores.notna().all() and scores.between(0, 1).all()

    def test_infinity_in_a_feature(self, home, cli):
        def change(rows):
            rows.loc[3, "debt_to_income"] = np.inf
            return rows

        _rewrite_week(home, 19, change)
        with untouched(home):
            code, err = _score(cli, home)
        assert code == 2
        assert (
            "'debt_to_income' in scoring input contains infinite values in 1 row(s) (first at row 4)"
            in err
        )

    def test_text_in_a_numeric_column(self, home, cli):
        _rewrite_week(home, 19, lambda rows: rows.assign(credit_score="n/a"))
        with untouched(home):
            code, err = _score(cli, home)
        assert code == 2
        assert "Column 'credit_score' in scoring input must be numeric; got dtype object" in err
        assert "(first bad value: 'n/a')" in err

    def test_a_label_that_is_not_0_or_1_in_the_hold_out(self, home):
        _rewrite_week(home, 18, lambda rows: rows.assign(approved=2))
        with (
            untouched(home),
            open_home(home) as (backend, settings),
            pytest.raises(
                DataValidationError,
                match="Column 'approved' in hold-out must hold two values; found 3 or more: '0', '1', '2'",
            ),
        ):
            steps.evaluate(backend, steps.plan_cycle(backend, settings))

    def test_an_unreadable_week_file(self, home, cli):
        _week_file(home, 19).write_bytes(b"PAR1 this is not parquet")
        with untouched(home):
            code, err = _score(cli, home)
        assert code == 2
        assert f"Week 19 of scoring input cannot be read from {_week_file(home, 19)}" in err

    def test_scoring_weeks_that_are_not_stored(self, home, cli):
        with untouched(home):
            code, err = _score(cli, home, week=30)
        assert code == 2
        assert "scoring input (weeks 30–30) has no rows; the table holds weeks 0–19." in err

    def test_a_week_range_that_ends_before_it_starts(self, home, cli):
        with untouched(home):
            code, _, err = cli(
                "score", "--home", str(home), "--first-week", "5", "--last-week", "2"
            )
        assert code == 2
        assert "A range of weeks must not end before it starts; got 5–2." in err


class TestBadWindows:
    def test_no_data_at_all(self, tmp_path):
        home = tmp_path / "empty"
        home.mkdir()
        (home / "config.toml").write_text(CONFIG_TOML)
        with open_home(home) as (backend, settings):
            with pytest.raises(
                EmptyWindowError, match="No rows are stored yet; run `ccflows generate`"
            ):
                steps.train_champion(backend, settings)
            assert backend.registry.live_version() is None
            assert backend.registry.ledger() == []

    def test_too_few_weeks_for_the_windows(self, tmp_path):
        home = tmp_path / "short"
        home.mkdir()
        (home / "config.toml").write_text(CONFIG_TOML)
        with open_home(home) as (backend, settings):
            steps.generate_data(backend, GeneratorSpec(rows_per_week=100), n_periods=12)
            with pytest.raises(
                EmptyWindowError,
                match=r"The training window needs weeks -8–1 but the data starts at week 0 .*"
                r"these windows need at least 20 weeks\)\. Generate or load more weeks",
            ):
                steps.train_champion(backend, settings)
            assert backend.registry.live_version() is None

    def test_a_training_window_with_too_few_rows(self, tmp_path):
        home = tmp_path / "sparse"
        home.mkdir()
        (home / "config.toml").write_text(CONFIG_TOML)
        with open_home(home) as (backend, settings):
            steps.generate_data(backend, GeneratorSpec(rows_per_week=4), n_periods=20)
            with pytest.raises(
                EmptyWindowError,
                match=r"The training window \(weeks 0–9\) has 40 rows while at least 50 are required",
            ):
                steps.train_champion(backend, settings)
            assert backend.registry.list_versions() == []

    def test_a_training_window_with_one_class(self, home):
        for week in range(3, 13):
            _rewrite_week(home, week, lambda rows: rows.assign(approved=1))
        with (
            untouched(home),
            open_home(home) as (backend, settings),
            pytest.raises(
                EmptyWindowError, match=r"training window \(weeks 3–12\) holds only label \[1\]"
            ),
        ):
            steps.retrain_challenger(backend, settings, steps.plan_cycle(backend, settings))

    def test_a_hold_out_with_one_class_is_inconclusive_not_a_crash(self, home):
        for week in range(16, 20):
            _rewrite_week(home, week, lambda rows: rows.assign(approved=0))
        with (
            untouched(home),
            open_home(home) as (backend, settings),
            pytest.warns(UndefinedStatisticWarning, match="Only one class is present"),
        ):
            report = stages.weekly_cycle(
                backend, settings, ccpolicy.load_policy("significance_margin")
            )
        assert report.entry.outcome is Outcome.INCONCLUSIVE
        assert "hold-out labels hold one class only (400 rows, all 0); ROC AUC is undefined" in (
            report.entry.reason
        )


class TestLeakage:
    def _log(self, backend, train: pd.DataFrame, weeks: PeriodRange, name: str) -> None:
        """Log a tiny model trained on ``train`` while claiming it was trained on ``weeks``."""
        spec = load_settings(home=backend.registry.home).challenger_spec
        trained = train_model(spec, train, train, train_periods=weeks, test_periods=weeks)
        record = ModelVersion(
            model_name=backend.registry.model_name, name=name, created_at="",
            train_weeks=(weeks.start, weeks.end), spec=spec.to_dict(),
        )  # fmt: skip
        backend.registry.log_version(
            trained.model, record, sample_input=train[list(FEATURE_COLUMNS)].head(5),
            train_row_hashes=trained.train_row_hashes,
        )  # fmt: skip

    def test_a_contestant_trained_on_hold_out_weeks_is_refused(self, home):
        with untouched(home), open_home(home) as (backend, settings):
            self._log(
                backend,
                backend.source.read_periods(PeriodRange(10, 19)),
                PeriodRange(10, 19),
                "LEAKY",
            )
            with pytest.raises(
                LeakageError,
                match=r"Version LEAKY was trained on weeks 10–19, which overlap the hold-out \(weeks 16–19\)",
            ):
                steps.evaluate(backend, steps.plan_cycle(backend, settings), challenger="LEAKY")

    def test_a_contestant_whose_training_rows_include_hold_out_rows_is_refused(self, home):
        """Its record claims weeks 0–9, but 100 of its rows are week 17's: the hashes tell."""
        with untouched(home), open_home(home) as (backend, settings):
            rows = pd.concat(
                [
                    backend.source.read_periods(PeriodRange(0, 9)),
                    backend.source.read_periods(PeriodRange(17, 17)),
                ],
                ignore_index=True,
            )
            self._log(backend, rows, PeriodRange(0, 9), "COPIED")
            with pytest.raises(
                LeakageError,
                match=r"Version COPIED was trained on 100 of the 400 hold-out rows \(weeks 16–19\)",
            ):
                steps.evaluate(backend, steps.plan_cycle(backend, settings), challenger="COPIED")


class TestBadPolicy:
    def test_an_unknown_policy_lists_the_installed_ones(self, home, cli):
        with untouched(home):
            code, _, err = cli("run", "--home", str(home), "--policy", "auc_gt")
        assert code == 2
        assert (
            "no policy named 'auc_gt'" in err
            and "auc_greater" in err
            and "significance_margin" in err
        )

    def test_an_out_of_range_policy_parameter(self, home, cli):
        with untouched(home):
            code, _, err = cli("run", "--home", str(home), "--param", "margin=-0.1")
        assert code == 2
        assert (
            "The 'margin' parameter of significance_margin must be a float in the range [0, 0.5). Got -0.1 instead."
            in err
        )

    def test_an_unknown_policy_parameter(self, home, cli):
        with untouched(home):
            code, _, err = cli("run", "--home", str(home), "--param", "margn=0.01")
        assert code == 2
        assert (
            "significance_margin got unexpected parameter(s) 'margn'; its parameters are: margin"
            in err
        )

    def test_a_malformed_parameter(self, home, cli):
        with untouched(home):
            code, _, err = cli("replay", "--home", str(home), "--param", "margin")
        assert code == 2
        assert "--param expects KEY=VALUE; got 'margin'." in err


class TestBadRegistry:
    @pytest.mark.parametrize("command", ["rollback", "score"])
    def test_a_home_that_does_not_exist_is_refused_not_created(self, tmp_path, cli, command):
        code, _, err = cli(command, "--home", str(tmp_path / "new"))
        assert code == 2
        assert f"no home directory {tmp_path / 'new'}" in err
        assert not (tmp_path / "new").exists()

    def test_rolling_back_with_no_earlier_champion(self, home, cli):
        with untouched(home):
            code, _, err = cli("rollback", "--home", str(home))
        assert code == 2 and "has no earlier champion in the ledger" in err and "--to" in err

    def test_rolling_back_to_an_unknown_version(self, home, cli):
        with untouched(home):
            code, _, err = cli("rollback", "--home", str(home), "--to", "NOPE")
        assert code == 2 and "Model CREDIT_APPROVAL has no version 'NOPE'" in err

    def test_rolling_back_to_the_live_version(self, home, cli):
        with open_home(home) as (backend, _):
            live = backend.registry.live_version()
        with untouched(home):
            code, out, err = cli("rollback", "--home", str(home), "--to", live)
        assert code == 0 and "already live" in out + err  # nothing to do, nothing recorded

    def test_scoring_with_a_missing_artifact(self, home, cli):
        with open_home(home) as (backend, _):
            live = backend.registry.live_version()
            artifact = backend.registry.artifacts / live / "model.pkl"
        artifact.unlink()
        with untouched(home, damaged=(live,)):
            code, err = _score(cli, home)
        assert code == 2
        assert f"Artifact of version {live} is missing: {artifact}" in err

    def test_promoting_a_challenger_whose_artifact_went_bad_is_refused_and_recorded(self, home):
        with open_home(home) as (backend, settings):
            plan = steps.plan_cycle(backend, settings)
            retrained = steps.retrain_challenger(backend, settings, plan)
            evaluation = steps.evaluate(backend, plan, challenger=retrained.version.name)
            challenger = evaluation.challenger.name
            artifact = backend.registry.artifacts / challenger / "model.pkl"
        artifact.write_bytes(b"tampered after evaluation")
        with untouched(home, damaged=(challenger,)), open_home(home) as (backend, _):
            with pytest.raises(
                ArtifactIntegrityError,
                match=f"Artifact of version {challenger} .*refusing to make it live",
            ):
                steps.decide(backend, evaluation, ccpolicy.load_policy("auc_greater"))
            last = backend.registry.ledger()[-1]
        assert last.outcome is Outcome.FAILED and last.verdict == "promote"
        assert "not applied" in last.reason and last.has_evidence

    def test_a_locked_registry_fails_writers_after_the_timeout_but_not_readers(
        self, history_home, cli, monkeypatch
    ):
        home = history_home
        monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.2")
        holder = sqlite3.connect(home / "registry.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with untouched(home):
                assert cli("status", "--home", str(home))[0] == 0
                code, _, err = cli("rollback", "--home", str(home))
                assert code == 1  # a failure a retry cures, not bad input
                assert (
                    "stayed locked for 0.2 s by another process; retry when it has finished." in err
                )
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    def test_a_bad_busy_timeout_setting(self, home, cli, monkeypatch):
        monkeypatch.setenv(BUSY_TIMEOUT_ENV, "soon")
        code, _, err = cli("status", "--home", str(home))
        assert code == 2
        assert f"{BUSY_TIMEOUT_ENV} must be a number of seconds ≥ 0; got 'soon'." in err

    def test_a_home_from_a_newer_schema_version(self, home, cli):
        with sqlite3.connect(home / "registry.sqlite") as conn:
            conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
        code, _, err = cli("status", "--home", str(home))
        assert code == 2
        assert (
            f"Home {home} was written by a newer release (schema version 99; this release reads up to 1)"
            in err
        )

    def test_a_damaged_registry_database(self, home, cli):
        (home / "registry.sqlite").write_bytes(b"not a database at all" * 100)
        for leftover in ("registry.sqlite-wal", "registry.sqlite-shm"):
            (home / leftover).unlink(missing_ok=True)
        code, _, err = cli("history", "--home", str(home))
        assert code == 2
        assert f"Registry database {home / 'registry.sqlite'} is damaged or not a registry" in err


class TestBadHomeAndSettings:
    def test_an_unwritable_home(self, tmp_path, cli):
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        code, _, err = cli("generate", "--home", str(blocker / "home"))
        assert code == 2
        assert (
            f"Home directory {blocker / 'home'} is not writable" in err
            and "--home or CC_HOME" in err
        )

    def test_an_unknown_key_in_the_config_file(self, home, cli):
        (home / "config.toml").write_text(CONFIG_TOML + "\n[windws]\ntrain_weeks = 8\n")
        with untouched(home):
            code, _, err = cli("status", "--home", str(home))
        assert code == 2 and "has unknown key(s) ['windws']" in err

    def test_an_estimator_that_is_not_a_classifier(self, home, cli):
        (home / "config.toml").write_text(
            '[challenger]\nestimator = "sklearn.preprocessing.StandardScaler"\n'
        )
        with untouched(home):
            code, _, err = cli("status", "--home", str(home))
        assert code == 2
        assert "sklearn.preprocessing.StandardScaler is not a classifier with predict_proba" in err

    def test_a_model_name_that_is_not_an_identifier(self, home, cli):
        code, _, err = cli("status", "--home", str(home), "--model-name", "credit approval;drop")
        assert code == 2 and "model name must be a plain identifier" in err

    def test_a_time_that_is_not_iso_8601(self, home, cli):
        code, _, err = cli("history", "--home", str(home), "--at", "last tuesday")
        assert code == 2 and "Cannot read time 'last tuesday'; use ISO-8601" in err

    def test_generating_over_stored_data(self, home, cli):
        with untouched(home):
            code, _, err = cli("generate", "--home", str(home))
        assert code == 2
        assert "already holds weeks 0–19; use --append-weeks N to add weeks or --replace" in err

    def test_generating_zero_weeks(self, tmp_path, cli):
        code, _, err = cli("generate", "--home", str(tmp_path / "new"), "--weeks", "0")
        assert code == 2 and "n_periods must be at least 1; got 0." in err


def test_the_suite_covers_at_least_twenty_cases():
    cases = [
        name
        for cls in (
            TestBadData,
            TestBadWindows,
            TestLeakage,
            TestBadPolicy,
            TestBadRegistry,
            TestBadHomeAndSettings,
        )
        for name in vars(cls)
        if name.startswith("test_")
    ]
    assert len(cases) >= 20
