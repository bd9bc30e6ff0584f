"""Reading plain HTML forms, and turning a domain error into a message beside the field."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.response import Template

from server.errors import DomainError, Invalid
from server.web.render import page

MAX_FIELD = 200_000  # above every field's own limit: each form refuses its own over-long text


async def form_data(request: Request) -> dict[str, str]:  # type: ignore[type-arg]
    """The submitted fields as stripped strings (the last value wins); the CSRF field dropped."""
    form = await request.form()
    data = {key: str(value).strip() for key, value in form.items() if isinstance(value, str)}
    for key, value in data.items():
        if len(value) > MAX_FIELD:  # never cut silently: what was typed would be lost
            raise Invalid(f"This is too long: keep it to {MAX_FIELD:,} characters.", field=key, code="too_long")
    if any("\x00" in key or "\x00" in value for key, value in data.items()):
        raise Invalid("The form contained characters that cannot be stored. Please retype it.")
    data.pop("_csrf_token", None)
    return data


NOT_FOR_THE_FORM = (401, 403, 404)


def form_errors(error: DomainError, *, prefix: str = "", default: str = "form") -> dict[str, str]:
    """What a form shows beside its fields when the service refused it: messages keyed by field
    name (``prefix`` + the error's field, or ``default`` when it names none). An error the form
    cannot fix (not signed in, not allowed, not there) is raised again, to get its own page."""
    if error.status_code in NOT_FOR_THE_FORM:
        raise error
    return {prefix + (default if field == "form" else field): message for field, message in error.problems.items()}


def form_page(
    request: Request,  # type: ignore[type-arg]
    template: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A page with a form on it: ``errors`` beside its fields, ``values`` as they were sent."""
    return page(request, template, status_code=status_code, errors=errors or {}, values=values or {}, **context)


def form_message(error: DomainError) -> str:
    """The same refusal as one sentence, for a flash message above the page the form is on."""
    return " ".join(form_errors(error).values())


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
