"""The Litestar application: plugins, middleware and the routes gathered from every part."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from server.cases.api import CasesApi
from server.config import REPO_ROOT, load_settings
from server.people.api import PeopleApi, SessionApi
from server.runtime import Runtime
from server.timeutil import set_zone
from server.web import templating
from server.web.deps import DEPENDENCIES
from server.web.errors import EXCEPTION_HANDLERS
from server.web.render import clear_shown_flash
from server.web.security import AuthMiddleware, CsrfMiddleware, SecurityHeadersMiddleware


class JsonSchemaAtRoot(OpenAPIRenderPlugin):
    """Serve the OpenAPI document itself at /schema, so integrators fetch one well-known URL."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type="application/vnd.oai.openapi+json")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        return self.render_json(request, openapi_schema)


def route_handlers() -> Sequence[ControllerRouterHandler]:
    from server.cases.pages import CasePages
    from server.meetings.pages import MeetingPages
    from server.people.pages import AdminPages, SignInPages

    static = create_static_files_router(path="/static", directories=[REPO_ROOT / "static"], name="static")
    return [
        SessionApi,
        PeopleApi,
        CasesApi,
        SignInPages,
        AdminPages,
        CasePages,
        MeetingPages,
        static,
    ]


def create_app(runtime: Runtime, *, extra_lifespan: Sequence[Any] = ()) -> Litestar:
    """Build the app around a runtime (settings, database, Redis) owned by the caller."""
    set_zone(runtime.settings.chase.timezone)
    return Litestar(
        route_handlers=route_handlers(),
        dependencies=DEPENDENCIES,
        middleware=[SecurityHeadersMiddleware, AuthMiddleware, CsrfMiddleware],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_send=[clear_shown_flash],
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
        ),
        state={"runtime": runtime},  # type: ignore[arg-type]
        lifespan=list(extra_lifespan),
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for `roundtable serve` workers: each builds its own runtime from the environment.

    With no database configured, the embedded servers for the data folder are used (the parent
    process has started them; this only finds them)."""
    from server import embedded

    settings = load_settings()
    if settings.embedded:
        servers = embedded.ensure_running(settings.data_dir)
        database_url, redis_url = servers.database_url, servers.redis_url
    else:
        assert settings.database_url is not None and settings.redis_url is not None
        database_url, redis_url = settings.database_url, settings.redis_url
    runtime = Runtime(settings, database_url, redis_url)

    @asynccontextmanager
    async def close_runtime(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await runtime.close()

    return create_app(runtime, extra_lifespan=[close_runtime])
