"""Turning errors into answers: JSON for the API, a page for people, never a stack trace."""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.errors import DomainError, NotSignedIn, TooManyAttempts
from server.web.render import page

log = logging.getLogger("roundtable")


def wants_json(request: Request) -> bool:  # type: ignore[type-arg]
    return request.url.path.startswith("/api/") or request.url.path.startswith("/schema")


def _json(status: int, detail: str, **extra: object) -> Response:  # type: ignore[type-arg]
    return Response(
        {"status_code": status, "detail": detail, **extra},
        status_code=status,
        media_type=MediaType.JSON,
    )


def domain_error(request: Request, exc: DomainError) -> Response:  # type: ignore[type-arg]
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else {}
    if wants_json(request):
        extra = {"field": exc.field} if exc.field else {}
        response = _json(exc.status_code, exc.detail, **extra)
        response.headers.update(headers)
        return response
    if isinstance(exc, NotSignedIn):
        return Redirect(path=f"/sign-in?next={request.url.path}", status_code=303)
    return page(
        request,
        "errors/error.html",
        status_code=exc.status_code,
        status=exc.status_code,
        message=exc.detail,
    )  # type: ignore[return-value]


def http_error(request: Request, exc: HTTPException) -> Response:  # type: ignore[type-arg]
    detail = exc.detail
    if exc.status_code >= 500:
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.detail, exc_info=exc)
        detail = "Something went wrong on our side. Nothing you sent was lost; please try again."
    if isinstance(exc, ValidationException):
        detail = _validation_detail(exc) or "The request was not valid."
    if wants_json(request):
        return _json(exc.status_code, detail)
    return page(
        request,
        "errors/error.html",
        status_code=exc.status_code,
        status=exc.status_code,
        message=detail,
    )  # type: ignore[return-value]


def _validation_detail(exc: ValidationException) -> str | None:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        key = first.get("key")
        message = first.get("message", "")
        return f"{key}: {message}" if key else str(message)
    return None


def server_error(request: Request, exc: Exception) -> Response:  # type: ignore[type-arg]
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = "Something went wrong on our side. Nothing you sent was lost; please try again."
    if wants_json(request):
        return _json(HTTP_500_INTERNAL_SERVER_ERROR, detail)
    return page(request, "errors/error.html", status_code=500, status=500, message=detail)  # type: ignore[return-value]


EXCEPTION_HANDLERS = {
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: server_error,
}
