"""Domain errors raised by services; the app turns each into one HTTP status with a reason and
a machine-readable code, so an integration can tell one 409 from another (``stale_version``
from ``hand_already_up``) without parsing the sentence meant for people."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code or self.default_code


class NotSignedIn(DomainError):
    default_code = "not_signed_in"
    status_code = 401


class Forbidden(DomainError):
    default_code = "forbidden"
    status_code = 403


class NotFound(DomainError):
    default_code = "not_found"
    """Unknown, or not visible to this user: the two are deliberately indistinguishable."""

    status_code = 404


class Conflict(DomainError):
    default_code = "conflict"
    status_code = 409


class Invalid(DomainError):
    default_code = "invalid"
    status_code = 422


class TooManyAttempts(DomainError):
    default_code = "too_many_attempts"
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
