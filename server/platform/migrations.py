"""Apply and reverse the Alembic migrations from code (the CLI and the tests use this)."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from server.config import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (by default every head: work on parallel branches
    adds migrations beside each other until they are chained). Blocking: call it from a thread
    in async code."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
