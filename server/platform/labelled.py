"""String enums whose members carry the words people read.

A member is declared with its value and its label, ``TAC = "tac", "Team Around the Child
meeting"``: the value is what the database, the JSON and the forms hold, ``.label`` is what a
page, a letter or an e-mail shows. Declared together, a new member cannot be added without its
words, and no separate table of labels can fall out of step with the enum.

A row's column is checked against its enum (``one_of``), so ``MeetingKind(meeting.kind).label``
always finds its member; a frozen snapshot may hold a value from before a change, so what reads
one asks ``Category.label_of(value)``, which shows a value it does not know as it is."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Self


class Labelled(StrEnum):
    """A StrEnum whose members are declared ``NAME = "value", "Label"`` and carry ``.label``."""

    _value_: str
    label: str

    if TYPE_CHECKING:
        # What callers see: calling the class finds a member by its value, as for any enum.
        def __new__(cls, value: str) -> Self: ...

    else:
        # Only the declarations reach this: each makes one member from its value and label.
        def __new__(cls, value, label):
            member = str.__new__(cls, value)
            member._value_ = value
            member.label = label
            return member

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of the member whose value is ``value``, else ``value`` itself."""
        try:
            return cls(value).label
        except ValueError:
            return value
