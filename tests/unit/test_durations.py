"""Speaking time and turn clocks as the room, the minutes and their PDF show them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.timeutil import clock, duration


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "0 s"),
        (0, "0 s"),
        (0.2, "under 1 s"),
        (0.5, "under 1 s"),  # rounds to nothing, but someone did speak
        (0.6, "1 s"),
        (45, "45 s"),
        (59.4, "59 s"),
        (59.6, "1 min 00 s"),
        (245, "4 min 05 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 00 min"),
        (3720, "1 h 02 min"),
        (36000, "10 h 00 min"),
    ],
)
def test_speaking_time_reads_as_words(seconds: float | None, words: str) -> None:
    assert duration(seconds) == words


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "0:00"), (0, "0:00"), (-3, "0:00"), (5, "0:05"), (59.6, "1:00"), (245, "4:05"), (4320, "72:00")],
)
def test_a_turn_clock_reads_minutes_and_seconds(seconds: float | None, shown: str) -> None:
    assert clock(seconds) == shown


WORDS = re.compile(r"(\d+) s|(\d+) min (\d\d) s|(\d+) h (\d\d) min")


@given(st.floats(min_value=0.51, max_value=10 * 24 * 3600, allow_nan=False))
def test_the_words_say_the_time_to_the_unit_they_show(seconds: float) -> None:
    """Seconds up to an hour, minutes after: never off by more than the unit shown."""
    found = WORDS.fullmatch(duration(seconds))
    assert found is not None
    s, m, ms, h, hm = found.groups()
    if s is not None:
        assert int(s) == round(seconds) < 60
    elif m is not None:
        assert 0 < int(m) < 60
        assert int(m) * 60 + int(ms) == round(seconds)
    else:
        assert int(h) * 3600 + int(hm) * 60 <= round(seconds) < int(h) * 3600 + (int(hm) + 1) * 60


@given(st.floats(min_value=0, max_value=10 * 24 * 3600, allow_nan=False))
def test_the_clock_is_the_rounded_seconds(seconds: float) -> None:
    minutes, secs = clock(seconds).split(":")
    assert len(secs) == 2
    assert int(minutes) * 60 + int(secs) == round(seconds)
