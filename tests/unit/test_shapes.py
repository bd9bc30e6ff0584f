"""How answers are built from rows: same-named attributes copied, derived fields given, and the
encoded bytes those of a Struct filled by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import msgspec
import pytest

from server.actions.shapes import HistoryEntry, history_entry
from server.shapes import Timestamp, from_attributes, iso


class Answer(msgspec.Struct):
    id: int
    name: str
    at: Timestamp
    flagged: bool = False


@dataclass
class Row:
    id: int
    name: str
    at: datetime
    flagged: bool
    unrelated: str = "left out"


AT = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def test_copies_the_fields_named_alike_and_takes_the_derived_ones_as_given() -> None:
    built = from_attributes(Answer, Row(7, "Ada", AT, True), at=iso(AT))
    assert built == Answer(id=7, name="Ada", at="2026-03-04T09:30:00+00:00", flagged=True)
    assert msgspec.json.encode(built) == msgspec.json.encode(Answer(7, "Ada", iso(AT), True))


def test_a_given_field_wins_over_the_attribute_of_its_name() -> None:
    assert from_attributes(Answer, Row(7, "Ada", AT, True), name="Grace", at=iso(AT)).name == "Grace"


def test_a_field_the_source_lacks_and_nobody_gives_is_an_error() -> None:
    with pytest.raises(AttributeError):
        from_attributes(Answer, SimpleNamespace(id=1, name="x", flagged=False))


def test_a_renamed_field_is_read_by_its_python_name() -> None:
    event = SimpleNamespace(kind="status", from_value="open", to_value="done", note="", created_at=AT, actor=None)
    entry = history_entry(event)  # type: ignore[arg-type]
    assert entry == HistoryEntry("status", "open", "done", None, iso(AT), None)
    assert msgspec.json.decode(msgspec.json.encode(entry))["from"] == "open"


@dataclass(frozen=True)
class RuleRecord:
    id: int
    name: str


def test_a_dataclass_is_filled_the_same_way() -> None:
    row = Row(7, "Hand", datetime(2026, 5, 1, tzinfo=UTC), flagged=False)
    assert from_attributes(RuleRecord, row) == RuleRecord(7, "Hand")
    assert from_attributes(RuleRecord, row, name="given") == RuleRecord(7, "given")
