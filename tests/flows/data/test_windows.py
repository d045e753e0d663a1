"""Windows slide with the newest week; the quickstart's weeks fall out for week 19."""

from __future__ import annotations

import pytest

from flows.data.periods import PeriodRange, WindowSpec, challenger_windows, champion_windows
from flows.errors import ConfigError, EmptyWindowError


def test_quickstart_windows_for_twenty_weeks():
    windows = challenger_windows(0, 19, WindowSpec())
    assert (windows.train, windows.test, windows.holdout) == (
        PeriodRange(3, 12),
        PeriodRange(13, 15),
        PeriodRange(16, 19),
    )
    champion = champion_windows(0, 19, WindowSpec())
    assert (champion.train, champion.test) == (PeriodRange(0, 9), PeriodRange(10, 12))


def test_windows_slide_when_new_weeks_arrive():
    windows = challenger_windows(0, 23, WindowSpec())
    assert windows.to_dict() == {"train": [7, 16], "test": [17, 19], "holdout": [20, 23]}


def test_too_little_history_names_the_weeks_needed():
    with pytest.raises(EmptyWindowError, match="needs weeks -1–8 but the data starts at week 0"):
        challenger_windows(0, 15, WindowSpec())


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_window_sizes_must_be_positive_whole_numbers(bad):
    with pytest.raises(ConfigError, match="'train'"):
        WindowSpec(train=bad)


def test_week_ranges_overlap_and_print_readably():
    assert PeriodRange(3, 12).overlaps(PeriodRange(12, 15))
    assert not PeriodRange(3, 12).overlaps(PeriodRange(13, 15))
    assert str(PeriodRange(16, 19)) == "weeks 16–19"
    with pytest.raises(ConfigError, match="end before it starts"):
        PeriodRange(5, 4)


def test_too_little_history_for_the_champion_names_the_real_first_week():
    with pytest.raises(EmptyWindowError, match="data starts at week 0 \\(weeks 0–15"):
        champion_windows(0, 15, WindowSpec())
