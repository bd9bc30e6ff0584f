"""The Litestar application: plugins, middleware and the routes gathered from every part."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.enums import OpenAPIMediaType
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from server.actions.api import ActionsApi
from server.actions.pages import ActionPages
from server.cases.api import CasesApi
from server.cases.pages import CasePages
from server.conference.api import ConferenceApi
from server.config import REPO_ROOT, load_settings
from server.insights.api import InsightsApi
from server.insights.pages import InsightsPages
from server.live.broker import ResilientRedisBackend
from server.live.inbox import inbox_socket
from server.live.pages import RoomPages
from server.live.socket import meeting_socket
from server.meetings.api import MeetingsApi
from server.meetings.pages import MeetingPages
from server.meetings.schedule_api import ScheduleApi, reschedule_meeting
from server.meetings.schedule_pages import SchedulePages
from server.minutes.api import LetterApi, MinutesApi
from server.minutes.pages import MinutesPages
from server.notify.pages import OutboxPages
from server.people.api import PeopleApi, SessionApi
from server.people.pages import AccountPages, AdminPages, SignInPages
from server.platform.endpoints import find
from server.platform.runtime import Runtime
from server.reports.api import ReportsApi
from server.reports.pages import ReportPages
from server.timeutil import set_zone
from server.web import templating
from server.web.deps import DEPENDENCIES
from server.web.errors import EXCEPTION_HANDLERS
from server.web.render import clear_shown_flash
from server.web.requests import BodyCheckedRequest
from server.web.security import AuthMiddleware, CsrfMiddleware, security_headers
from server.webhooks.api import WebhooksApi
from server.webhooks.pages import WebhookPages


class JsonSchemaAtRoot(OpenAPIRenderPlugin):
    """Serve the OpenAPI document itself at /schema, so integrators fetch one well-known URL."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type=OpenAPIMediaType.OPENAPI_JSON)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        return self.render_json(request, openapi_schema)


def route_handlers() -> Sequence[ControllerRouterHandler]:
    static = create_static_files_router(path="/static", directories=[REPO_ROOT / "static"], name="static")
    handlers: list[ControllerRouterHandler] = [
        SessionApi,
        PeopleApi,
        CasesApi,
        ConferenceApi,
        MeetingsApi,
        reschedule_meeting,  # joins MeetingsApi's path, so it is listed after it
        ScheduleApi,
        MinutesApi,
        LetterApi,
        ActionsApi,
        ReportsApi,
        meeting_socket,
        inbox_socket,
        SignInPages,
        AdminPages,
        OutboxPages,
        AccountPages,
        ActionPages,
        CasePages,
        MeetingPages,
        RoomPages,
        SchedulePages,
        MinutesPages,
        ReportPages,
        # webhooks
        WebhooksApi,
        WebhookPages,
        # partnership insights
        InsightsApi,
        InsightsPages,
        static,
    ]
    return handlers


def channels_plugin(backend: ChannelsBackend) -> ChannelsPlugin:
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)


def channels_backend(runtime: Runtime) -> ChannelsBackend:
    """Redis pub/sub between web processes whenever Redis is configured (the embedded default
    included), surviving Redis restarts; in memory for a single process without Redis."""
    return ResilientRedisBackend(runtime.redis) if runtime.redis_url else MemoryChannelsBackend()


def tune_gc() -> None:
    """A web process holds hundreds of thousands of long-lived objects (modules, and per open
    socket its protocol, scope, tasks and coroutine frames), and every change allocates thousands
    of short-lived ones (ORM rows, template output) that live across a few awaits. With the
    default thresholds (700, 10, 10) enough of those get promoted that a full collection runs
    every ~20 s under load and scans the whole heap: 0.15-0.5 s with 2,000 sockets, a stall for
    every socket. Freeze what start-up made (it is never garbage), and collect the young
    generation every 5,000 net allocations rather than 700, so that transient objects die by
    reference counting before they are promoted; full collections become rare (measured: none
    in a run of 1,200 changes; young collections ~2 ms, middle ones ~30 ms, GC time halved)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 20, 100)


def live_lifespan(runtime: Runtime, channels: ChannelsPlugin, backend: ChannelsBackend) -> Any:
    """Start the live hub (and, where asked, the worker) with the app; stop them with it."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from server.live.hub import LiveHub

        broker = backend if isinstance(backend, ResilientRedisBackend) else None
        hub = LiveHub(runtime, channels, app.template_engine.engine, broker)  # type: ignore[union-attr]
        app.state["live"] = hub
        await hub.start()
        worker = None
        if os.environ.get("ROUNDTABLE_IN_PROCESS_WORKER") == "1":
            from server.worker import run_in_process

            worker = await run_in_process(runtime)
        tune_gc()
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await hub.stop()

    return lifespan


def create_app(runtime: Runtime, *, extra_lifespan: Sequence[Any] = ()) -> Litestar:
    """Build the app around a runtime (settings, database, Redis) owned by the caller."""
    set_zone(runtime.settings.chase.timezone)
    backend = channels_backend(runtime)
    channels = channels_plugin(backend)
    return Litestar(
        route_handlers=route_handlers(),
        dependencies=DEPENDENCIES,
        middleware=[AuthMiddleware, CsrfMiddleware],
        request_class=BodyCheckedRequest,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_send=[security_headers, clear_shown_flash],
        template_config=TemplateConfig(
            directory=REPO_ROOT / "web" / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=templating.configure,
        ),
        openapi_config=OpenAPIConfig(
            title="Roundtable",
            version="1",
            description="Live multi-agency meetings around a child, and the action plan after them.",
            path="/schema",
            render_plugins=[JsonSchemaAtRoot()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="A personal API token from POST /api/tokens."
                    ),
                    "session": SecurityScheme(
                        type="apiKey",
                        name="rt_session",
                        security_scheme_in="cookie",
                        description="The browser session from POST /api/session; state changes also need "
                        "the csrftoken cookie echoed in the x-csrftoken header.",
                    ),
                }
            ),
            security=[{"bearer": []}, {"session": []}],
        ),
        state={"runtime": runtime},  # type: ignore[arg-type]
        plugins=[channels],
        lifespan=[live_lifespan(runtime, channels, backend), *extra_lifespan],
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for `roundtable serve` workers: each builds its own runtime from the environment.

    With no database configured, the embedded servers for the data folder are used: the parent
    process started them, so this only finds them (and leaves them running)."""
    settings = load_settings()
    found = find(settings)
    runtime = Runtime(settings, found.database_url, found.redis_url)

    @asynccontextmanager
    async def close_runtime(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await runtime.close()

    return create_app(runtime, extra_lifespan=[close_runtime])
