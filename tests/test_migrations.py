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
