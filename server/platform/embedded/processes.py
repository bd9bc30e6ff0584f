"""Locks, ports and processes: what starting a server and finding it again needs."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from server.platform.embedded.layout import HOST, LOCK_TIMEOUT, POLL, EmbeddedError


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive flock on ``path``; released when the descriptor closes.

    The descriptor is not inheritable (PEP 446), so the servers we spawn do not keep it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedError(f"timed out after {timeout:.0f}s waiting for the lock {path}") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def read_ports(path: Path) -> dict[str, int]:
    """The ports remembered from an earlier run, so that URLs stay stable across runs."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, int)}


def write_ports(path: Path, ports: dict[str, int]) -> None:
    """Write atomically, so a crash never leaves a half-written state file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ports) + "\n")
    tmp.replace(path)


def port_is_free(port: int) -> bool:
    """Whether a server could listen on HOST:port now.

    SO_REUSEADDR, as both servers use, so that connections of a previous run still in
    TIME_WAIT do not make us abandon the remembered port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int | None, avoid: set[int]) -> int:
    """The remembered port if it is still free, else one the kernel hands out."""
    if preferred and preferred not in avoid and port_is_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process, reaping it if it is our child."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return _proc_state(pid) != "Z"


def _proc_state(pid: int) -> str | None:
    """The process state letter from /proc (Linux only; None elsewhere)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat_line.rpartition(")")[2].split()[0]


def _proc_name(pid: int) -> str | None:
    """The executable name from /proc (Linux only; None elsewhere, where we skip the check)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _proc_cwd(pid: int) -> Path | None:
    """The working folder from /proc (Linux only; None elsewhere, where we skip the check)."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def is_process(pid: int, name_prefix: str, cwd: Path) -> bool:
    """Alive and, where we can tell, our server rather than a process that reused the pid.

    Both servers chdir into their data folder, so the working folder tells whose it is.
    """
    if not pid_alive(pid):
        return False
    name, actual_cwd = _proc_name(pid), _proc_cwd(pid)
    if name is not None and not name.startswith(name_prefix):
        return False
    return actual_cwd is None or actual_cwd == cwd.resolve()


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait for ``pid`` to exit; True if it did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def terminate(pid: int) -> None:
    """Last resort when a polite stop did not work: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_gone(pid, 5.0):
            return
    raise EmbeddedError(f"process {pid} did not exit even after SIGKILL")


def last_error(log: Path, since: int = 0) -> str:
    """The most telling line of a server log written after offset ``since``, for messages."""
    try:
        with log.open("rb") as fh:
            fh.seek(since)
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in lines:
        if "already in use" in line:  # the commonest cause, buried under generic FATALs
            return line.strip()
    markers = ("FATAL", "PANIC", "ERROR", "error", "Could not", "aborting", "Fatal")
    for line in reversed(lines):
        if any(m in line for m in markers):
            return line.strip()
    return lines[-1].strip() if lines else ""


def failure(what: str, log: Path, since: int = 0) -> EmbeddedError:
    """A one-line error naming the cause when the log shows it, and the log's path."""
    detail = last_error(log, since)
    return EmbeddedError(f"{what}: {detail} (see {log})" if detail else f"{what} (see {log})")


def log_size(log: Path) -> int:
    try:
        return log.stat().st_size
    except OSError:
        return 0
