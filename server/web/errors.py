"""Turning errors into answers: JSON for the API, a page for people, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.errors import Conflict, DomainError, Invalid, NotSignedIn, Problems, TooManyAttempts, Unavailable
from server.platform.runtime import out_of_reach
from server.web.render import page
from server.web.types import HttpRequest

log = logging.getLogger("roundtable")


def wants_json(request: HttpRequest) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/schema")


def _json(status: int, detail: str, **extra: object) -> Response[Any]:
    return Response(
        {"status_code": status, "detail": detail, **extra},
        status_code=status,
        media_type=MediaType.JSON,
    )


def domain_error(request: HttpRequest, exc: DomainError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts | Unavailable) else {}
    if wants_json(request):
        extra: dict[str, object] = {"code": exc.code}
        if exc.field:
            extra["field"] = exc.field
        if isinstance(exc, Problems):
            extra["problems"] = exc.problems
        response = _json(exc.status_code, exc.detail, **extra)
        response.headers.update(headers)
        return response
    if isinstance(exc, NotSignedIn):
        return Redirect(path=f"/sign-in?next={request.url.path}", status_code=303)
    response = page(
        request,
        "errors/error.html",
        status_code=exc.status_code,
        status=exc.status_code,
        message=exc.detail,
    )
    response.headers.update(headers)
    return response


HTTP_CODES = {
    400: "bad_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_attempts",
}


def http_error(request: HttpRequest, exc: HTTPException) -> Response[Any]:
    detail = exc.detail
    if exc.status_code >= 500:
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.detail, exc_info=exc)
        detail = "Something went wrong on our side. Nothing you sent was lost; please try again."
    code = HTTP_CODES.get(exc.status_code, "server_error" if exc.status_code >= 500 else "error")
    if isinstance(exc, ValidationException):
        detail = _validation_detail(exc) or "The request was not valid."
        code = "invalid"
    if wants_json(request):
        return _json(exc.status_code, detail, code=code)
    return page(
        request,
        "errors/error.html",
        status_code=exc.status_code,
        status=exc.status_code,
        message=detail,
    )


def _validation_detail(exc: ValidationException) -> str | None:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        key = first.get("key")
        message = first.get("message", "")
        return f"{key}: {message}" if key else str(message)
    return None


DATABASE_DOWN = Unavailable(
    "Roundtable cannot reach its database just now, so nothing could be read or saved. Nothing saved "
    "before is lost: please try again in a few seconds.",
    code="database_unavailable",
)
REDIS_DOWN = Unavailable(
    "Part of Roundtable is restarting, so this could not be done just now. Please try again in a few seconds.",
    code="redis_unavailable",
)


def outage(exc: BaseException) -> Unavailable | None:
    """The answer for an error that means a server we need is out of reach, if it is one."""
    down = out_of_reach(exc)
    if down == "database":
        return DATABASE_DOWN
    if down == "redis":
        return REDIS_DOWN
    return None


def server_error(request: HttpRequest, exc: Exception) -> Response[Any]:
    down = outage(exc)
    if down is not None:  # not our bug: one line in the log, and a 503 that says when to try again
        log.warning("%s on %s %s: %s", down.code, request.method, request.url.path, exc)
        return domain_error(request, down)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = "Something went wrong on our side. Nothing you sent was lost; please try again."
    if wants_json(request):
        return _json(HTTP_500_INTERNAL_SERVER_ERROR, detail, code="server_error")
    return page(request, "errors/error.html", status_code=500, status=500, message=detail)


def database_refusal(request: HttpRequest, exc: DBAPIError) -> Response[Any]:
    """Backstops for input that only the database can judge: a unique key taken by a request
    that raced this one (409), or text PostgreSQL cannot store (422). Anything else is ours."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(
        getattr(getattr(exc, "orig", None), "__cause__", None), "sqlstate", None
    )
    if isinstance(exc, IntegrityError) and state == "23505":
        return domain_error(request, Conflict("That already exists (someone may have just added it)."))
    if state in ("22021", "22P05"):
        return domain_error(request, Invalid("The text contains characters that cannot be stored."))
    return server_error(request, exc)  # an outage (a cut connection) among them


EXCEPTION_HANDLERS = {
    DBAPIError: database_refusal,
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: server_error,
}
