"""What the pool does with a connection before handing it out (server/platform/liveness.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.platform.liveness import TRUST_SECONDS, Verdict, verdict


@given(returned_at=st.none() | st.floats(0, 1e6), now=st.floats(0, 2e6))
def test_a_closed_connection_is_always_thrown_away(returned_at: float | None, now: float) -> None:
    assert verdict(True, returned_at, now) is Verdict.DEAD


@given(returned_at=st.floats(0, 1e6), idle=st.floats(0, 1e5))
def test_an_open_connection_is_asked_only_after_sitting_unused_too_long(returned_at: float, idle: float) -> None:
    expected = Verdict.ASK if idle > TRUST_SECONDS else Verdict.TRUST
    assert verdict(False, returned_at, returned_at + idle) is expected


def test_a_connection_just_opened_is_trusted() -> None:
    assert verdict(False, None, 1e9) is Verdict.TRUST
    assert verdict(False, 0.0, TRUST_SECONDS) is Verdict.TRUST
    assert verdict(False, 0.0, TRUST_SECONDS + 0.001) is Verdict.ASK
