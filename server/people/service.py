"""Agencies, users, sign-in sessions and API tokens. One transaction per operation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import limits
from server.audit.service import Actor, record
from server.config import Settings
from server.errors import Conflict, Invalid, NotFound, Problem, Problems
from server.limits import too_long
from server.lookup import existing
from server.people import ratelimit
from server.people.models import Agency, ApiToken, Invitation, Sector, User, UserSession
from server.people.passwords import hash_password, password_problem, verify_password
from server.people.session_cache import SignedIn
from server.people.tokens import digest, new_secret
from server.platform.db import transaction, utcnow

TOUCH_EVERY = timedelta(seconds=60)


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- agencies -------------------------------------------------------------------------------


async def list_agencies(session: AsyncSession) -> Sequence[Agency]:
    return (await session.scalars(select(Agency).order_by(Agency.name))).all()


async def get_agency(session: AsyncSession, agency_id: uuid.UUID) -> Agency:
    return await existing(session, Agency, agency_id, missing="No such agency.")


async def create_agency(session: AsyncSession, actor: Actor, name: str, sector: str) -> Agency:
    name = name.strip()
    problems = {}
    if not name:
        problems["name"] = "Enter the agency's name."
    elif message := too_long(name, limits.NAME, "the agency's name"):
        problems["name"] = message
    if sector not in Sector.__members__.values():
        problems["sector"] = Problem("Choose a sector from the list.", "unknown_sector")
    if problems:
        raise Problems(problems)
    async with transaction(session):
        if await session.scalar(select(Agency.id).where(Agency.name == name)):
            raise Conflict(f"An agency called {name!r} already exists.", field="name", code="agency_exists")
        agency = Agency(name=name, sector=sector)
        session.add(agency)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"An agency called {name!r} already exists.", field="name", code="agency_exists") from None
        record(session, actor, "agency.create", "agency", agency.id, name=name, sector=sector)
    return agency


# --- users ----------------------------------------------------------------------------------


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(User.name))).all()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    return await existing(session, User, user_id, missing="No such user.")


@dataclass(frozen=True, slots=True)
class NewUser:
    email: str
    name: str
    agency_id: uuid.UUID
    password: str | None
    is_admin: bool = False
    can_see_insights: bool = False


def email_problem(email: str) -> str | None:
    if message := too_long(email, limits.EMAIL, "the e-mail address"):
        return message
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        return Problem("Enter an e-mail address like name@example.org.", "invalid_email")
    return None


def name_problem(name: str) -> str | None:
    return "Enter the person's name." if not name else too_long(name, limits.NAME, "the name")


INSIGHTS_FOR_FAMILY = Problem(
    "The partnership insights are for professionals: a family member's account cannot read them.",
    "insights_not_for_family",
)


def person_problems(email: str, name: str, password: str | None) -> dict[str, str]:
    """Every problem with a person's details at once."""
    found = {"email": email_problem(email), "name": name_problem(name)}
    if password is not None:
        weak = password_problem(password, email=email, name=name)
        found["password"] = None if weak is None else Problem(weak, "weak_password")
    return {field: message for field, message in found.items() if message}


async def create_user(session: AsyncSession, actor: Actor, new: NewUser) -> User:
    email = normalise_email(new.email)
    name = new.name.strip()
    problems = person_problems(email, name, new.password)
    async with transaction(session):
        agency = await session.get(Agency, new.agency_id)
        if agency is None:
            problems["agency_id"] = Problem("Choose an agency from the list.", "unknown_agency")
        elif new.can_see_insights and agency.sector == Sector.FAMILY:
            problems["can_see_insights"] = INSIGHTS_FOR_FAMILY
        if problems:
            raise Problems(problems)
        if await session.scalar(select(User.id).where(User.email == email)):
            raise Conflict(
                "Someone with that e-mail address already has an account.", field="email", code="email_taken"
            )
        user = User(
            email=email,
            name=name,
            agency_id=new.agency_id,
            password_hash=None if new.password is None else hash_password(new.password),
            is_admin=new.is_admin,
            can_see_insights=new.can_see_insights,
            password_changed_at=utcnow() if new.password else None,
        )
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict("Someone with that e-mail address already has an account.", code="email_taken") from None
        record(
            session,
            actor,
            "user.create",
            "user",
            user.id,
            email=email,
            is_admin=new.is_admin,
            can_see_insights=new.can_see_insights,
        )
    await session.refresh(user, ["agency"])
    return user


async def count_users(session: AsyncSession) -> int:
    return len((await session.scalars(select(User.id).limit(1))).all())


# --- sign-in and sessions -------------------------------------------------------------------


async def sign_in(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    email: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
    replaces: uuid.UUID | None = None,
) -> tuple[User, str]:
    """Check the password and open a new session (a fresh token: sessions rotate at sign-in);
    the session this browser had before, if any, ends.

    The same message and the same argon2 work whether or not the e-mail exists.
    """
    email = normalise_email(email)
    await ratelimit.check(redis, email, ip)
    async with ratelimit.given_back_on_outage(redis), transaction(session):
        user = await session.scalar(select(User).where(User.email == email))
        valid = verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            record(session, Actor(user.id if user else None, ip), "signin.failed", "user", email=email)
            user = None
        else:
            if replaces is not None:
                await session.execute(update(UserSession).where(UserSession.id == replaces).values(ended_at=utcnow()))
            token = _open_session(session, settings, user, ip=ip, user_agent=user_agent)
            record(session, Actor(user.id, ip), "signin", "user", user.id)
    if user is None:
        await ratelimit.count_failure(redis, email, ip)
        raise Invalid("The e-mail address or password is not right.", code="wrong_credentials")
    await ratelimit.clear_account(redis, email)
    return user, token


async def user_for_session(session: AsyncSession, settings: Settings, token: str) -> SignedIn | None:
    """The user behind a session cookie, if the session is open, not idle too long, not too old.
    Looking it up is activity: it keeps the session from going idle (written once a minute)."""
    now = utcnow()
    async with transaction(session):
        found = (
            await session.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == digest(token), UserSession.ended_at.is_(None))
            )
        ).first()
        if found is None:
            return None
        row, user = found
        idle = timedelta(minutes=settings.session_idle_minutes)
        if now >= row.expires_at or now >= row.last_seen_at + idle:
            row.ended_at = now
            return None
        if not user.is_active:
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return SignedIn(user, row.id, min(row.expires_at, row.last_seen_at + idle))


async def session_is_open(session: AsyncSession, settings: Settings, session_id: uuid.UUID) -> bool:
    """Re-checked by open sockets: signed out, expired or idle sessions close their sockets."""
    row = await session.get(UserSession, session_id, populate_existing=True)
    if row is None or row.ended_at is not None:
        return False
    now = utcnow()
    return now < row.expires_at


async def sign_out(session: AsyncSession, actor: Actor, session_id: uuid.UUID) -> None:
    async with transaction(session):
        await session.execute(update(UserSession).where(UserSession.id == session_id).values(ended_at=utcnow()))
        record(session, actor, "signout", "user", actor.user_id)


async def end_all_sessions(session: AsyncSession, user_id: uuid.UUID, now: datetime | None = None) -> None:
    """Inside the caller's transaction: used on password change and deactivation."""
    await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )


# --- API tokens -----------------------------------------------------------------------------


async def create_api_token(session: AsyncSession, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("Give the token a name of up to 100 characters.", field="name")
    secret = "rt_" + new_secret()
    async with transaction(session):
        token = ApiToken(user_id=user.id, name=name, token_hash=digest(secret))
        session.add(token)
        await session.flush()
        record(session, actor, "token.create", "api_token", token.id, name=name)
    return token, secret


async def user_for_api_token(session: AsyncSession, secret: str) -> User | None:
    async with transaction(session):
        token = await session.scalar(
            select(ApiToken).where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
        )
        if token is None:
            return None
        user = await session.get(User, token.user_id)
        if user is None or not user.is_active:
            return None
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            token.last_used_at = now
        return user


def _open_session(
    session: AsyncSession, settings: Settings, user: User, *, ip: str | None, user_agent: str | None
) -> str:
    """A new session with a fresh token (sessions rotate at every sign-in); returns the cookie value."""
    token = new_secret()
    now = utcnow()
    session.add(
        UserSession(
            token_hash=digest(token),
            user_id=user.id,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    return token


async def change_password(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    user: User,
    current: str,
    new: str,
    *,
    ip: str | None,
    user_agent: str | None,
) -> str:
    """Change one's password: every session of the user ends (on every device), and this browser
    gets a fresh one. Returns the new session cookie value."""
    if not verify_password(user.password_hash, current):
        raise Invalid("Your current password is not right.", field="current_password", code="wrong_password")
    if problem := password_problem(new, email=user.email, name=user.name):
        raise Invalid(problem, field="new_password", code="weak_password")
    async with transaction(session):
        await session.execute(select(User.id).where(User.id == user.id).with_for_update())
        person = await session.get(User, user.id, populate_existing=True)
        assert person is not None
        person.password_hash = hash_password(new)
        person.password_changed_at = utcnow()
        await end_all_sessions(session, person.id)
        token = _open_session(session, settings, person, ip=ip, user_agent=user_agent)
        record(session, actor, "password.change", "user", person.id)
    return token


async def accept_invitation(
    session: AsyncSession, settings: Settings, token: str, password: str, *, ip: str | None, user_agent: str | None
) -> tuple[User, Invitation, str]:
    """Set a password through a single-use invitation link; the invited person is signed in."""
    async with transaction(session):
        invitation = await _open_invitation(session, token, lock=True)
        user = await session.get(User, invitation.user_id)
        assert user is not None
        if problem := password_problem(password, email=user.email, name=user.name):
            raise Invalid(problem, field="password", code="weak_password")
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        invitation.used_at = utcnow()
        await end_all_sessions(session, user.id)
        cookie = _open_session(session, settings, user, ip=ip, user_agent=user_agent)
        record(session, Actor(user.id, ip), "invitation.accept", "user", user.id, case_id=invitation.case_id)
    return user, invitation, cookie


async def invitation_for(session: AsyncSession, token: str) -> tuple[Invitation, User]:
    invitation = await _open_invitation(session, token, lock=False)
    user = await session.get(User, invitation.user_id)
    assert user is not None
    return invitation, user


async def _open_invitation(session: AsyncSession, token: str, *, lock: bool) -> Invitation:
    query = select(Invitation).where(Invitation.token_hash == digest(token))
    if lock:
        query = query.with_for_update()
    invitation = await session.scalar(query)
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        raise NotFound(
            "This invitation link has expired or has already been used. Ask the chair for a new one.",
            code="invitation_expired",
        )
    return invitation


def new_invitation(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, case_id: uuid.UUID | None, invited_by: uuid.UUID
) -> str:
    """A single-use link that expires; only its hash is stored. Returns the secret for the e-mail."""
    secret = new_secret()
    session.add(
        Invitation(
            user_id=user_id,
            case_id=case_id,
            token_hash=digest(secret),
            invited_by_id=invited_by,
            expires_at=utcnow() + timedelta(days=settings.invitation_days),
        )
    )
    return secret
