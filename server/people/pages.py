"""Pages: signing in and out, and the administration of agencies and users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from server import limits
from server.audit.service import Actor
from server.config import Settings
from server.errors import DomainError, TooManyAttempts, Unavailable
from server.limits import length_problems
from server.live.events import Publisher
from server.people import admin, service
from server.people.api import require_admin
from server.people.models import Sector, User
from server.people.passwords import MAX_LENGTH
from server.web.forms import checked, form_data, form_errors, form_page, parse_uuid
from server.web.render import page, redirect
from server.web.security import SESSION_COOKIE, Auth, client_ip
from server.web.sessions import end_browser_session, set_session_cookie
from server.web.types import HttpRequest

PASSWORD_LIMIT = (limits.PASSWORD, "the password")
NEW_PASSWORD_LIMITS = dict.fromkeys(("password", "new_password", "confirm"), (MAX_LENGTH, "the password"))
SIGN_IN_LIMITS = {"email": (limits.EMAIL, "the e-mail address"), "password": PASSWORD_LIMIT}


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a link send people elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class SignInPages(Controller):
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(self, request: HttpRequest, next: str | None = None) -> Template:
        return page(request, "auth/sign_in.html", errors={}, email="", next=_safe_next(next))

    @post("/sign-in")
    async def sign_in(
        self,
        request: HttpRequest,
        db: AsyncSession,
        redis: Redis,
        settings: Settings,
        auth: Auth | None,
    ) -> Response[Any]:
        data = await form_data(request)
        email, target = data.get("email", ""), _safe_next(data.get("next"))
        if problems := length_problems(data, SIGN_IN_LIMITS):
            return page(request, "auth/sign_in.html", status_code=422, errors=problems, email=email, next=target)
        try:
            _, token = await service.sign_in(
                db,
                redis,
                settings,
                email,
                data.get("password", ""),
                ip=client_ip(request.scope),
                user_agent=request.headers.get("user-agent"),
                replaces=auth.session_id if auth else None,
            )
        except (TooManyAttempts, Unavailable) as error:
            return page(
                request,
                "auth/sign_in.html",
                status_code=error.status_code,
                errors={"form": error.detail},  # about signing in now, not about what was typed
                email=email,
                next=target,
            )
        except DomainError as error:
            return page(
                request,
                "auth/sign_in.html",
                status_code=400,
                errors={"email": error.detail},
                email=email,
                next=target,
            )
        response = redirect(request, target)
        set_session_cookie(response, token, settings)
        return response

    @post("/sign-out")
    async def sign_out(self, request: HttpRequest, db: AsyncSession, actor: Actor, auth: Auth | None) -> Response[Any]:
        if auth is not None:
            await end_browser_session(request, db, actor, auth)
        response = redirect(request, "/sign-in", flash="You have signed out.", category="info")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False

    async def _render(self, request: HttpRequest, db: AsyncSession, status_code: int = 200, **context: Any) -> Template:
        return form_page(
            request,
            "admin/index.html",
            status_code=status_code,
            agencies=await service.list_agencies(db),
            users=await service.list_users(db),
            sectors=[(s.value, s.value.replace("_", " ").capitalize()) for s in Sector],
            **context,
        )

    @get("/")
    async def index(self, request: HttpRequest, db: AsyncSession, user: User) -> Template:
        require_admin(user)
        return await self._render(request, db)

    @post("/agencies")
    async def create_agency(self, request: HttpRequest, db: AsyncSession, user: User, actor: Actor) -> Response[Any]:
        require_admin(user)
        data = await form_data(request)
        try:
            agency = await service.create_agency(db, actor, data.get("agency_name", ""), data.get("agency_sector", ""))
        except DomainError as error:
            errors = form_errors(error, prefix="agency_")
            return await self._render(request, db, 422, form="agency", errors=errors, values=data)
        return redirect(request, "/admin", flash=f"Agency {agency.name} added.")

    @post("/users")
    async def create_user(self, request: HttpRequest, db: AsyncSession, user: User, actor: Actor) -> Response[Any]:
        require_admin(user)
        data = await form_data(request)
        try:
            agency_id = parse_uuid(data.get("agency_id"), "agency_id", "Choose an agency from the list.")
            new = service.NewUser(
                data.get("email", ""),
                data.get("name", ""),
                agency_id,
                data.get("password") or None,
                is_admin=checked(data, "is_admin"),
                can_see_insights=checked(data, "can_see_insights"),
            )
            created = await service.create_user(db, actor, new)
        except DomainError as error:
            return await self._render(request, db, 422, form="user", errors=form_errors(error), values=data)
        return redirect(request, "/admin", flash=f"{created.name} can now sign in.")

    # --- one person ------------------------------------------------------------------------

    async def _person(
        self, request: HttpRequest, db: AsyncSession, user_id: UUID, status_code: int = 200, **context: object
    ) -> Template:
        person = await service.get_user(db, user_id)
        context.setdefault("errors", {})
        context.setdefault("values", {})
        return page(
            request,
            "admin/person.html",
            status_code=status_code,
            person=person,
            agencies=await service.list_agencies(db),
            **context,
        )

    @get("/people/{user_id:uuid}")
    async def person(self, request: HttpRequest, user_id: UUID, db: AsyncSession, user: User) -> Template:
        require_admin(user)
        return await self._person(request, db, user_id)

    @post("/people/{user_id:uuid}")
    async def change_person(
        self, request: HttpRequest, user_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> Response[Any]:
        require_admin(user)
        data = await form_data(request)
        try:
            agency_id = parse_uuid(data.get("agency_id"), "agency_id", "Choose an agency from the list.")
            change = admin.PersonChange(
                name=data.get("name", ""),
                email=data.get("email", ""),
                agency_id=agency_id,
                is_admin=checked(data, "is_admin"),
                can_see_insights=checked(data, "can_see_insights"),
            )
            person = await admin.change_person(db, actor, user, user_id, change)
        except DomainError as error:
            if error.status_code in (403, 404):
                raise
            return await self._person(request, db, user_id, 422, errors=form_errors(error), values=data)
        await publisher.access_changed()  # a new agency or rights take effect on open pages at once
        return redirect(request, f"/admin/people/{user_id}", flash=f"{person.name}'s details are saved.")

    @post("/people/{user_id:uuid}/deactivate")
    async def deactivate(
        self, request: HttpRequest, user_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> Response[Any]:
        return await self._access_change(
            request,
            user,
            user_id,
            publisher,
            lambda: admin.set_active(db, actor, user, user_id, active=False),
            lambda person: f"{person.name} is deactivated and has been signed out everywhere.",
        )

    @post("/people/{user_id:uuid}/reactivate")
    async def reactivate(
        self, request: HttpRequest, user_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> Response[Any]:
        return await self._access_change(
            request,
            user,
            user_id,
            publisher,
            lambda: admin.set_active(db, actor, user, user_id, active=True),
            lambda person: f"{person.name} can sign in again.",
        )

    @post("/people/{user_id:uuid}/reset")
    async def reset(
        self,
        request: HttpRequest,
        user_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> Response[Any]:
        return await self._access_change(
            request,
            user,
            user_id,
            publisher,
            lambda: admin.reset_sign_in(db, settings, actor, user, user_id),
            lambda person: (
                f"{person.name} has been signed out everywhere and e-mailed a link to choose a new password."
            ),
        )

    async def _access_change(
        self,
        request: HttpRequest,
        user: User,
        user_id: UUID,
        publisher: Publisher,
        change: Callable[[], Awaitable[User]],
        said: Callable[[User], str],
    ) -> Response[Any]:
        """A change to whether someone may sign in: their open sockets are re-checked at once."""
        require_admin(user)
        back = f"/admin/people/{user_id}"
        try:
            person = await change()
        except DomainError as error:
            if error.status_code in (403, 404):
                raise
            return redirect(request, back, flash=error.detail, category="error")
        await publisher.access_changed()
        return redirect(request, back, flash=said(person))


class AccountPages(Controller):
    """Accepting an invitation, and changing one's password."""

    include_in_schema = False

    @get("/invitations/{token:str}")
    async def invitation(self, request: HttpRequest, token: str, db: AsyncSession) -> Template:
        _, person = await service.invitation_for(db, token[:200])
        return page(request, "auth/invitation.html", person=person, token=token, errors={})

    @post("/invitations/{token:str}")
    async def accept(
        self,
        request: HttpRequest,
        token: str,
        db: AsyncSession,
        settings: Settings,
    ) -> Response[Any]:
        data = await form_data(request)
        errors = length_problems(data, NEW_PASSWORD_LIMITS)
        if not errors and data.get("password") != data.get("confirm"):
            errors = {"confirm": "The two passwords are not the same."}
        if errors:
            _, person = await service.invitation_for(db, token[:200])
            return page(request, "auth/invitation.html", status_code=422, person=person, token=token, errors=errors)
        try:
            _, invitation, cookie = await service.accept_invitation(
                db,
                settings,
                token[:200],
                data.get("password", ""),
                ip=client_ip(request.scope),
                user_agent=request.headers.get("user-agent"),
            )
        except DomainError as error:
            errors = form_errors(error)
            _, person = await service.invitation_for(db, token[:200])
            return page(request, "auth/invitation.html", status_code=422, person=person, token=token, errors=errors)
        target = f"/cases/{invitation.case_id}" if invitation.case_id else "/"
        response = redirect(request, target, flash="Welcome to Roundtable. Your password is set.")
        set_session_cookie(response, cookie, settings)
        return response

    @get("/account")
    async def account(self, request: HttpRequest, user: User) -> Template:
        return page(request, "account/account.html", errors={})

    @post("/account/password")
    async def change_password(
        self,
        request: HttpRequest,
        db: AsyncSession,
        user: User,
        actor: Actor,
        settings: Settings,
    ) -> Response[Any]:
        data = await form_data(request)
        errors = length_problems(data, {"current_password": PASSWORD_LIMIT, **NEW_PASSWORD_LIMITS})
        if not errors and data.get("new_password") != data.get("confirm"):
            errors = {"confirm": "The two new passwords are not the same."}
        if errors:
            return page(request, "account/account.html", status_code=422, errors=errors)
        try:
            cookie = await service.change_password(
                db,
                settings,
                actor,
                user,
                data.get("current_password", ""),
                data.get("new_password", ""),
                ip=client_ip(request.scope),
                user_agent=request.headers.get("user-agent"),
            )
        except DomainError as error:
            return page(request, "account/account.html", status_code=422, errors=form_errors(error))
        hub = request.app.state.get("live")
        if hub is not None:
            await hub.access_changed()
        response = redirect(request, "/account", flash="Password changed. You have been signed out everywhere else.")
        set_session_cookie(response, cookie, settings)
        return response
