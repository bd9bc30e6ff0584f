"""Posted page forms (server/web/form_posts.py): done, a redirect with a flash; refused, the page
again with the problems beside their fields, or back with the reason for a button."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Response, post

from server.errors import DomainError, Forbidden, Invalid, Problems
from server.web.form_posts import Fields, press_button, submit_form
from server.web.render import FLASH_KEY
from server.web.types import HttpRequest

shown: list[dict[str, Any]] = []


async def show_again(*, status_code: int, errors: dict[str, str], values: Fields) -> Response[Any]:
    shown.append({"errors": errors, "values": values})
    return Response({"errors": errors, "values": values}, status_code=status_code)


async def refuse(data: Fields) -> Response[Any]:
    """Refuses what the form's ``refuse`` field names, else is done."""
    if data.get("refuse") == "invalid":
        raise Invalid("Fill this in.", field="email")
    if data.get("refuse") == "forbidden":
        raise Forbidden("Not yours.")
    if data.get("refuse") == "problems":
        raise Problems({"name": "Give a name.", "form": "Check the form."})
    return Response({"done": data}, status_code=200)


@post("/form")
async def form(request: HttpRequest) -> Response[Any]:
    return await submit_form(request, refuse, show_again, prefix="invite_", default="note")


@post("/password")
async def password(request: HttpRequest) -> Response[Any]:
    return await submit_form(request, refuse, show_again, keep_typed=False)


@post("/named")
async def named(request: HttpRequest) -> Response[Any]:
    return await submit_form(request, refuse, show_again, errors=lambda error, data: {data["refuse"]: error.detail})


async def member(refused: bool) -> str:
    if refused:
        raise Invalid("Choose a role.", field="role")
    return "Ann"


@post("/button")
async def button(request: HttpRequest, refused: bool = False) -> Response[Any]:
    return await press_button(request, "/back", member(refused), lambda name: f"{name} is now chair.")


def domain_error(_: Any, exc: DomainError) -> Response[Any]:
    return Response({"detail": exc.detail}, status_code=exc.status_code)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Litestar([form, password, named, button], exception_handlers={DomainError: domain_error}, debug=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as test_client:
        shown.clear()
        yield test_client


def flash(response: httpx.Response) -> str:
    return base64.urlsafe_b64decode(response.cookies[FLASH_KEY]).decode()


async def test_a_form_that_is_done_answers_as_its_work_says(client: httpx.AsyncClient) -> None:
    answer = await client.post("/form", data={"email": " ann@example.org "})
    assert answer.status_code == 200
    assert answer.json() == {"done": {"email": "ann@example.org"}}
    assert shown == []


async def test_a_refused_form_is_shown_again_with_its_problems_and_what_was_typed(client: httpx.AsyncClient) -> None:
    answer = await client.post("/form", data={"refuse": "invalid", "email": "ann"})
    assert answer.status_code == 422
    assert answer.json() == {
        "errors": {"invite_email": "Fill this in."},
        "values": {"refuse": "invalid", "email": "ann"},
    }

    answer = await client.post("/form", data={"refuse": "problems"})
    assert answer.json()["errors"] == {"invite_name": "Give a name.", "invite_note": "Check the form."}


async def test_a_password_form_never_sends_back_what_was_typed(client: httpx.AsyncClient) -> None:
    answer = await client.post("/password", data={"refuse": "invalid", "password": "secret"})
    assert answer.status_code == 422
    assert answer.json() == {"errors": {"email": "Fill this in."}, "values": {}}


async def test_a_form_may_name_its_fields_its_own_way(client: httpx.AsyncClient) -> None:
    answer = await client.post("/named", data={"refuse": "invalid"})
    assert answer.json()["errors"] == {"invalid": "Fill this in."}


async def test_a_refusal_no_form_can_mend_gets_its_own_answer(client: httpx.AsyncClient) -> None:
    answer = await client.post("/form", data={"refuse": "forbidden"})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Not yours."}
    assert shown == []


async def test_a_button_goes_back_with_what_was_done_or_why_not(client: httpx.AsyncClient) -> None:
    done = await client.post("/button")
    assert (done.status_code, done.headers["location"]) == (303, "/back")
    assert flash(done) == "success:Ann is now chair."

    refused = await client.post("/button", params={"refused": "true"})
    assert (refused.status_code, refused.headers["location"]) == (303, "/back")
    assert flash(refused) == "error:Choose a role."
