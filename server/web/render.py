"""Rendering pages: every template gets the signed-in user, the CSRF token and flash messages."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

FLASH_KEY = "_flashes"


def page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Template:  # type: ignore[type-arg]
    context.setdefault("current_user", request.scope.get("user"))
    context.setdefault("csrf_token", request.scope.get("csrf_token", ""))
    context.setdefault("flashes", _take_flashes(request))
    context.setdefault("request", request)
    return Template(template_name=template, context=context, status_code=status_code)


def is_htmx(request: Request) -> bool:  # type: ignore[type-arg]
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, path: str, *, flash: str | None = None, category: str = "success") -> Redirect:  # type: ignore[type-arg]
    """A 303 after a form post; for htmx, a client-side redirect so the whole page loads."""
    response = Redirect(path=path, status_code=303)
    if flash:
        value = base64.urlsafe_b64encode(f"{category}:{flash[:300]}".encode()).decode()
        response.set_cookie(FLASH_KEY, value, path="/", httponly=True, samesite="lax", max_age=60)
    if is_htmx(request):
        response.headers["HX-Redirect"] = path
    return response


def _take_flashes(request: Request) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    raw = request.cookies.get(FLASH_KEY)
    if not raw:
        return []
    request.scope["clear_flash"] = True  # type: ignore[typeddict-unknown-key]
    try:
        decoded = base64.urlsafe_b64decode(raw.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return []
    category, _, message = decoded.partition(":")
    return [(category if category in ("success", "info", "error") else "info", message)]


async def clear_shown_flash(message: Message, scope: Scope) -> None:
    """before_send hook: a flash is shown once, then its cookie is dropped."""
    if message["type"] == "http.response.start" and scope.get("clear_flash"):
        MutableScopeHeaders.from_message(message).add(
            "set-cookie", f"{FLASH_KEY}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        )
