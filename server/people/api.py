"""JSON API: signing in and out, API tokens, agencies and users."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.status_codes import HTTP_201_CREATED
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.errors import Forbidden, NotSignedIn
from server.live.events import Publisher
from server.people import admin, service
from server.people.models import User
from server.people.shapes import (
    AgencyOut,
    PasswordChanged,
    SignedIn,
    SignedOut,
    TokenOut,
    UserOut,
    agency_json,
    token_json,
    user_json,
)
from server.web.caller import Caller
from server.web.security import SESSION_COOKIE, Auth
from server.web.sessions import end_browser_session, origin, set_session_cookie
from server.web.types import HttpRequest

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Password = Annotated[str, msgspec.Meta(max_length=1024)]


class SignIn(msgspec.Struct, forbid_unknown_fields=False):
    email: Email
    password: Password


class NewToken(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PasswordChange(msgspec.Struct):
    current_password: Password
    new_password: Password


class NewAgency(msgspec.Struct):
    name: Name
    sector: Annotated[str, msgspec.Meta(max_length=32)]


class NewUserBody(msgspec.Struct):
    email: Email
    name: Name
    agency_id: UUID
    password: Password | None = None
    is_admin: bool = False
    can_see_insights: bool = False


class PersonPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given change; is_active false deactivates (every session ends at once)."""

    name: Name | None = None
    email: Email | None = None
    agency_id: UUID | None = None
    is_admin: bool | None = None
    is_active: bool | None = None
    can_see_insights: bool | None = None


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only administrators can do that.", code="admin_only")


class SessionApi(Controller):
    path = "/api"
    tags = ["Signing in"]

    @post("/session", status_code=200)
    async def sign_in(
        self,
        request: HttpRequest,
        data: SignIn,
        db: AsyncSession,
        redis: Redis,
        settings: Settings,
        auth: Auth | None,
    ) -> Response[SignedIn]:
        """Sign in with e-mail and password; sets the session cookie."""
        user, token = await service.sign_in(
            db,
            redis,
            settings,
            data.email,
            data.password,
            replaces=auth.session_id if auth else None,
            **origin(request),
        )
        response = Response(SignedIn(user=user_json(user)))
        set_session_cookie(response, token, settings)
        return response

    @delete("/session", status_code=200)
    async def sign_out(
        self, request: HttpRequest, db: AsyncSession, actor: Actor, auth: Auth | None
    ) -> Response[SignedOut]:
        """Sign out: ends this browser session and closes its live sockets."""
        if auth is None:
            raise NotSignedIn("Sign in first.")
        await end_browser_session(request, db, actor, auth)
        response = Response(SignedOut(signed_out=True))
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @post("/me/password", status_code=200)
    async def change_password(
        self, request: HttpRequest, data: PasswordChange, caller: Caller
    ) -> Response[PasswordChanged]:
        """Change your password: every session you have ends, on every device; this one is renewed."""
        current, new = data.current_password, data.new_password
        token = await service.change_password(
            caller.db, caller.settings, caller.actor, caller.user, current, new, **origin(request)
        )
        await caller.publisher.access_changed()
        response = Response(PasswordChanged(changed=True))
        set_session_cookie(response, token, caller.settings)
        return response

    @get("/me")
    async def me(self, user: User) -> UserOut:
        return user_json(user)

    @post("/tokens", status_code=HTTP_201_CREATED)
    async def create_token(self, data: NewToken, db: AsyncSession, user: User, actor: Actor) -> TokenOut:
        """A personal API token, shown once: send it as `Authorization: Bearer <token>`."""
        token, secret = await service.create_api_token(db, actor, user, data.name)
        return token_json(token, secret)


class PeopleApi(Controller):
    path = "/api"
    tags = ["People"]

    @get("/agencies")
    async def agencies(self, db: AsyncSession, user: User) -> list[AgencyOut]:
        return [agency_json(a) for a in await service.list_agencies(db)]

    @post("/agencies", status_code=HTTP_201_CREATED)
    async def create_agency(self, data: NewAgency, db: AsyncSession, user: User, actor: Actor) -> AgencyOut:
        require_admin(user)
        return agency_json(await service.create_agency(db, actor, data.name, data.sector))

    @get("/users")
    async def users(self, db: AsyncSession, user: User) -> list[UserOut]:
        """The directory of people, for building teams: professionals and administrators only."""
        if user.agency.sector == "family" and not user.is_admin:
            raise Forbidden("Only professionals can list the people who use Roundtable.", code="professionals_only")
        return [user_json(u) for u in await service.list_users(db)]

    @post("/users", status_code=HTTP_201_CREATED)
    async def create_user(self, data: NewUserBody, db: AsyncSession, user: User, actor: Actor) -> UserOut:
        require_admin(user)
        new = service.NewUser(
            data.email, data.name, data.agency_id, data.password, data.is_admin, can_see_insights=data.can_see_insights
        )
        return user_json(await service.create_user(db, actor, new))

    @patch("/users/{user_id:uuid}")
    async def change_user(
        self, user_id: UUID, data: PersonPatch, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> UserOut:
        """Correct a person's details, or deactivate (is_active false) or reactivate them
        (administrators). Deactivating ends every session and open socket of the person at once."""
        require_admin(user)
        change = admin.PersonChange(data.name, data.email, data.agency_id, data.is_admin, data.can_see_insights)
        person = await admin.change_person(db, publisher, actor, user, user_id, change)
        if data.is_active is not None:
            person = await admin.set_active(db, actor, user, user_id, active=data.is_active)
        await publisher.access_changed()
        await db.refresh(person, ["agency"])
        return user_json(person)

    @post("/users/{user_id:uuid}/reset", status_code=200)
    async def reset_user(
        self, user_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher, settings: Settings
    ) -> UserOut:
        """Reset a person's sign-in (administrators): the password stops working, every session
        ends, and they are e-mailed a single-use link to choose a new one."""
        require_admin(user)
        person = await admin.reset_sign_in(db, settings, actor, user, user_id)
        await publisher.access_changed()
        await db.refresh(person, ["agency"])
        return user_json(person)
