"""``ccflows review``: one look shown, its JSON, and bad input refused in one line."""

from __future__ import annotations

import json

import pytest

from flows.backends import open_backend
from flows.cli import main
from flows.cycle import steps
from flows.records import Outcome
from tests.flows.live.homes import CONFIG, live_home
from tests.flows.live.test_review import log_matured, matured_rows


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A loans home under a shadow test (maturity 2), configured by its config.toml."""
    settings = live_home(tmp_path / "home")
    monkeypatch.setenv("CC_HOME", str(settings.home))
    return settings


def test_a_look_is_shown_with_the_path_and_recorded(home, screen, capsys):
    with open_backend(home) as backend:
        test = steps.live_candidate(backend)
        newest = steps.live_clock(backend)
        log_matured(backend, matured_rows(test, periods=[newest - 2], per_period=300))
    assert main(["review", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["outcome"] == "continued" and dry["entry"] is None and dry["dry_run"]
    with open_backend(home) as backend:
        assert steps.history(backend)[-1].outcome.value == "candidate"  # nothing recorded
    assert main(["review"]) == 0
    shown = screen.getvalue()
    assert f"candidate\t{test.version} (shadow, since period 19)" in shown
    assert "outcome\tcontinued" in shown and "300 (periods up to 17)" in shown
    assert "● against the boundary ┃" in shown
    with open_backend(home) as backend:
        assert steps.history(backend)[-1].outcome.value == "continued"


def test_no_candidate_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    settings = live_home(tmp_path / "home")
    monkeypatch.setenv("CC_HOME", str(settings.home))
    with open_backend(settings) as backend:
        backend.registry.append_ledger(
            steps.history(backend)[-1].stamped(outcome=Outcome.REJECTED, id=None)
        )
        before = len(steps.history(backend))
    assert main(["review"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No candidate is under live test" in err
    with open_backend(settings) as backend:
        assert len(steps.history(backend)) == before


@pytest.mark.parametrize("share", ["1.5", "0", "1"])
def test_a_split_share_outside_0_1_is_refused_in_one_line(home, share, capsys):
    (home.home / "config.toml").write_text(CONFIG.format(mode="split", share=share))
    with open_backend(home) as backend:
        before = steps.history(backend)
    assert main(["review"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "[live] share must be a number strictly between 0 and 1" in err
    with open_backend(home) as backend:
        assert steps.history(backend) == before


def test_the_report_draws_the_live_tests_path(home, screen, tmp_path):
    with open_backend(home) as backend:
        test = steps.live_candidate(backend)
        newest = steps.live_clock(backend)
        log_matured(backend, matured_rows(test, periods=[newest - 2], per_period=300))
    assert main(["review"]) == 0
    assert main(["report", "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    section = page[page.index("Live test of") :]
    assert f"Live test of {test.version} against {test.champion_version}" in page
    assert "(shadow, since period 19, open)" in section
    assert "<svg" in section[: section.index("</figure>")]
    assert f"Live test of {test.version}: 1 look(s)." in screen.getvalue()
