"""`roundtable create-admin`: the first administrator on an empty system."""

from __future__ import annotations

from sqlalchemy import select

from server.audit.service import Actor
from server.config import Settings
from server.errors import DomainError
from server.people import service
from server.people.models import Agency, Sector, User
from server.platform.db import make_engine, make_sessionmaker

ADMIN_AGENCY = "Roundtable administration"


async def create_first_admin(
    settings: Settings, database_url: str, redis_url: str, email: str, password: str, name: str
) -> str:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            if await session.scalar(select(User.id).where(User.is_admin.is_(True)).limit(1)):
                return "An administrator already exists; add more from the Administration page."
            agency = await session.scalar(select(Agency).where(Agency.name == ADMIN_AGENCY))
            if agency is None:
                agency = await service.create_agency(session, Actor(None), ADMIN_AGENCY, Sector.OTHER)
            try:
                user = await service.create_user(
                    session,
                    Actor(None),
                    service.NewUser(email, name, agency.id, password, is_admin=True),
                )
            except DomainError as error:
                raise SystemExit(f"roundtable: {error.detail}") from None
            return f"Administrator {user.email} created."
    finally:
        await engine.dispose()
