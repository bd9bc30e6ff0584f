"""Answering a posted page form: done, it redirects with a flash; refused, it says why.

Page forms come in two kinds. A form with fields shows the page it is on again (422) with each
problem beside its field and what was typed kept, so nothing is lost. A button with nothing to
type (remove, cancel, approve) goes back to its page with the reason as a flash. A refusal no
form can mend (not signed in, not allowed, not there) is raised again to get its own page
(``form_errors``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from litestar import Response
from litestar.response import Redirect

from server.errors import DomainError
from server.web.forms import form_data, form_errors, form_message
from server.web.render import redirect
from server.web.types import HttpRequest

T = TypeVar("T")
Fields = dict[str, str]
FieldErrors = Callable[[DomainError, Fields], dict[str, str]]


class ShowAgain(Protocol):
    """The page a form is on, built again around a refused post."""

    def __call__(self, *, status_code: int, errors: dict[str, str], values: Fields) -> Awaitable[Response[Any]]: ...


async def submit_form(
    request: HttpRequest,
    work: Callable[[Fields], Awaitable[Response[Any]]],
    show_again: ShowAgain,
    *,
    prefix: str = "",
    default: str = "form",
    errors: FieldErrors | None = None,
    keep_typed: bool = True,
) -> Response[Any]:
    """Read the form and do its ``work``, which answers (a redirect, as a rule). If the service
    refuses, the page is shown again with the problems beside their fields (``form_errors`` with
    ``prefix`` and ``default``, or ``errors`` for a form that names its fields its own way) and
    what was typed, unless ``keep_typed`` is false: a password is never sent back."""
    data = await form_data(request)
    try:
        return await work(data)
    except DomainError as error:
        found = errors(error, data) if errors else form_errors(error, prefix=prefix, default=default)
        return await show_again(status_code=422, errors=found, values=data if keep_typed else {})


async def press_button(request: HttpRequest, back: str, work: Awaitable[T], done: str | Callable[[T], str]) -> Redirect:
    """A button with nothing to type: back to its page with what was done, or with why not."""
    try:
        result = await work
    except DomainError as error:
        return redirect(request, back, flash=form_message(error), category="error")
    return redirect(request, back, flash=done if isinstance(done, str) else done(result))
