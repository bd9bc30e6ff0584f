"""The demo team: a child's Team Around the Child, loaded into an empty database.

It is built through the same services as real use, so the demo's audit trail is real too."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.config import Settings
from server.live.events import NoPublisher
from server.meetings import service as meetings
from server.meetings.models import AgendaItem
from server.people import service as people
from server.people.models import Sector, User
from server.platform.db import make_engine, make_sessionmaker, transaction
from server.timeutil import today_local, zone

DEMO_PASSWORD = "roundtable-demo"  # noqa: S105 - the published demo password
SYSTEM = Actor(user_id=None, ip=None)

AGENCIES = [
    ("Northshire Health Visiting Service", Sector.HEALTH),
    ("St Anne's Primary School", Sector.EDUCATION),
    ("Northshire Children's Social Care", Sector.SOCIAL_CARE),
    ("Northshire Police", Sector.POLICE),
    ("Riverside Medical Practice", Sector.HEALTH),
    ("Northshire Safeguarding Partnership", Sector.OTHER),
    ("Jones family", Sector.FAMILY),
]

# (e-mail, name, agency, case role, who they are)
PEOPLE = [
    (
        "chair@example.org",
        "Priya Shah",
        "Northshire Safeguarding Partnership",
        "chair",
        "independent chair",
    ),
    (
        "health.visitor@example.org",
        "Helen Okafor",
        "Northshire Health Visiting Service",
        "professional",
        "health visitor, lead professional",
    ),
    (
        "teacher@example.org",
        "Tom Barnes",
        "St Anne's Primary School",
        "professional",
        "class teacher",
    ),
    (
        "social.worker@example.org",
        "Sam Rivera",
        "Northshire Children's Social Care",
        "professional",
        "social worker",
    ),
    ("police@example.org", "Dan Hughes", "Northshire Police", "professional", "police officer"),
    ("gp@example.org", "Dr Aisha Malik", "Riverside Medical Practice", "professional", "GP"),
    ("parent@example.org", "Kelly Jones", "Jones family", "family", "parent"),
]
ADMIN = ("admin@example.org", "Alex Morgan", "Northshire Safeguarding Partnership")
DEMO_SIGN_INS = [(email, f"{name}, {who}") for email, name, _, _, who in PEOPLE] + [
    (ADMIN[0], f"{ADMIN[1]}, administrator")
]

AGENDA = [
    ("Welcome, introductions and purpose of the meeting", False),
    ("Leo's health and development", False),
    ("Nursery attendance and learning", False),
    ("Home, family and support", False),
    ("Information shared by the police", True),
    ("Agreeing the plan and the next meeting", False),
]


async def load_demo(settings: Settings, database_url: str, redis_url: str) -> bool:
    """Load the demo into an empty database; return False (and change nothing) otherwise."""
    engine = make_engine(database_url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as session:
            if await people.count_users(session):
                return False
            await _load(session, settings)
            return True
    finally:
        await engine.dispose()


# --- starting the demo again (`roundtable demo --reset`) -----------------------------------------

DEMO_DOMAIN = "@example.org"


async def reset_demo(settings: Settings, database_url: str, redis_url: str) -> str | None:
    """Empty every table and load the demo afresh: for trying the meeting again from the start.
    Refused (returns the reason, changes nothing) when anyone outside the demo has an account, so
    a real deployment cannot be wiped by a slip of the keyboard."""
    from sqlalchemy import func, select, text

    from server.people.models import User as Person
    from server.platform.db import Base, import_all_models

    import_all_models()
    engine = make_engine(database_url, pool_size=2)
    try:
        async with engine.begin() as connection:
            outsiders = await connection.scalar(
                select(func.count()).select_from(Person).where(Person.email.not_like(f"%{DEMO_DOMAIN}"))
            )
            if outsiders:
                return f"{outsiders} account(s) are not the demo's ({DEMO_DOMAIN}): nothing was deleted."
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        async with make_sessionmaker(engine)() as session:
            await _load(session, settings)
        return None
    finally:
        await engine.dispose()


async def _load(session: AsyncSession, settings: Settings) -> None:
    agencies = {}
    for name, sector in AGENCIES:
        agencies[name] = await people.create_agency(session, SYSTEM, name, sector)
    users: dict[str, User] = {}
    for email, name, agency, _, _ in PEOPLE:
        users[email] = await people.create_user(
            session, SYSTEM, people.NewUser(email, name, agencies[agency].id, DEMO_PASSWORD)
        )
    admin_email, admin_name, admin_agency = ADMIN
    await people.create_user(
        session,
        SYSTEM,
        people.NewUser(admin_email, admin_name, agencies[admin_agency].id, DEMO_PASSWORD, True),
    )
    chair = users["chair@example.org"]
    case = await cases.create_case(
        session,
        Actor(chair.id),
        chair,
        reference="TAC-2026-0147",
        display_name="Leo J. (age 4)",
        lead_professional_id=users["health.visitor@example.org"].id,
    )
    as_chair = Caller(session, chair, Actor(chair.id), settings, NoPublisher())
    for email, _, _, role, _ in PEOPLE:
        if email not in ("chair@example.org", "health.visitor@example.org"):
            await cases.add_member(as_chair, case.id, users[email].id, role)
    meeting = await meetings.schedule_meeting(
        session,
        Actor(chair.id),
        chair,
        case.id,
        meetings.MeetingRequest(
            title="Team Around the Child meeting for Leo",
            kind="tac",
            scheduled_at=_next_working_morning(),
            chair_id=chair.id,
            turn_limit_seconds=180,
            location="Online, and St Anne's Primary School meeting room",
        ),
    )
    async with transaction(session):
        session.add_all(
            AgendaItem(meeting_id=meeting.id, position=position, title=title, professionals_only=professionals_only)
            for position, (title, professionals_only) in enumerate(AGENDA)
        )


def _next_working_morning() -> datetime:
    day = today_local() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=zone())
