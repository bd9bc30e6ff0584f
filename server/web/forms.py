"""Reading plain HTML forms, and turning a domain error into a message beside the field."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request

from server.errors import DomainError, Invalid

MAX_FIELD = 10_000


async def form_data(request: Request) -> dict[str, str]:  # type: ignore[type-arg]
    """The submitted fields as stripped strings (the last value wins); the CSRF field dropped."""
    form = await request.form()
    data = {key: str(value).strip()[:MAX_FIELD] for key, value in form.items() if isinstance(value, str)}
    if any("\x00" in key or "\x00" in value for key, value in data.items()):
        raise Invalid("The form contained characters that cannot be stored. Please retype it.")
    data.pop("_csrf_token", None)
    return data


def field_errors(error: DomainError) -> dict[str, str]:
    return error.problems


def parse_uuid(value: str | None, field: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        raise Invalid(message, field=field) from None


def parse_int(value: str | None, field: str, message: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid(message, field=field) from None


def checked(data: dict[str, Any], name: str) -> bool:
    return data.get(name) in ("true", "on", "1", "yes")
