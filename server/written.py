"""Checking what a person wrote or chose in a request, with the words and the code that say
what is wrong, so each operation states its rule once instead of spelling out the test."""

from __future__ import annotations

from enum import StrEnum

from server.errors import Invalid


def written(text: str | None, *, most: int, field: str, code: str, words: str) -> str:
    """``text`` without surrounding spaces; Invalid(``words``) when that leaves nothing or more
    than ``most`` characters."""
    cleaned = (text or "").strip()
    if not cleaned or len(cleaned) > most:
        raise Invalid(words, field=field, code=code)
    return cleaned


def chosen(value: str, choices: type[StrEnum], *, field: str, code: str, words: str) -> None:
    """Invalid(``words``) unless ``value`` is one of ``choices``."""
    if value not in choices.__members__.values():
        raise Invalid(words, field=field, code=code)
