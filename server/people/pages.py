"""Pages: signing in and out, and the administration of agencies and users."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from functools import partial
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from server import limits
from server.audit.service import Actor
from server.config import Settings
from server.errors import DomainError, Problems, TooManyAttempts, Unavailable
from server.limits import length_problems
from server.people import admin, service
from server.people.api import require_admin
from server.people.models import Sector, User
from server.people.passwords import MAX_LENGTH
from server.web.caller import Caller
from server.web.form_posts import Fields, submit_form
from server.web.forms import checked, form_data, form_page, parse_uuid
from server.web.render import page, redirect
from server.web.security import SESSION_COOKIE, Auth
from server.web.sessions import end_browser_session, origin, set_session_cookie
from server.web.types import HttpRequest

PASSWORD_LIMIT = (limits.PASSWORD, "the password")
NEW_PASSWORD_LIMITS = dict.fromkeys(("password", "new_password", "confirm"), (MAX_LENGTH, "the password"))
SIGN_IN_LIMITS = {"email": (limits.EMAIL, "the e-mail address"), "password": PASSWORD_LIMIT}
CURRENT_PASSWORD = {"current_password": PASSWORD_LIMIT}


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
                replaces=auth.session_id if auth else None,
                **origin(request),
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
    async def create_agency(self, request: HttpRequest, caller: Caller) -> Response[Any]:
        require_admin(caller.user)

        async def create(data: Fields) -> Response[Any]:
            name, sector = data.get("agency_name", ""), data.get("agency_sector", "")
            agency = await service.create_agency(caller.db, caller.actor, name, sector)
            return redirect(request, "/admin", flash=f"Agency {agency.name} added.")

        again = partial(self._render, request, caller.db, form="agency")
        return await submit_form(request, create, again, prefix="agency_")

    @post("/users")
    async def create_user(self, request: HttpRequest, caller: Caller) -> Response[Any]:
        require_admin(caller.user)

        async def create(data: Fields) -> Response[Any]:
            agency_id = parse_uuid(data.get("agency_id"), "agency_id", "Choose an agency from the list.")
            new = service.NewUser(
                data.get("email", ""),
                data.get("name", ""),
                agency_id,
                data.get("password") or None,
                is_admin=checked(data, "is_admin"),
                can_see_insights=checked(data, "can_see_insights"),
            )
            created = await service.create_user(caller.db, caller.actor, new)
            return redirect(request, "/admin", flash=f"{created.name} can now sign in.")

        return await submit_form(request, create, partial(self._render, request, caller.db, form="user"))

    # --- one person ------------------------------------------------------------------------

    async def _person(
        self, request: HttpRequest, db: AsyncSession, user_id: UUID, status_code: int = 200, **context: Any
    ) -> Template:
        person = await service.get_user(db, user_id)
        agencies = await service.list_agencies(db)
        return form_page(
            request, "admin/person.html", status_code=status_code, person=person, agencies=agencies, **context
        )

    @get("/people/{user_id:uuid}")
    async def person(self, request: HttpRequest, user_id: UUID, db: AsyncSession, user: User) -> Template:
        require_admin(user)
        return await self._person(request, db, user_id)

    @post("/people/{user_id:uuid}")
    async def change_person(self, request: HttpRequest, user_id: UUID, caller: Caller) -> Response[Any]:
        require_admin(caller.user)

        async def save(data: Fields) -> Response[Any]:
            agency_id = parse_uuid(data.get("agency_id"), "agency_id", "Choose an agency from the list.")
            change = admin.PersonChange(
                name=data.get("name", ""),
                email=data.get("email", ""),
                agency_id=agency_id,
                is_admin=checked(data, "is_admin"),
                can_see_insights=checked(data, "can_see_insights"),
            )
            person = await admin.change_person(caller.db, caller.publisher, caller.actor, caller.user, user_id, change)
            await caller.publisher.access_changed()  # a new agency or rights take effect on open pages at once
            return redirect(request, f"/admin/people/{user_id}", flash=f"{person.name}'s details are saved.")

        return await submit_form(request, save, partial(self._person, request, caller.db, user_id))

    @post("/people/{user_id:uuid}/deactivate")
    async def deactivate(self, request: HttpRequest, user_id: UUID, caller: Caller) -> Response[Any]:
        require_admin(caller.user)
        change = admin.set_active(caller.db, caller.actor, caller.user, user_id, active=False)
        return await _access_change(
            request, caller, user_id, change, "is deactivated and has been signed out everywhere."
        )

    @post("/people/{user_id:uuid}/reactivate")
    async def reactivate(self, request: HttpRequest, user_id: UUID, caller: Caller) -> Response[Any]:
        require_admin(caller.user)
        change = admin.set_active(caller.db, caller.actor, caller.user, user_id, active=True)
        return await _access_change(request, caller, user_id, change, "can sign in again.")

    @post("/people/{user_id:uuid}/reset")
    async def reset(self, request: HttpRequest, user_id: UUID, caller: Caller) -> Response[Any]:
        require_admin(caller.user)
        change = admin.reset_sign_in(caller.db, caller.settings, caller.actor, caller.user, user_id)
        said = "has been signed out everywhere and e-mailed a link to choose a new password."
        return await _access_change(request, caller, user_id, change, said)


async def _access_change(
    request: HttpRequest, caller: Caller, user_id: UUID, change: Awaitable[User], said: str
) -> Response[Any]:
    """A change to whether someone may sign in: their open sockets are re-checked at once. The
    flash is the person's name and then ``said``."""
    back = f"/admin/people/{user_id}"
    try:
        person = await change
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        return redirect(request, back, flash=error.detail, category="error")
    await caller.publisher.access_changed()
    return redirect(request, back, flash=f"{person.name} {said}")


class AccountPages(Controller):
    """Accepting an invitation, and changing one's password."""

    include_in_schema = False

    async def _invitation_page(
        self, request: HttpRequest, db: AsyncSession, token: str, status_code: int = 200, **context: Any
    ) -> Template:
        _, person = await service.invitation_for(db, token[:200])
        return form_page(
            request, "auth/invitation.html", status_code=status_code, person=person, token=token, **context
        )

    @get("/invitations/{token:str}")
    async def invitation(self, request: HttpRequest, token: str, db: AsyncSession) -> Template:
        return await self._invitation_page(request, db, token)

    @post("/invitations/{token:str}")
    async def accept(self, request: HttpRequest, token: str, db: AsyncSession, settings: Settings) -> Response[Any]:
        async def choose(data: Fields) -> Response[Any]:
            _new_password_checked(data, "password", "The two passwords are not the same.")
            _, invitation, cookie = await service.accept_invitation(
                db, settings, token[:200], data.get("password", ""), **origin(request)
            )
            target = f"/cases/{invitation.case_id}" if invitation.case_id else "/"
            response = redirect(request, target, flash="Welcome to Roundtable. Your password is set.")
            set_session_cookie(response, cookie, settings)
            return response

        again = partial(self._invitation_page, request, db, token)
        return await submit_form(request, choose, again, keep_typed=False)

    async def _account_page(self, request: HttpRequest, status_code: int = 200, **context: Any) -> Template:
        return form_page(request, "account/account.html", status_code=status_code, **context)

    @get("/account")
    async def account(self, request: HttpRequest, user: User) -> Template:
        return await self._account_page(request)

    @post("/account/password")
    async def change_password(self, request: HttpRequest, caller: Caller) -> Response[Any]:
        async def change(data: Fields) -> Response[Any]:
            _new_password_checked(data, "new_password", "The two new passwords are not the same.", CURRENT_PASSWORD)
            current, new = data.get("current_password", ""), data.get("new_password", "")
            cookie = await service.change_password(
                caller.db, caller.settings, caller.actor, caller.user, current, new, **origin(request)
            )
            await caller.publisher.access_changed()
            response = redirect(
                request, "/account", flash="Password changed. You have been signed out everywhere else."
            )
            set_session_cookie(response, cookie, caller.settings)
            return response

        return await submit_form(request, change, partial(self._account_page, request), keep_typed=False)


def _new_password_checked(
    data: Fields, field: str, differs: str, also: Mapping[str, tuple[int, str]] | None = None
) -> None:
    """Refuse, before the service is asked, a password over its length (``also``: other fields'
    limits) or a confirmation that differs from it."""
    errors = length_problems(data, {**(also or {}), **NEW_PASSWORD_LIMITS})
    if not errors and data.get(field) != data.get("confirm"):
        errors = {"confirm": differs}
    if errors:
        raise Problems(errors)
