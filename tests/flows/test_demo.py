"""``ccflows demo``: two cycles with nothing real to find, then a promotion after the rule changed."""

from __future__ import annotations

import pytest

from flows.backends import open_backend
from flows.cli import main
from flows.config import Settings
from flows.cycle.strength import EvidenceStrength
from flows.records import Outcome


def test_a_mistyped_policy_is_refused_before_any_work(tmp_path, capsys):
    home = tmp_path / "demo"
    assert main(["demo", "--home", str(home), "--policy", "signifcance_margin"]) == 2
    assert "no policy named 'signifcance_margin'" in capsys.readouterr().err
    assert not home.exists()


@pytest.mark.prefect_server
@pytest.mark.slow
def test_the_demo_shows_noise_refused_and_a_real_gain_promoted(
    prefect_server, tmp_path, monkeypatch, capsys
):
    home = tmp_path / "demo"
    monkeypatch.setenv("CC_HOME", str(home))  # the demo sets it; restored afterwards
    assert main(["demo", "--home", str(home)]) == 0
    output = " ".join(capsys.readouterr().out.split())  # as read, whatever the wrapping
    with open_backend(Settings(home=home)) as backend:
        ledger = backend.registry.ledger()
        live = backend.registry.live_version()
    bootstrap, first, second, third = ledger
    assert bootstrap.outcome is Outcome.BOOTSTRAPPED
    # The seed's two cycles decide exactly as they always have.
    assert (first.challenger_version, first.outcome) == (
        "CHALLENGER_W003_012_95471986",
        Outcome.INCONCLUSIVE,
    )
    assert (second.challenger_version, second.outcome) == (
        "CHALLENGER_W007_016_04CD4A35",
        Outcome.INCONCLUSIVE,
    )
    assert EvidenceStrength.from_dict(second.strength).within_noise
    # After the rule changed, the challenger wins by far more than the noise.
    assert third.outcome is Outcome.PROMOTED and live == third.challenger_version
    assert (third.holdout_weeks, third.data_week) == ((32, 35), 35)
    strength = EvidenceStrength.from_dict(third.strength)
    assert not strength.within_noise and strength.ci_low > strength.min_detectable_gain
    assert "within the noise" not in third.reason
    assert "education weigh far more" in output
    assert "outcome promoted" in output  # records off a terminal, white space folded
    assert output.count("paired DeLong") >= 3  # every cycle says how strong its evidence is
