"""The paths and limits the embedded servers share, and how their binaries are found."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # generous: a first start may replay a long WAL or AOF
STOP_TIMEOUT = 30.0
LOCK_TIMEOUT = 120.0  # another command may be running initdb under the lock
POLL = 0.005  # readiness polling interval; small, because start-up time is on every run


class EmbeddedError(RuntimeError):
    """An embedded server could not be prepared, started or stopped (message is one line)."""


class _Inside:
    """A path of the layout: ``name`` inside its root, or inside another of its paths."""

    def __init__(self, name: str, folder: str | None = None) -> None:
        self.name = name
        self.folder = folder

    def __get__(self, layout: Layout, owner: type[Layout] | None = None) -> Path:
        folder: Path = layout.root if self.folder is None else getattr(layout, self.folder)
        return folder / self.name


@dataclass(frozen=True)
class Layout:
    """The paths under one data folder, so that every function agrees on them."""

    root: Path

    lock = _Inside(".lock")
    ports = _Inside("ports.json")
    pgdata = _Inside("postgres")
    pgdata_tmp = _Inside("postgres.initdb")
    pg_log = _Inside("postgres.log")
    initdb_log = _Inside("initdb.log")
    valkey_dir = _Inside("valkey")
    valkey_conf = _Inside("valkey.conf", "valkey_dir")
    valkey_pidfile = _Inside("valkey.pid", "valkey_dir")
    valkey_log = _Inside("valkey.log", "valkey_dir")


def package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
