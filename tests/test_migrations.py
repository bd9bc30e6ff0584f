"""The migrations on a database of their own: up, all the way down, up again, and the result
matches the models exactly (nothing in the models that a migration forgot, nothing extra)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from server.platform.db import Base, import_all_models
from server.platform.migrations import downgrade, upgrade

import_all_models()
TEST_DATABASE = "roundtable_migrations_test"


def _plain_dsn(url: str, database: str) -> str:
    """The asyncpg DSN for another database on the same server."""
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


async def _admin_execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_plain_dsn(url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
async def scratch_database(endpoints: tuple[str, str]) -> AsyncIterator[str]:
    """A fresh, empty database next to the test database; dropped afterwards."""
    server_url = endpoints[0]
    await _admin_execute(server_url, f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)")
    await _admin_execute(server_url, f"CREATE DATABASE {TEST_DATABASE}")
    try:
        yield make_url(server_url).set(database=TEST_DATABASE).render_as_string(hide_password=False)
    finally:
        await _admin_execute(server_url, f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)")


async def _schema(url: str) -> dict[str, set[str]]:
    """What lives in the public schema: tables, sequences, enum types, views, functions."""
    queries = {
        "tables": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        "sequences": "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'",
        "views": "SELECT viewname FROM pg_views WHERE schemaname = 'public'",
        "enums": (
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typtype = 'e'"
        ),
        "functions": (
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        ),
    }
    connection = await asyncpg.connect(_plain_dsn(url, make_url(url).database or ""))
    try:
        return {name: {row[0] for row in await connection.fetch(query)} for name, query in queries.items()}
    finally:
        await connection.close()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": False, "target_metadata": Base.metadata},
    )
    return compare_metadata(context, Base.metadata)


async def _compare_with_models(url: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_differences)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_matches_the_models(scratch_database: str) -> None:
    model_tables = {table.name for table in Base.metadata.sorted_tables}
    assert len(model_tables) > 10

    await asyncio.to_thread(upgrade, scratch_database)
    schema = await _schema(scratch_database)
    assert schema["tables"] == model_tables | {"alembic_version"}

    await asyncio.to_thread(downgrade, scratch_database, "base")
    schema = await _schema(scratch_database)
    assert schema["tables"] == {"alembic_version"}, schema["tables"]
    assert schema["sequences"] == set(), schema["sequences"]
    assert schema["enums"] == set(), schema["enums"]
    assert schema["views"] == set(), schema["views"]
    assert schema["functions"] == set(), schema["functions"]

    await asyncio.to_thread(upgrade, scratch_database)
    schema = await _schema(scratch_database)
    assert schema["tables"] == model_tables | {"alembic_version"}

    differences = await _compare_with_models(scratch_database)
    assert differences == [], "\n".join(repr(d) for d in differences)

    engine = create_async_engine(scratch_database)
    try:
        async with engine.connect() as connection:
            head = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert head


async def test_upgrade_is_idempotent(scratch_database: str) -> None:
    await asyncio.to_thread(upgrade, scratch_database)
    before = await _schema(scratch_database)
    await asyncio.to_thread(upgrade, scratch_database)
    assert await _schema(scratch_database) == before


async def test_minutes_issued_before_the_lifecycle_migrate_as_approved(scratch_database: str) -> None:
    """A meeting that ended (Thursday 26 November 2026) with its minutes issued before revision
    0011 has an approved review afterwards, dated when the minutes were issued; a meeting that
    ended without minutes (impossible before, but harmless) gets none."""
    await asyncio.to_thread(upgrade, scratch_database, "0007")
    connection = await asyncpg.connect(_plain_dsn(scratch_database, TEST_DATABASE))
    try:
        await connection.execute(
            """
            INSERT INTO agencies (id, name, sector)
              VALUES ('00000000-0000-0000-0000-00000000000a', 'School', 'education');
            INSERT INTO users (id, email, name, agency_id)
              VALUES ('00000000-0000-0000-0000-00000000000b', 'c@x.example', 'Chair',
                      '00000000-0000-0000-0000-00000000000a');
            INSERT INTO cases (id, reference, display_name, lead_professional_id)
              VALUES ('00000000-0000-0000-0000-00000000000c', 'T-1', 'Child T.',
                      '00000000-0000-0000-0000-00000000000b');
            INSERT INTO meetings (id, case_id, title, kind, scheduled_at, chair_id, status, started_at, ended_at)
              VALUES ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-00000000000c', 'TAC', 'tac',
                      '2026-11-26 10:00+00', '00000000-0000-0000-0000-00000000000b', 'ended',
                      '2026-11-26 10:00+00', '2026-11-26 11:00+00'),
                     ('00000000-0000-0000-0000-0000000000d2', '00000000-0000-0000-0000-00000000000c', 'TAC 2', 'tac',
                      '2026-11-27 10:00+00', '00000000-0000-0000-0000-00000000000b', 'ended',
                      '2026-11-27 10:00+00', '2026-11-27 11:00+00');
            INSERT INTO issued_minutes (id, meeting_id, audience, snapshot, created_at) VALUES
              (gen_random_uuid(), '00000000-0000-0000-0000-0000000000d1', 'professionals', '{}',
               '2026-11-26 11:00:05+00'),
              (gen_random_uuid(), '00000000-0000-0000-0000-0000000000d1', 'family', '{}',
               '2026-11-26 11:00:05+00');
            """
        )
    finally:
        await connection.close()
    await asyncio.to_thread(upgrade, scratch_database, "0011")
    connection = await asyncpg.connect(_plain_dsn(scratch_database, TEST_DATABASE))
    try:
        rows = await connection.fetch(
            "SELECT meeting_id::text, status, draft_until::text, approved_at, approved_by_id FROM minutes_reviews"
        )
    finally:
        await connection.close()
    assert len(rows) == 1
    (row,) = rows
    assert row["meeting_id"].endswith("d1")
    assert row["status"] == "approved"
    assert row["draft_until"] == "2026-12-03"  # five weekdays after Thursday 26 November
    assert row["approved_at"].isoformat().startswith("2026-11-26T11:00:05")
    assert row["approved_by_id"] is None
