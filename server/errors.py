"""Domain errors raised by services; the app turns each into one HTTP status with a reason and
a machine-readable code, so an integration can tell one 409 from another (``stale_version``
from ``hand_already_up``) without parsing the sentence meant for people."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code or self.default_code

    @property
    def problems(self) -> dict[str, str]:
        """Each field's message (a form shows it beside the field); "form" when no field is named."""
        return {self.field or "form": self.detail}


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


class Problem(str):
    """A problem's words with the code an integration tells it by; a plain string everywhere else."""

    code: str

    def __new__(cls, words: str, code: str) -> Problem:
        problem = super().__new__(cls, words)
        problem.code = code
        return problem


class Problems(Invalid):
    """Several fields wrong at once, so that a form lists every problem in one go. The API answers
    with every message in ``detail``, the first field in ``field`` and all of them in ``problems``."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        assert problems, "Problems needs at least one problem"
        first = next(iter(problems))
        super().__init__(" ".join(problems.values()), field=first, code=getattr(problems[first], "code", None))
        self._problems = dict(problems)

    @property
    def problems(self) -> dict[str, str]:
        return dict(self._problems)


class Unavailable(DomainError):
    """Something this needs (the database, Redis) is out of reach for a moment: 503, with how
    long to wait before trying again."""

    default_code = "unavailable"
    status_code = 503

    def __init__(self, detail: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after
