"""A case's family speaks with one voice: a second parent invited joins the agency the first one
is in (not a second family agency, which would give the family two positions in a decision),
a family account from another family's agency is refused, and migration 0004 moves the members
of a case split across family agencies into its first one, with their part of the record."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, text

from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.cases.invitations import invite_family_member
from server.cases.models import CaseMember
from server.config import REPO_ROOT, Settings
from server.errors import Conflict
from server.live.events import NoPublisher
from server.meetings.models import Attendance, DecisionPosition
from server.people import service as people
from server.people.models import Agency, Sector, User
from server.platform.runtime import Runtime
from tests.html_forms import post_form
from tests.support import Team, sign_in


async def family_agencies(runtime: Runtime, team: Team) -> set[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(Agency.name)
            .join(User, User.agency_id == Agency.id)
            .join(CaseMember, CaseMember.user_id == User.id)
            .where(CaseMember.case_id == team.case.id, CaseMember.role == "family")
        )
        return set(rows)


async def test_a_second_parent_joins_the_family_already_there(
    client: httpx.AsyncClient, team: Team, runtime: Runtime
) -> None:
    await sign_in(client, team.chair)
    for name, email in (("Sam Smith", "sam.smith@test.example"), ("Gran Smith", "gran@test.example")):
        response = await post_form(
            client, f"/cases/{team.case.id}/invitations", {"invite_name": name, "invite_email": email}
        )
        assert response.status_code == 303, response.text
    assert await family_agencies(runtime, team) == {"Smith family"}  # the agency Fran Smith is in


async def test_a_family_account_of_another_family_is_refused(team: Team, runtime: Runtime, settings: Settings) -> None:
    async with runtime.sessionmaker() as session:
        other = await people.create_agency(session, Actor(None), "Jones family", Sector.FAMILY)
        stranger = await people.create_user(
            session, Actor(None), people.NewUser("kim.jones@test.example", "Kim Jones", other.id, None)
        )
        stranger_id, stranger_email = stranger.id, stranger.email
        with pytest.raises(Conflict, match="another family agency"):
            await cases.add_member(
                Caller(session, team.chair, Actor(team.chair.id), runtime.settings, NoPublisher()),
                team.case.id,
                stranger_id,
                "family",
            )
        with pytest.raises(Conflict, match="another family agency"):
            await invite_family_member(
                Caller(session, team.chair, Actor(team.chair.id), settings, NoPublisher()),
                team.case.id,
                email=stranger_email,
                name="Kim",
            )
    assert await family_agencies(runtime, team) == {"Smith family"}


async def test_migration_0004_moves_a_split_family_into_one_agency(team: Team, runtime: Runtime) -> None:
    path = next((REPO_ROOT / "alembic" / "versions").glob("*_0004_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0004", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    async with runtime.sessionmaker() as session:
        split = Agency(name="Family of case T-1", sector=Sector.FAMILY)
        session.add(split)
        await session.flush()
        second = User(email="sam@test.example", name="Sam Smith", agency_id=split.id)
        session.add(second)
        await session.flush()
        session.add(CaseMember(case_id=team.case.id, user_id=second.id, role="family", added_at=datetime.now(UTC)))
        session.add(Attendance(meeting_id=team.meeting.id, user_id=second.id, agency_id=split.id))
        await session.commit()
        second_id, split_id = second.id, split.id

    async with runtime.engine.begin() as connection:
        for statement in migration.STEPS:
            await connection.execute(text(statement))

    assert await family_agencies(runtime, team) == {"Smith family"}
    async with runtime.sessionmaker() as session:
        moved = await session.get(User, second_id)
        assert moved is not None
        assert moved.agency_id == team.family.agency_id
        attendance = await session.scalar(select(Attendance).where(Attendance.user_id == second_id))
        assert attendance is not None
        assert attendance.agency_id == team.family.agency_id
        assert await session.get(Agency, split_id) is not None  # kept: old records may name it
        assert (await session.scalars(select(DecisionPosition))).all() == []
