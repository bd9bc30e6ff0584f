"""The request class: a body that cannot be read is the caller's mistake (400), never a 500."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException

NUL = "\x00"


def contains_nul(value: Any) -> bool:
    """PostgreSQL cannot store NUL in text; such input is refused before it reaches a query."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


class BodyCheckedRequest(Request):  # type: ignore[type-arg]
    async def json(self) -> Any:
        try:
            value = await super().json()
        except (RecursionError, UnicodeDecodeError, ValueError):
            raise ClientException("The body is not valid JSON.") from None
        if contains_nul(value):
            raise ClientException("Text cannot contain NUL characters.")
        return value
