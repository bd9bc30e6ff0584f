"""What the JSON answers of every part share: times written as the API contract writes them, and
answers built from the rows and records whose names they share.

Answers are msgspec Structs so that /schema describes them. A time stays the ISO 8601 string
Python writes (``+00:00``, not msgspec's ``Z``), so no answer changes its bytes by being typed.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec

Timestamp = Annotated[str, msgspec.Meta(extra_json_schema={"extra": {"format": "date-time"}})]
"""A time with its offset; ``extra`` is where Litestar takes OpenAPI keywords from."""

S = TypeVar("S")


def iso(value: datetime) -> Timestamp:
    return value.isoformat()


def iso_or_none(value: datetime | None) -> Timestamp | None:
    return None if value is None else value.isoformat()


def from_attributes(shape: type[S], source: object, **computed: object) -> S:
    """``shape`` (a msgspec Struct or a dataclass) with each field read from ``source``'s
    attribute of the same name, except those given in ``computed``: most fields are a column
    under its own name, so only the fields that are derived (times, nested answers, flags) are
    written out where an answer or a rule's record is built.

    Unlike ``msgspec.convert(..., from_attributes=True)`` it neither validates nor converts the
    values (a Struct called by hand does not either), so it stays cheap on the live room's path."""
    copied = {name: getattr(source, name) for name in _fields(shape) if name not in computed}
    return shape(**copied, **computed)


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _fields(shape: type[Any]) -> tuple[str, ...]:
    found = _FIELDS.get(shape)
    if found is None:
        if dataclasses.is_dataclass(shape):
            found = tuple(field.name for field in dataclasses.fields(shape))
        else:
            found = tuple(shape.__struct_fields__)
        _FIELDS[shape] = found
    return found
