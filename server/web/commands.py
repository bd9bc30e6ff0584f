"""The routes of the room's declared operations (server/meetings/room): for each one, a JSON
route under /api/meetings/{meeting_id} and a form route under /meetings/{meeting_id}/room.

Both are generated, so an operation is written once: its declaration gives the path, the method,
the body, the answer and the words. A form route answers a plain browser with a redirect back to
the room and a flash, and htmx with 204 No Content (the change reaches every browser, this one
included, through the meeting's socket) or with the refusal as a small fragment."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, get_type_hints

import msgspec
from litestar import Response
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template

from server.errors import DomainError
from server.meetings.commands import Command, RoomCaller
from server.meetings.shapes import MeetingState
from server.meetings.views import state_of
from server.web.form_bodies import body_from_form
from server.web.forms import form_data
from server.web.render import is_htmx, redirect
from server.web.types import HttpRequest

BodyT = TypeVar("BodyT")
ERRORS_TARGET = "#room-errors"
KW = inspect.Parameter.KEYWORD_ONLY


def room_path(meeting_id: uuid.UUID) -> str:
    return f"/meetings/{meeting_id}/room"


def answer_type(command: Command[Any, Any]) -> Any:
    """What the JSON route answers: the ``answer`` function's result, else a Struct the effect
    returns, else the meeting's state."""
    if command.answer is not None:
        return get_type_hints(command.answer)["return"]
    returned = get_type_hints(command.effect).get("return")
    if isinstance(returned, type) and issubclass(returned, msgspec.Struct):
        return returned
    return MeetingState


def _parameters(command: Command[Any, Any], *, form: bool) -> list[inspect.Parameter]:
    parameters = [inspect.Parameter("meeting_id", KW, annotation=uuid.UUID)]
    if command.target:
        parameters.append(inspect.Parameter(command.target, KW, annotation=uuid.UUID))
    if form:
        parameters.append(inspect.Parameter("request", KW, annotation=HttpRequest))
    elif command.takes_body and command.body_in_query:
        for field in msgspec.structs.fields(command.body):
            parameters.append(inspect.Parameter(field.encode_name, KW, annotation=field.type, default=field.default))
    elif command.takes_body and _all_optional(command.body):
        parameters.append(inspect.Parameter("data", KW, annotation=command.body | None, default=None))
    elif command.takes_body:
        parameters.append(inspect.Parameter("data", KW, annotation=command.body))
    parameters.append(inspect.Parameter("room", KW, annotation=RoomCaller))
    return parameters


def _all_optional(body: type[Any]) -> bool:
    """A body whose every field has a default may be left out altogether."""
    return all(f.required is False for f in msgspec.structs.fields(body))


def _named(handler: Any, command: Command[Any, Any], parameters: list[inspect.Parameter], returns: Any) -> Any:
    handler.__signature__ = inspect.Signature(parameters, return_annotation=returns)
    handler.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    handler.__name__ = handler.__qualname__ = command.name
    handler.__doc__ = command.summary
    return handler


def json_route(command: Command[Any, Any]) -> HTTPRouteHandler:
    target = command.target
    returns = answer_type(command)

    async def handler(**given: Any) -> Any:
        room: RoomCaller = given["room"]
        meeting_id: uuid.UUID = given["meeting_id"]
        if command.body_in_query:
            body = command.body(**{f.encode_name: given[f.encode_name] for f in msgspec.structs.fields(command.body)})
        else:
            body = given.get("data")
        result = await room.run(command, meeting_id, body, given[target] if target else None)
        if command.answer is not None:
            return command.answer(result)
        if returns is MeetingState:
            return await state_of(room.session, room.publisher, room.user, meeting_id)
        return result

    return HTTPRouteHandler(
        path=command.path,
        http_method=command.method,
        status_code=command.status_code,
        name=f"api.meeting.{command.name}",
        summary=command.summary.split(". ")[0].rstrip("."),
        description=command.summary,
        operation_id=command.name,
    )(_named(handler, command, _parameters(command, form=False), returns))


def form_route(command: Command[Any, Any]) -> HTTPRouteHandler:
    target = command.target

    async def handler(**given: Any) -> Response[Any]:
        request: HttpRequest = given["request"]
        room: RoomCaller = given["room"]
        meeting_id: uuid.UUID = given["meeting_id"]
        try:
            body = form_body(command, await form_data(request))
            await room.run(command, meeting_id, body, given[target] if target else None)
        except DomainError as error:
            return refused(request, meeting_id, error)
        if is_htmx(request):
            return Response(content=None, status_code=204)
        return redirect(request, room_path(meeting_id), flash=command.done)

    return HTTPRouteHandler(
        path=command.form_path or command.path,
        http_method="POST",
        name=f"room.{command.name}",
        include_in_schema=False,
    )(_named(handler, command, _parameters(command, form=True), Response[Any]))


def form_body(command: Command[BodyT, Any], data: Mapping[str, str]) -> BodyT | None:
    """The typed body of an operation from a plain form's fields."""
    if command.form is not None:
        return command.form(data)
    return body_from_form(command.body, data, command.messages) if command.takes_body else None


def refused(request: HttpRequest, meeting_id: uuid.UUID, error: DomainError) -> Response[Any]:
    """A refused room form: a fragment for the room's alert region (htmx), or the room again with
    the reason (a plain browser). Not being allowed at all is not a form problem: re-raised."""
    if is_htmx(request):
        return Template(
            template_name="live/_error.html",
            context={"message": error.detail},
            status_code=error.status_code,
            headers={"HX-Retarget": ERRORS_TARGET, "HX-Reswap": "innerHTML"},
        )
    if error.status_code in (401, 403, 404):
        raise error
    return redirect(request, room_path(meeting_id), flash=error.detail, category="error")


def json_routes(commands: Iterable[Command[Any, Any]]) -> list[HTTPRouteHandler]:
    return [json_route(c) for c in commands]


def form_routes(commands: Iterable[Command[Any, Any]]) -> list[HTTPRouteHandler]:
    return [form_route(c) for c in commands]
