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
from server.live.refusals import refusal_of, region_holding
from server.live.viewer import viewer_flags
from server.meetings.commands import Command, RoomCaller
from server.meetings.shapes import MeetingState
from server.meetings.views import state_after, view_of
from server.web.form_bodies import body_from_form
from server.web.forms import form_data
from server.web.render import is_htmx, page, redirect
from server.web.types import HttpRequest

BodyT = TypeVar("BodyT")
ERRORS_TARGET = "#room-errors"
REFUSAL_HEADER = "X-Room-Refusal"  # names the refused form; app.js lets htmx swap the 4xx answer
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
        ran = await room.execute(command, meeting_id, body, given[target] if target else None)
        if command.answer is not None:
            return command.answer(ran.result)
        if returns is MeetingState:
            return await state_after(room, meeting_id, ran)
        return ran.result

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
        data: dict[str, str] = {}
        try:
            data = await form_data(request)
            body = form_body(command, data)
            await room.run(command, meeting_id, body, given[target] if target else None)
        except DomainError as error:
            return await refused(request, room, meeting_id, error, data)
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


async def refused(
    request: HttpRequest, room: RoomCaller, meeting_id: uuid.UUID, error: DomainError, data: Mapping[str, str]
) -> Response[Any]:
    """A refused room form, shown beside the form and its field with what was typed
    (server/live/refusals.py): for htmx the region holding the form, swapped out of band; for a
    plain browser the whole room again, 422. A refusal no form can show (the form is gone, or
    not being allowed at all) goes to the room's alert region with htmx; a plain browser gets
    the error's own page for not being allowed, else the room with the reason at the top."""
    not_for_the_form = error.status_code in (401, 403, 404)
    refusal = None if not_for_the_form else refusal_of(error, data)
    if is_htmx(request):
        if refusal is not None:
            view = await view_of(room.session, room.publisher, room.user, meeting_id)
            env = request.app.template_engine.engine  # type: ignore[union-attr]
            html = region_holding(env, view, refusal, str(request.scope.get("csrf_token", "")))
            if html is not None:
                return Response(
                    content=html,
                    media_type="text/html",
                    status_code=error.status_code,
                    headers={"HX-Reswap": "none", REFUSAL_HEADER: refusal.form},
                )
        return Template(
            template_name="live/_error.html",
            context={"message": error.detail},
            status_code=error.status_code,
            headers={"HX-Retarget": ERRORS_TARGET, "HX-Reswap": "innerHTML"},
        )
    if not_for_the_form or error.status_code >= 500:
        raise error
    view = await view_of(room.session, room.publisher, room.user, meeting_id)
    return page(
        request,
        "live/room.html",
        status_code=error.status_code,
        view=view,
        viewer_flags=viewer_flags(view, room.user.id),
        refusal=refusal,
        refused=None if refusal is not None else error.detail,
    )


def json_routes(commands: Iterable[Command[Any, Any]]) -> list[HTTPRouteHandler]:
    return [json_route(c) for c in commands]


def form_routes(commands: Iterable[Command[Any, Any]]) -> list[HTTPRouteHandler]:
    return [form_route(c) for c in commands]
