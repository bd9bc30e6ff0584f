"""How long each kind of text may be, and the sentence that says so.

The limits follow the columns that hold the text (a title is varchar(200)), so that over-long
input is refused with a reason beside its field before it reaches the database."""

from __future__ import annotations

from collections.abc import Mapping

NAME = 200
EMAIL = 320
TITLE = 200
PLACE = 200
REFERENCE = 64
REASON = 2000
NOTE = 5000
PASSWORD = 1024


def too_long(value: str | None, limit: int, what: str) -> str | None:
    """The message for text over its limit, or None when it fits."""
    if value is None or len(value) <= limit:
        return None
    return f"Keep {what} to {limit:,} characters or fewer (this has {len(value):,})."


def length_problems(data: Mapping[str, str], rules: Mapping[str, tuple[int, str]]) -> dict[str, str]:
    """Each field of a form over its limit, with its message: {field: (limit, "the title")}."""
    return {
        name: message for name, (limit, what) in rules.items() if (message := too_long(data.get(name), limit, what))
    }
