"""The session cache's rules: an answer holds until the session would expire or idle out, and is
looked up again once it is ``seconds`` old, by one caller at a time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from server.people.models import Agency, Sector, User
from server.people.session_cache import SessionCache, SignedIn

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def signed_in(good_for: timedelta = timedelta(minutes=30)) -> SignedIn:
    agency = Agency(id=uuid.uuid4(), name="School", sector=Sector.EDUCATION)
    user = User(id=uuid.uuid4(), email="mo@example.test", name="Mo Member", agency_id=agency.id, is_active=True)
    user.agency = agency
    return SignedIn(user, uuid.uuid4(), NOW + good_for)


def test_an_answer_is_handed_out_as_a_fresh_copy_until_it_is_due_a_check() -> None:
    clock = Clock()
    cache = SessionCache(30, clock)
    found = signed_in()
    cache.put("cookie", found, NOW, cache.generation)
    first, second = cache.get("cookie"), cache.get("cookie")
    assert first is not None
    assert second is not None
    assert first.user is not second.user
    assert first.user is not found.user
    assert (first.user.id, first.user.name, first.user.agency.name) == (found.user.id, "Mo Member", "School")
    assert first.session_id == found.session_id
    assert not first.stale
    assert not second.stale
    assert cache.get("another cookie") is None


def test_once_seconds_old_exactly_one_caller_is_told_to_check_again() -> None:
    clock = Clock()
    cache = SessionCache(30, clock)
    cache.put("cookie", signed_in(), NOW, cache.generation)
    clock.now += 29.9
    assert not cache.get("cookie").stale  # type: ignore[union-attr]
    clock.now += 0.1
    answers = [cache.get("cookie") for _ in range(3)]
    assert [a.stale for a in answers if a] == [True, False, False]
    clock.now += 30
    assert cache.get("cookie").stale  # type: ignore[union-attr]


def test_the_answer_ends_exactly_when_the_session_would_expire_or_idle_out() -> None:
    clock = Clock()
    cache = SessionCache(30, clock)
    cache.put("cookie", signed_in(good_for=timedelta(seconds=75)), NOW, cache.generation)
    clock.now += 74.99
    assert cache.get("cookie") is not None
    clock.now += 0.01
    assert cache.get("cookie") is None
    assert cache.get("cookie") is None  # gone, not just refused once


def test_a_session_counted_from_a_later_moment_holds_for_what_is_left() -> None:
    clock = Clock()
    cache = SessionCache(30, clock)
    cache.put("cookie", signed_in(good_for=timedelta(seconds=10)), NOW + timedelta(seconds=4), cache.generation)
    clock.now += 5.99
    assert cache.get("cookie") is not None
    clock.now += 0.01
    assert cache.get("cookie") is None


def test_forget_and_clear_drop_answers_and_zero_seconds_is_no_cache() -> None:
    clock = Clock()
    cache = SessionCache(30, clock)
    cache.put("a", signed_in(), NOW, cache.generation)
    cache.put("b", signed_in(), NOW, cache.generation)
    cache.forget("a")
    cache.forget("never put")
    assert cache.get("a") is None
    assert cache.get("b") is not None
    cache.clear()
    assert cache.get("b") is None
    off = SessionCache(0, clock)
    off.put("a", signed_in(), NOW, off.generation)
    assert off.get("a") is None


def test_an_answer_read_before_access_changed_is_not_remembered() -> None:
    """A lookup that began before a sign-out cleared the cache may have read the session as
    still open: its answer must not come back into the cache."""
    cache = SessionCache(30, Clock())
    began = cache.generation
    cache.clear()  # access changed while the lookup was under way
    cache.put("cookie", signed_in(), NOW, began)
    assert cache.get("cookie") is None
    cache.put("cookie", signed_in(), NOW, cache.generation)
    assert cache.get("cookie") is not None
