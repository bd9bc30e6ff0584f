"""Turning a plain HTML form into the typed body an operation takes.

The JSON API decodes bodies with msgspec; a form arrives as strings. Converting the strings to
the same Struct (with the same limits) means a form and a JSON call are checked by one set of
rules. A refusal names the field and says what is wrong in words, not in msgspec's terms."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin

import msgspec

from server.errors import Invalid

T = TypeVar("T")

_FIELD = re.compile(r"- at `\$\.(\w+)")
_MISSING = re.compile(r"missing required field `(\w+)`")
_PLAIN = [
    (re.compile(r"missing required field"), "Fill this in."),
    (re.compile(r"length <= (\d+)"), "Keep this to {0} characters."),
    (re.compile(r"length >= 1"), "Fill this in."),
    (re.compile(r"`int` >= (\d+)"), "Enter {0} or more."),
    (re.compile(r"`int` <= (\d+)"), "Enter {0} or less."),
    (re.compile(r"Expected `int`"), "Enter a whole number."),
    (re.compile(r"Invalid UUID"), "Choose one from the list."),
    (re.compile(r"date"), "Enter a date, for example 2026-05-01."),
]
TRUE = ("true", "on", "1", "yes")


def _is_bool(annotation: Any) -> bool:
    if get_origin(annotation) is not None and bool in get_args(annotation):
        return True
    if hasattr(annotation, "__metadata__"):  # Annotated[bool, ...]
        return _is_bool(get_args(annotation)[0])
    return annotation is bool


def body_from_form(
    body_type: type[T],
    data: Mapping[str, str],
    messages: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> T:
    """The Struct ``body_type`` from form fields: a checkbox is a bool (absent is false), an empty
    field takes the field's default; ``extra`` gives fields a form spells its own way."""
    values: dict[str, Any] = dict(extra or {})
    for field in msgspec.structs.fields(body_type):  # type: ignore[arg-type]
        if field.encode_name in values:
            continue
        raw = data.get(field.encode_name)
        if _is_bool(field.type):
            values[field.encode_name] = raw in TRUE
        elif raw not in (None, ""):
            values[field.encode_name] = raw
    try:
        return msgspec.convert(values, body_type, strict=False)
    except msgspec.ValidationError as error:
        raise refusal(str(error), messages or {}) from None


def refusal(text: str, messages: Mapping[str, str]) -> Invalid:
    """A msgspec complaint as an Invalid with the field and words a person can act on."""
    found = _FIELD.search(text) or _MISSING.search(text)
    field = found.group(1) if found else None
    if field is not None and field in messages:
        return Invalid(messages[field], field=field)
    for pattern, words in _PLAIN:
        match = pattern.search(text)
        if match:
            return Invalid(words.format(*match.groups()), field=field)
    return Invalid("Check what you entered and try again.", field=field)
