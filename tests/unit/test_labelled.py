"""Labelled enums: a member's value is what is stored and sent, exactly as a plain StrEnum's, and
its label is what people read; a stored value finds its member, and a value from an older
snapshot shows as it is."""

from __future__ import annotations

import msgspec
import pytest

from server.meetings.models import MeetingKind
from server.platform.checks import one_of


def test_a_member_is_its_value_and_carries_its_label() -> None:
    assert MeetingKind.TAC == "tac"
    assert MeetingKind.TAC.value == "tac"
    assert f"{MeetingKind.TAC}" == "tac"
    assert MeetingKind.TAC.label == "Team Around the Child meeting"


def test_a_stored_value_finds_its_member() -> None:
    assert MeetingKind("core_group") is MeetingKind.CORE_GROUP
    with pytest.raises(ValueError, match="party"):
        MeetingKind("party")


def test_label_of_shows_an_unknown_value_as_it_is() -> None:
    assert MeetingKind.label_of("strategy") == "Strategy discussion"
    assert MeetingKind.label_of("party") == "party"


def test_the_database_and_the_json_see_only_the_values() -> None:
    assert str(one_of("kind", MeetingKind).sqltext) == (
        "kind IN ('tac', 'initial_conference', 'review_conference', 'core_group', 'strategy', 'other')"
    )
    assert msgspec.json.encode([MeetingKind.TAC]) == b'["tac"]'
    assert msgspec.json.decode(b'"other"', type=MeetingKind) is MeetingKind.OTHER
