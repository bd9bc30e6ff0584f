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


@dataclass(frozen=True)
class Layout:
    """The paths under one data folder, so that every function agrees on them."""

    root: Path

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def ports(self) -> Path:
        return self.root / "ports.json"

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    @property
    def pgdata_tmp(self) -> Path:
        return self.root / "postgres.initdb"

    @property
    def pg_log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def initdb_log(self) -> Path:
        return self.root / "initdb.log"

    @property
    def valkey_dir(self) -> Path:
        return self.root / "valkey"

    @property
    def valkey_conf(self) -> Path:
        return self.valkey_dir / "valkey.conf"

    @property
    def valkey_pidfile(self) -> Path:
        return self.valkey_dir / "valkey.pid"

    @property
    def valkey_log(self) -> Path:
        return self.valkey_dir / "valkey.log"


def package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
