"""Domain errors raised by services; the app turns each into one HTTP status with a reason and
a machine-readable code, so an integration can tell one 409 from another (``stale_version``
from ``hand_already_up``) without parsing the sentence meant for people."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A refusal a person or an integration can act on. Each kind names its HTTP status and
    default code in its class line: ``class Forbidden(DomainError, status=403, code="forbidden")``."""

    status_code = 400
    default_code = "bad_request"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.default_code = code

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code or self.default_code

    @property
    def problems(self) -> dict[str, str]:
        """Each field's message (a form shows it beside the field); "form" when no field is named."""
        return {self.field or "form": self.detail}


class NotSignedIn(DomainError, status=401, code="not_signed_in"):
    """Nobody is signed in, or the session or token has run out."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """Signed in, but this person may not do that."""


class NotFound(DomainError, status=404, code="not_found"):
    """Unknown, or not visible to this user: the two are deliberately indistinguishable."""


class Conflict(DomainError, status=409, code="conflict"):
    """Not now: the thing is in a state that does not allow it."""


class Invalid(DomainError, status=422, code="invalid"):
    """What was sent is wrong; ``field`` says where."""


class RetryLater(DomainError):
    """Refused for a while: the answer says how many seconds to wait (``Retry-After``)."""

    def __init__(self, detail: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class TooManyAttempts(RetryLater, status=429, code="too_many_attempts"):
    """Too many tries in a short time (signing in, say)."""


class Unavailable(RetryLater, status=503, code="unavailable"):
    """Something this needs (the database, Redis) is out of reach for a moment."""


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
