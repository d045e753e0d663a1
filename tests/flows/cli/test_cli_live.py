"""``ccflows ingest-outcomes`` and the live test in ``ccflows status``, on a home under a shadow test."""

from __future__ import annotations

import json
import re

import pytest

from flows.cli import main
from flows.data.output import write_table
from flows.records import LedgerEntry, Outcome
from tests.flows.homes import tree
from tests.flows.live.homes import live_home, new_loans


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A shadow test whose candidate scored weeks 20 and 23 (the clock at 23, maturity 2)."""
    home = tmp_path_factory.mktemp("live-cli")
    settings = live_home(home / "home")
    work = home / "work"
    weeks = {week: new_loans(week, per_day=3) for week in (20, 23)}
    for week, rows in weeks.items():
        source = write_table(rows.drop(columns=["outcome"]), work / f"week-{week}.csv")
        assert main(["score", "--home", str(settings.home), "--input", str(source),
                     "--out", str(work / f"scores-{week}.csv")]) == 0  # fmt: skip
    return settings, weeks, work


def _outcomes(rows, path, **extra):
    return write_table(rows[["loan_id", "outcome"]].assign(**extra), path)


def _home_of(scored):
    return str(scored[0].home)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r.assign(outcome=["default", "repaid", "maybe", "repaid", "default"]),
            r"Column 'outcome' in .* must hold two values; found 3",
        ),
        (
            lambda r: r.assign(outcome="maybe"),  # one value, not the positive: not a negative
            r"^Error: Column 'outcome' in .* has 5 label\(s\) the stored data never holds "
            r"\(e.g. 'maybe'; it holds 'default', 'repaid'\); nothing was stored.$",
        ),
        (
            lambda r: r.assign(outcome=["default", "Repaid ", "Repaid ", "default", "default"]),
            r"has 2 label\(s\) the stored data never holds \(e.g. 'Repaid '",
        ),
        (lambda r: r.assign(outcome=None), r"missing label"),
        (lambda r: r.drop(columns=["outcome"]), r"missing column\(s\) 'outcome'"),
        (lambda r: r.iloc[[0, 0, 1]], r"^Error: 1 outcome\(s\) repeat an id in"),
        (
            lambda r: r.assign(loan_id=["NEVER-1", *r["loan_id"][1:4], "NEVER-2"]),
            r"2 outcome\(s\) are for ids the score log has never scored \(e.g. id 'NEVER-1'\)",
        ),
    ],
)
def test_bad_outcomes_are_one_line_exit_2_and_change_nothing(
    scored, tmp_path, capsys, change, message
):
    _, weeks, _ = scored
    home = _home_of(scored)
    rows = change(weeks[20][["loan_id", "outcome"]].head(5).copy())
    before = tree(scored[0].home)
    assert (
        main(["ingest-outcomes", "--home", home, str(write_table(rows, tmp_path / "o.csv"))]) == 2
    )
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert tree(scored[0].home) == before


def test_outcomes_are_added_once_and_counted_as_not_yet_mature(scored, tmp_path, screen, capsys):
    settings, weeks, _ = scored
    home = _home_of(scored)
    early = _outcomes(weeks[20], tmp_path / "early.csv", observed_at="2024-07-01T10:00:00Z")
    late = _outcomes(
        weeks[23].head(4), tmp_path / "late.parquet", observed_at="2024-07-02T08:00:00Z"
    )
    assert main(["ingest-outcomes", "--home", home, str(early), str(late), "--json"]) == 0
    n20 = len(weeks[20])
    assert json.loads(capsys.readouterr().out) == {"added": n20 + 4, "not_yet_mature": 4}
    before = tree(settings.home)
    assert main(["ingest-outcomes", "--home", home, str(late)]) == 2
    assert "4 outcome(s) are for ids that already have one" in capsys.readouterr().err
    assert tree(settings.home) == before
    rest = _outcomes(weeks[23].iloc[4:6], tmp_path / "rest.csv")
    assert main(["ingest-outcomes", "--home", home, str(rest)]) == 0
    assert "2 outcomes added; 2 for rows not yet mature" in screen.getvalue()


def test_status_shows_the_open_test_its_evidence_and_its_looks(scored, screen, capsys):
    from flows.backends import open_backend
    from flows.cycle import steps

    settings, weeks, _ = scored
    with open_backend(settings) as backend:
        test = steps.live_candidate(backend)
        backend.registry.append_ledger(
            LedgerEntry(
                outcome=Outcome.CONTINUED,
                reason="look 1",
                champion_version=test.champion_version,
                challenger_version=test.version,
            )
        )
    assert main(["status", "--home", _home_of(scored), "--json"]) == 0
    live = json.loads(capsys.readouterr().out)["live_test"]
    scored_rows = len(weeks[20]) + len(weeks[23])
    assert live["candidate"] == test.version and live["mode"] == "shadow"
    assert live["scored"] == {"champion": scored_rows}
    assert live["looks"] == 1 and live["mature_through_period"] == 21
    assert live["matured"] <= live["with_outcome"] <= scored_rows
    assert main(["status", "--home", _home_of(scored)]) == 0
    text = screen.getvalue()
    assert f"candidate\t{test.version} against {test.champion_version}" in text
    assert "mode\tshadow" in text and "looks so far\t1" in text
    assert f"rows scored\t{scored_rows} champion" in text


def test_the_stored_labels_are_read_as_written_and_only_under_positive_label(scored):
    from dataclasses import replace

    from flows.backends import open_backend
    from flows.cycle import steps

    settings, _, _ = scored
    with open_backend(settings, mode="read") as backend:
        assert steps.stored_labels(backend) == {"default", "repaid"}
        assert backend.source.label_values() == {"default", "repaid"}
    plain = replace(settings.contract, positive_label=None)
    with open_backend(replace(settings, contract=plain), mode="read") as backend:
        assert steps.stored_labels(backend) == frozenset()  # nothing read: the contract knows
