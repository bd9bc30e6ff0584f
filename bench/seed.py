"""Bulk data for the live-room benchmark, written straight into the database (no services: the
point is to get N people into live meetings in a second or two, not to exercise sign-up).

N people in a handful of professional agencies (plus one family agency per case, since a family
counts as one agency in the equal-voice rules); one case per meeting-size group with a team of
``size`` (1 chair, ``size - 4`` professionals, 3 family members); one live meeting per case with
an agenda of four items (the first open), three finished turns on it, and everyone joined; one
open browser session per person, whose cookie value (the token) goes into the spec the load
generator reads. Only the hash of each token is stored, as the server does.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import create_async_engine

from server.cases.models import Case, CaseMember
from server.meetings.models import AgendaItem, Attendance, Meeting, Turn
from server.people.models import Agency, User, UserSession
from server.people.tokens import digest
from server.platform.db import import_all_models

PROFESSIONAL_AGENCIES = [
    ("Health visiting", "health"),
    ("Northfield Primary School", "education"),
    ("Children's social care", "social_care"),
    ("Police public protection", "police"),
    ("Early help", "early_help"),
    ("Housing options", "housing"),
]
FAMILY_MEMBERS = 3
AGENDA = [
    "Review of actions from the last meeting",
    "School attendance and progress",
    "Health and development",
    "Home conditions and housing",
]
FIRST = ["Alex", "Sam", "Jo", "Chris", "Pat", "Robin", "Nat", "Kim", "Lee", "Max", "Ash", "Jules"]
LAST = ["Okafor", "Smith", "Nowak", "Patel", "Evans", "Hughes", "Khan", "Murphy", "Jones", "Ahmed"]


@dataclass
class Member:
    user_id: str
    token: str
    audience: str  # chair, professionals or family: who is sent the same bytes


@dataclass
class MeetingSpec:
    meeting_id: str
    case_id: str
    members: list[Member] = field(default_factory=list)

    @property
    def chair(self) -> Member:
        return next(m for m in self.members if m.audience == "chair")


def spec_json(meetings: list[MeetingSpec]) -> list[dict[str, Any]]:
    return [asdict(m) for m in meetings]


def spec_from_json(data: list[dict[str, Any]]) -> list[MeetingSpec]:
    return [MeetingSpec(d["meeting_id"], d["case_id"], [Member(**m) for m in d["members"]]) for d in data]


async def seed(database_url: str, participants: int, size: int) -> list[MeetingSpec]:
    """Create ``participants`` people in ``participants // size`` live meetings; return the spec."""
    if size < FAMILY_MEMBERS + 2:
        raise ValueError(f"a meeting needs at least {FAMILY_MEMBERS + 2} people")
    if participants % size:
        raise ValueError("participants must be a multiple of the meeting size")
    import_all_models()
    now = datetime.now(UTC)
    n_meetings = participants // size
    agencies: list[dict[str, Any]] = [
        {"id": uuid.uuid4(), "name": name, "sector": sector} for name, sector in PROFESSIONAL_AGENCIES
    ]
    users: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    meetings: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    attendance: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    open_items: dict[uuid.UUID, uuid.UUID] = {}
    specs: list[MeetingSpec] = []
    person = 0

    def new_user(agency_id: uuid.UUID) -> tuple[uuid.UUID, str]:
        nonlocal person
        user_id = uuid.uuid4()
        name = f"{FIRST[person % len(FIRST)]} {LAST[(person // len(FIRST)) % len(LAST)]} {person:05d}"
        users.append(
            {
                "id": user_id,
                "email": f"person{person:05d}@bench.example",
                "name": name,
                "agency_id": agency_id,
                "password_hash": None,
                "is_admin": False,
                "is_active": True,
            }
        )
        token = secrets.token_urlsafe(32)
        sessions.append(
            {
                "id": uuid.uuid4(),
                "token_hash": digest(token),
                "user_id": user_id,
                "last_seen_at": now,
                "expires_at": now + timedelta(hours=12),
                "ip": "127.0.0.1",
                "user_agent": "bench",
            }
        )
        person += 1
        return user_id, token

    for k in range(n_meetings):
        family_agency = {"id": uuid.uuid4(), "name": f"Family {k:04d}", "sector": "family"}
        agencies.append(family_agency)
        case_id, meeting_id = uuid.uuid4(), uuid.uuid4()
        spec = MeetingSpec(str(meeting_id), str(case_id))
        team: list[tuple[uuid.UUID, uuid.UUID, str]] = []  # user, agency, role
        for i in range(size):
            if i == 0:
                agency_id, role, audience = agencies[k % len(PROFESSIONAL_AGENCIES)]["id"], "chair", "chair"
            elif i > size - 1 - FAMILY_MEMBERS:
                agency_id, role, audience = family_agency["id"], "family", "family"
            else:
                agency_id, role = agencies[(k + i) % len(PROFESSIONAL_AGENCIES)]["id"], "professional"
                audience = "professionals"
            user_id, token = new_user(agency_id)
            team.append((user_id, agency_id, role))
            spec.members.append(Member(str(user_id), token, audience))
        chair_id = team[0][0]
        cases.append(
            {
                "id": case_id,
                "reference": f"BENCH-{k:04d}",
                "display_name": f"Child {k:04d}",
                "lead_professional_id": team[1][0],
                "created_by_id": chair_id,
            }
        )
        for user_id, _, role in team:
            members.append({"case_id": case_id, "user_id": user_id, "role": role, "added_at": now})
        meetings.append(
            {
                "id": meeting_id,
                "case_id": case_id,
                "title": "Team Around the Child review",
                "kind": "tac",
                "scheduled_at": now - timedelta(minutes=10),
                "duration_minutes": 90,
                "chair_id": chair_id,
                "status": "live",
                "version": 1,
                "turn_limit_seconds": 180,
                "started_at": now - timedelta(minutes=10),
            }
        )
        for position, title in enumerate(AGENDA):
            item_id = uuid.uuid4()
            items.append(
                {
                    "id": item_id,
                    "meeting_id": meeting_id,
                    "position": position,
                    "title": title,
                    "professionals_only": False,
                    "minutes": "",
                    "is_action_review": position == 0,
                    "opened_at": now - timedelta(minutes=8) if position == 0 else None,
                }
            )
            if position == 0:
                open_items[meeting_id] = item_id
        for i, (user_id, agency_id, _) in enumerate(team):
            attendance.append(
                {
                    "meeting_id": meeting_id,
                    "user_id": user_id,
                    "agency_id": agency_id,
                    "joined_at": now - timedelta(minutes=10, seconds=-i),
                }
            )
        for t, speaker in enumerate((1, 2, size - 1)):
            user_id, agency_id, _ = team[speaker]
            turns.append(
                {
                    "id": uuid.uuid4(),
                    "meeting_id": meeting_id,
                    "user_id": user_id,
                    "agency_id": agency_id,
                    "agenda_item_id": open_items[meeting_id],
                    "kind": "contribution",
                    "started_at": now - timedelta(minutes=8 - 2 * t),
                    "ended_at": now - timedelta(minutes=7 - 2 * t),
                }
            )
        specs.append(spec)

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            for table, rows in [
                (Agency.__table__, agencies),
                (User.__table__, users),
                (UserSession.__table__, sessions),
                (Case.__table__, cases),
                (CaseMember.__table__, members),
                (Meeting.__table__, meetings),
                (AgendaItem.__table__, items),
                (Attendance.__table__, attendance),
                (Turn.__table__, turns),
            ]:
                for start in range(0, len(rows), 1000):
                    await connection.execute(insert(table), rows[start : start + 1000])
            for meeting_id, item_id in open_items.items():
                await connection.execute(update(Meeting).where(Meeting.id == meeting_id).values(open_item_id=item_id))
            await connection.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return specs
