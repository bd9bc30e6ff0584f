"""`roundtable demo --reset` starts the demo again from the beginning, and refuses to touch a
database where anyone outside the demo has an account."""

from __future__ import annotations

from sqlalchemy import func, select

from server.cli import parser
from server.config import Settings
from server.demo import load_demo, reset_demo
from server.meetings.models import Meeting
from server.people.models import User
from server.platform.runtime import Runtime
from tests.support import Team


async def counts(runtime: Runtime) -> tuple[int, int, str]:
    async with runtime.sessionmaker() as session:
        users = int(await session.scalar(select(func.count()).select_from(User)) or 0)
        meetings = int(await session.scalar(select(func.count()).select_from(Meeting)) or 0)
        status = await session.scalar(select(Meeting.status).limit(1)) or ""
        return users, meetings, status


async def test_the_demo_starts_again_from_the_beginning(runtime: Runtime, settings: Settings) -> None:
    assert await load_demo(settings, runtime.database_url, runtime.redis_url)
    fresh = await counts(runtime)
    async with runtime.sessionmaker() as session:
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        meeting.status = "ended"  # the demo meeting was held
        await session.commit()
    assert await reset_demo(settings, runtime.database_url, runtime.redis_url) is None
    assert await counts(runtime) == fresh
    assert fresh[2] == "scheduled"


async def test_a_real_database_is_never_wiped(runtime: Runtime, settings: Settings, team: Team) -> None:
    before = await counts(runtime)
    refused = await reset_demo(settings, runtime.database_url, runtime.redis_url)
    assert refused is not None
    assert "nothing was deleted" in refused
    assert await counts(runtime) == before


def test_the_command_takes_reset() -> None:
    assert parser().parse_args(["demo", "--reset"]).reset is True
    assert parser().parse_args(["demo"]).reset is False
