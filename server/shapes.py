"""What the JSON answers of every part share: times written as the API contract writes them.

Answers are msgspec Structs so that /schema describes them. A time stays the ISO 8601 string
Python writes (``+00:00``, not msgspec's ``Z``), so no answer changes its bytes by being typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Timestamp = Annotated[str, msgspec.Meta(extra_json_schema={"extra": {"format": "date-time"}})]
"""A time with its offset; ``extra`` is where Litestar takes OpenAPI keywords from."""


def iso(value: datetime) -> Timestamp:
    return value.isoformat()


def iso_or_none(value: datetime | None) -> Timestamp | None:
    return None if value is None else value.isoformat()
