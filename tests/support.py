"""Helpers for tests: a team with one person in each role, and signing them in."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.cases.models import Case
from server.live.events import MeetingChanged, NoPublisher, Publisher
from server.meetings import service as meetings
from server.meetings.commands import RoomCaller
from server.meetings.models import AgendaItem, Meeting
from server.meetings.state import Room
from server.people import service as people
from server.people.models import Sector, User
from server.platform.runtime import Runtime

PASSWORD = "correct horse battery staple"
SYSTEM = Actor(None)

ON_A_FIXED_CLOCK = pytest.mark.meeting_far_off
"""For a module whose chase passes run on fixed days of December 2026: the team's meeting is a
year from today, still to come and far from those days, so its reports are never chased on them."""


@dataclass
class Team:
    """A case with a chair, a professional member, a family member and the lead professional;
    an administrator and a professional who is not on the case."""

    admin: User
    chair: User
    member: User
    lead: User
    family: User
    outsider: User
    case: Case
    meeting: Meeting

    @property
    def roles(self) -> dict[str, User]:
        return {
            "admin": self.admin,
            "chair": self.chair,
            "member": self.member,
            "lead": self.lead,
            "family": self.family,
            "outsider": self.outsider,
        }


async def make_team(runtime: Runtime, meeting_at: datetime | None = None) -> Team:
    """A case with one of each role and a TAC meeting, by default a day from now; a test on a
    fixed clock passes ``meeting_at`` so that the meeting's own deadlines keep off its clock."""
    async with runtime.sessionmaker() as session:
        agencies = {}
        for name, sector in [
            ("Health visiting", Sector.HEALTH),
            ("School", Sector.EDUCATION),
            ("Social care", Sector.SOCIAL_CARE),
            ("Police", Sector.POLICE),
            ("Smith family", Sector.FAMILY),
            ("Partnership", Sector.OTHER),
        ]:
            agencies[name] = await people.create_agency(session, SYSTEM, name, sector)

        async def user(email: str, name: str, agency: str, admin: bool = False) -> User:
            return await people.create_user(
                session, SYSTEM, people.NewUser(email, name, agencies[agency].id, PASSWORD, is_admin=admin)
            )

        admin = await user("admin@test.example", "Ada Admin", "Partnership", admin=True)
        chair = await user("chair@test.example", "Chris Chair", "Partnership")
        lead = await user("lead@test.example", "Lee Lead", "Health visiting")
        member = await user("member@test.example", "Mo Member", "School")
        family = await user("family@test.example", "Fran Smith", "Smith family")
        outsider = await user("outsider@test.example", "Olly Outsider", "Police")
        case = await cases.create_case(
            session, Actor(chair.id), chair, reference="T-1", display_name="Child T.", lead_professional_id=lead.id
        )
        by_chair = Caller(session, chair, SYSTEM, runtime.settings, NoPublisher())
        await cases.add_member(by_chair, case.id, member.id, "professional")
        await cases.add_member(by_chair, case.id, family.id, "family")
        meeting = await meetings.schedule_meeting(
            session,
            Actor(chair.id),
            chair,
            case.id,
            meetings.MeetingRequest(
                title="TAC meeting",
                kind="tac",
                scheduled_at=meeting_at or datetime.now(UTC) + timedelta(days=1),
                chair_id=chair.id,
            ),
        )
        return Team(admin, chair, member, lead, family, outsider, case, meeting)


async def sign_in(client: AsyncClient, user: User | str, password: str = PASSWORD) -> dict[str, Any]:
    """Sign in through the API like a browser: fetch a page for the CSRF cookie, then post."""
    email = user if isinstance(user, str) else user.email
    await client.get("/sign-in")
    response = await client.post("/api/session", json={"email": email, "password": password}, headers=csrf(client))
    assert response.status_code == 200, response.text
    return response.json()["user"]  # type: ignore[no-any-return]


def csrf(client: AsyncClient) -> dict[str, str]:
    token = client.cookies.get("csrftoken")
    return {"x-csrftoken": token} if token else {}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Person:
    """One signed-in browser-like client of the JSON API."""

    def __init__(self, client: httpx.AsyncClient, user: User) -> None:
        self.client = client
        self.user = user

    @property
    def id(self) -> str:
        return str(self.user.id)

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(path, json=body or {}, headers=csrf(self.client))

    async def delete(self, path: str, **params: str) -> httpx.Response:
        return await self.client.delete(path, params=params, headers=csrf(self.client))


class Recorder(NoPublisher):
    """Keeps the notices; stands for a process whose live feed holds ``held`` (if given)."""

    def __init__(self, held: Room | None = None) -> None:
        self.changes: list[MeetingChanged] = []
        self.held = held

    async def meeting_changed(self, change: MeetingChanged) -> None:
        self.changes.append(change)

    def room_now(self, meeting_id: uuid.UUID) -> Room | None:
        return self.held


def room_as(runtime: Runtime, session: AsyncSession, user: User, publisher: Publisher | None = None) -> RoomCaller:
    """The room's operations as ``user`` runs them, without HTTP (to set a scene)."""
    return RoomCaller(session, publisher or NoPublisher(), Actor(user.id), user, runtime.settings)


def caller_as(runtime: Runtime, session: AsyncSession, user: User) -> Caller:
    """A service call as ``user`` makes it, without HTTP (to set a scene)."""
    return Caller(session, user, Actor(user.id), runtime.settings, NoPublisher())


async def without_childs_voice(runtime: Runtime, meeting_id: uuid.UUID) -> None:
    """Take the child's voice item (every TAC meeting and conference is given one) off the agenda,
    for tests whose assertions are about an agenda of their own making."""
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            delete(AgendaItem).where(AgendaItem.meeting_id == meeting_id, AgendaItem.is_child_voice.is_(True))
        )
