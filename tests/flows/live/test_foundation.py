"""The live test's settings, arm assignment and candidate record."""

from __future__ import annotations

import numpy as np
import pytest

from flows.config import Settings, load_settings
from flows.data.contract import DataContract
from flows.errors import ConfigError
from flows.live.assignment import assign_arms, bucket, share_threshold
from flows.live.candidate import Candidate, current_candidate
from flows.live.settings import LiveSettings
from flows.records import LedgerEntry, Outcome


def test_live_is_off_by_default_and_round_trips_through_settings_dicts():
    settings = Settings()
    assert not settings.live.on
    live = LiveSettings(mode="shadow", share=0.25, maturity=2, params={"alpha": 0.05})
    contract = DataContract.from_mapping(
        {"label": "y", "time_column": "t", "id_column": "id"}, input_name="[data]"
    )
    shaped = Settings(contract=contract, live=live)
    assert Settings.from_dict(shaped.to_dict()).live == live


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"mode": "canary"}, "mode"),
        ({"mode": "split", "share": 1.0}, "share"),
        ({"mode": "split", "share": 0}, "share"),
        ({"share": float("nan")}, "share"),
        ({"share": True}, "share"),
        ({"maturity": -1}, "maturity"),
        ({"maturity": 1.5}, "maturity"),
        ({"policy": ""}, "policy"),
        ({"params": [1]}, "params"),
    ],
)
def test_bad_live_settings_are_one_line_naming_the_key(values, named):
    with pytest.raises(ConfigError, match=rf"\[live\] {named}"):
        LiveSettings(**values)


def test_live_mode_needs_an_id_column(tmp_path):
    (tmp_path / "config.toml").write_text('[live]\nmode = "shadow"\n')
    with pytest.raises(ConfigError, match=r"needs \[data\] id_column"):
        load_settings(home=tmp_path)


def test_unknown_key_in_live_is_refused_with_the_allowed_keys(tmp_path):
    (tmp_path / "config.toml").write_text("[live]\nshares = 0.2\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['shares'\] in \[live\]"):
        load_settings(home=tmp_path)


def test_assignment_is_deterministic_per_salt_and_close_to_the_share():
    ids = [f"app-{i}" for i in range(20_000)]
    first = assign_arms(ids, salt="s1", share=0.2)
    assert np.array_equal(first, assign_arms(ids, salt="s1", share=0.2))
    assert abs(first.mean() - 0.2) < 0.015
    other_salt = assign_arms(ids, salt="s2", share=0.2)
    assert 0.25 < np.mean(first != other_salt) < 0.4  # independent draws: 2 * 0.2 * 0.8


def test_a_larger_share_keeps_every_id_the_smaller_one_gave_the_candidate():
    ids = range(5_000)
    small = assign_arms(ids, salt="s", share=0.1)
    large = assign_arms(ids, salt="s", share=0.3)
    assert np.all(large[small])
    assert bucket("s", 7) < 16**15 and share_threshold(0.5) == 16**15 // 2


def _entry(outcome, challenger="V2", **details):
    return LedgerEntry(
        outcome=outcome,
        reason="r",
        champion_version="V1",
        challenger_version=challenger,
        details=details,
        id=1,
    )


def test_the_newest_candidate_entry_is_current_until_a_rejection_or_a_switch():
    candidate = Candidate(
        version="V2",
        champion_version="V1",
        mode="split",
        share=0.3,
        salt="abc",
        maturity=2,
        policy="sequential_margin",
        policy_params={"alpha": 0.05},
        since_period=12,
    )
    opened = _entry(Outcome.CANDIDATE, **candidate.to_details())
    continued = _entry(Outcome.CONTINUED)
    assert current_candidate([continued, opened]) == Candidate(
        **{**candidate.__dict__, "entry_id": 1}
    )
    assert current_candidate([_entry(Outcome.REJECTED), opened]) is None
    assert current_candidate([_entry(Outcome.ROLLED_BACK), continued, opened]) is None
    assert current_candidate([_entry(Outcome.KEPT)]) is None
