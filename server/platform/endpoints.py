"""Where the database and Redis are: the configured servers, or the embedded ones for the data
folder. Every command and every web worker asks here, so they all agree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from server.config import Settings


@dataclass(frozen=True, slots=True)
class Endpoints:
    database_url: str
    redis_url: str


@contextmanager
def servers(settings: Settings) -> Iterator[Endpoints]:
    """The endpoints for a command. Embedded servers are started if they are not running, and
    stopped on exit only if this process started them (another terminal may be using them)."""
    if not settings.embedded:
        yield find(settings)
        return
    from server.platform import embedded

    running = embedded.ensure_running(settings.data_dir)
    try:
        yield Endpoints(running.database_url, running.redis_url)
    finally:
        embedded.stop(running)


def find(settings: Settings) -> Endpoints:
    """The endpoints for a long-lived web worker: embedded servers are used (started if need be)
    and left running; the command that launched the workers owns their lifetime."""
    if not settings.embedded:
        assert settings.database_url is not None
        assert settings.redis_url is not None
        return Endpoints(settings.database_url, settings.redis_url)
    from server.platform import embedded

    running = embedded.ensure_running(settings.data_dir)
    return Endpoints(running.database_url, running.redis_url)
