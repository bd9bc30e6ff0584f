"""Servers a test may break on purpose, and Roundtable processes that live through it.

:func:`fault_servers` starts a dedicated PostgreSQL and Valkey (the embedded ones, in a folder of
their own, on ports of their own), migrated, and hands back a :class:`FaultServers` that
takes them down and brings them back the way production loses them::

    @pytest.fixture(scope="module")
    def servers() -> Iterator[FaultServers]:
        with fault_servers() as servers:
            yield servers

    servers.kill_valkey()          # SIGKILL: a crash, an OOM kill, a pulled plug
    servers.start_valkey()         # the same port and the same data (its append-only file)
    servers.stop_postgres_fast()   # pg_ctl -m fast: every connection cut, open transactions rolled back
    servers.start_postgres()

    async with servers.roundtable("serve") as web, servers.roundtable("worker") as worker:
        await web.ready(); await worker.ready()
        chair = Caller(web.url)
        await chair.sign_in(team.chair.email)
        ...                         # web.url, worker.alive, web.output(), chair.answers

Each :class:`Roundtable` is a real `roundtable` command (serve, worker or run) in its own process,
configured through the environment exactly as an operator would, logging to a file the test can
read. They are stopped with SIGTERM when the block ends. A :class:`Caller` is a browser-like
client that keeps every answer it got, so that a test can say what people saw. Nothing here
touches the suite's shared servers, so a test may break these freely.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from server.config import REPO_ROOT, load_settings
from server.platform import embedded
from server.platform.embedded.layout import Layout
from server.platform.embedded.postgres import ensure_postgres, stop_postgres
from server.platform.embedded.processes import port_is_free, wait_gone, write_ports
from server.platform.embedded.valkey import ensure_valkey
from server.platform.migrations import upgrade
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.smtp import Received, SmtpSink
from tests.support import PASSWORD, Team, csrf, make_team

SECRET = "fault-test-secret-key-that-is-long-enough-0123456789"
ROUNDTABLE = [sys.executable, "-m", "server.cli"]


class FaultServers:
    """A PostgreSQL and a Valkey of one test (or module), to stop, kill and start again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.layout = Layout(folder / "servers")
        self.layout.root.mkdir(parents=True)
        write_ports(self.layout.ports, {"postgres": quiet_port(), "valkey": quiet_port()})
        started = embedded.ensure_running(self.layout.root)
        self._embedded = started
        self.database_url = started.database_url
        self.redis_url = started.redis_url
        self.postgres_port = _port(started.database_url)
        self.valkey_port = _port(started.redis_url)
        upgrade(self.database_url)

    # --- Valkey -------------------------------------------------------------------------------

    @property
    def valkey_running(self) -> bool:
        return self._embedded.valkey_started

    def kill_valkey(self) -> None:
        """SIGKILL, as a crash would: no snapshot, no goodbye to the clients."""
        os.kill(self._embedded.valkey_pid, signal.SIGKILL)
        if not wait_gone(self._embedded.valkey_pid, 10):
            raise RuntimeError("Valkey outlived SIGKILL")
        self._embedded.valkey_started = False

    def start_valkey(self) -> None:
        """On the same port, from the same data folder (what the append-only file kept)."""
        port, pid, _ = ensure_valkey(self.layout, self.valkey_port, avoid={self.postgres_port})
        if port != self.valkey_port:
            raise RuntimeError(f"Valkey came back on port {port}, not {self.valkey_port}")
        self._embedded.valkey_pid = pid
        self._embedded.valkey_started = True

    # --- PostgreSQL ---------------------------------------------------------------------------

    @property
    def postgres_running(self) -> bool:
        return self._embedded.postgres_started

    def stop_postgres_fast(self) -> None:
        """pg_ctl -m fast: connections are cut and open transactions rolled back, as in a
        restart for maintenance or a fail-over."""
        stop_postgres(self.layout, self._embedded.postgres_pid)
        self._embedded.postgres_started = False

    def start_postgres(self) -> None:
        try:
            port, pid, _ = ensure_postgres(self.layout, self.postgres_port, avoid={self.valkey_port})
        except embedded.EmbeddedError as error:
            raise AssertionError(f"{error}\n{self.layout.pg_log.read_text()[-3000:]}") from error
        if port != self.postgres_port:
            raise RuntimeError(f"PostgreSQL came back on port {port}, not {self.postgres_port}")
        self._embedded.postgres_pid = pid
        self._embedded.postgres_started = True

    # --- processes ----------------------------------------------------------------------------

    def environment(self, **extra: str) -> dict[str, str]:
        """What an operator sets to point Roundtable at these servers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_") and k not in ("HOST", "PORT")}
        env.update(
            ROUNDTABLE_DATABASE_URL=self.database_url,
            ROUNDTABLE_REDIS_URL=self.redis_url,
            ROUNDTABLE_SECRET_KEY=SECRET,
            ROUNDTABLE_DATA_DIR=str(self.folder / "data"),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    @asynccontextmanager
    async def roundtable(self, command: str, *args: str, **env: str) -> AsyncIterator[Roundtable]:
        """`roundtable COMMAND ARGS` against these servers, stopped (SIGTERM) at the end."""
        process = Roundtable(self, command, list(args), env)
        try:
            yield process
        finally:
            await asyncio.to_thread(process.stop)

    @asynccontextmanager
    async def runtime(self) -> AsyncIterator[Runtime]:
        """A process's runtime (engine, Redis) against these servers, for the test's own work."""
        runtime = Runtime(load_settings(self.environment()), self.database_url, self.redis_url)
        try:
            yield runtime
        finally:
            await runtime.close()

    async def make_team(self) -> Team:
        """tests.support's team (a case, its people, a scheduled meeting) in this database."""
        async with self.runtime() as runtime:
            return await make_team(runtime)

    async def forget_sign_in_attempts(self) -> None:
        """Empty Valkey (the sign-in counts among it), so that one test's guesses do not lock
        the next test's people out."""
        async with self.runtime() as runtime:
            await runtime.redis.flushdb()

    def close(self) -> None:
        embedded.stop(self._embedded)


@contextmanager
def fault_servers() -> Iterator[FaultServers]:
    """Servers in a fresh folder under the system's temporary folder, removed afterwards. Not
    under pytest's own: pytest takes others' permissions off that one whenever it starts, and as
    root PostgreSQL runs as a user of its own, which must be able to reach its data."""
    with tempfile.TemporaryDirectory(prefix="roundtable-faults-") as folder:
        servers = FaultServers(Path(folder))
        try:
            yield servers
        finally:
            servers.close()


class Roundtable:
    """One `roundtable` process. `serve` and `run` listen on a free port of their own."""

    def __init__(self, servers: FaultServers, command: str, args: list[str], env: dict[str, str]) -> None:
        self.command = command
        self.port = quiet_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = servers.environment(ROUNDTABLE_BASE_URL=self.url, PORT=str(self.port), **env)
        self.log_path = servers.folder / f"{command}-{self.port}.log"
        self._log: IO[str] = self.log_path.open("w+")
        self.process = subprocess.Popen(
            [*ROUNDTABLE, command, *args],
            env=environment,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    async def ready(self, within: float = 45.0) -> None:
        """Serving pages (`serve`, `run`), or the worker has started (`worker`)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as probe:
            while time.monotonic() < deadline:
                assert self.alive, f"`roundtable {self.command}` exited:\n{self.output()[-4000:]}"
                if self.command == "worker":
                    if "worker: ready" in self.output():
                        return
                elif self._listening():
                    try:
                        if (await probe.get("/sign-in")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"`roundtable {self.command}` was not ready in {within:.0f} s:\n{self.output()[-4000:]}")

    def _listening(self) -> bool:
        """Whether this process holds the port: on a shared machine, another program may take a
        free port before this one binds it, and its answers must not pass for ours."""
        try:
            sockets = psutil.Process(self.process.pid).net_connections(kind="tcp")
        except psutil.Error:
            return False
        return any(s.status == psutil.CONN_LISTEN and s.laddr.port == self.port for s in sockets)

    async def logged(self, text: str, within: float) -> float:
        """Seconds until the process's log says ``text``."""
        started = time.monotonic()
        while text not in self.output():
            if time.monotonic() - started > within:
                raise AssertionError(f"{text!r} not logged in {within} s:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def stop(self) -> int:
        """SIGTERM, as an operator stops it; the exit status."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()
        return int(self.process.returncode)


@dataclass(frozen=True, slots=True)
class Answer:
    method: str
    path: str
    status: int
    seconds: float


class Caller:
    """A browser-like client of one process (cookies, CSRF) that keeps a record of every answer."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.answers: list[Answer] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if method != "GET":
            kwargs["headers"] = {**csrf(self.http), **kwargs.get("headers", {})}
        started = time.monotonic()
        response = await self.http.request(method, path, **kwargs)
        self.answers.append(Answer(method, path, response.status_code, time.monotonic() - started))
        return response

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        if "csrftoken" not in self.http.cookies:
            await self.call("GET", "/sign-in")
        return await self.call("POST", "/api/session", json={"email": email, "password": password})

    def errors(self) -> list[Answer]:
        """Answers that were our fault: 500 and its kin, but not 503, which is an honest "later"."""
        return [answer for answer in self.answers if answer.status >= 500 and answer.status != 503]

    async def aclose(self) -> None:
        await self.http.aclose()


# --- changes that send e-mail, and the e-mail -------------------------------------------------


async def create_action(chair: Caller, team: Team, title: str) -> str:
    """The chair's action in the meeting for the member, due in two weeks; its id. The meeting
    is started first unless an earlier test of the module (sharing its team) started it."""
    started = await chair.call("POST", f"/api/meetings/{team.meeting.id}/start")
    assert started.status_code == 200 or started.json()["code"] == "already_started", started.text
    body = {
        "title": title,
        "owner_id": str(team.member.id),
        "due_date": (today_local() + timedelta(days=14)).isoformat(),
        "outcome_area": "staying_safe",
    }
    made = await chair.call("POST", f"/api/meetings/{team.meeting.id}/actions", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def hand_to_lead(chair: Caller, team: Team, action_id: str) -> None:
    """The chair hands an action to the lead professional, which e-mails them."""
    body = {"owner_id": str(team.lead.id), "reason": "Health leads on this"}
    moved = await chair.call("PATCH", f"/api/actions/{action_id}", json=body)
    assert moved.status_code == 200, moved.text


async def mail_to(smtp: SmtpSink, address: str, subject: str, within: float) -> Received:
    """The first message to ``address`` that names ``subject`` (an action's title, say) in its
    subject or its text, waited for."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for message in smtp.to(address):
            if subject in message.subject or subject in message.text:
                return message
        await asyncio.sleep(0.02)
    raise AssertionError(f"no e-mail {subject!r} to {address} in {within} s; got {[m.subject for m in smtp.messages]}")


def quiet_port() -> int:
    """A free port below the range the kernel takes ports from for outgoing connections. A server
    stopped on purpose gets its port back when it starts again: no client connection made
    meanwhile, by this test or anything else on the machine, can have been given it."""
    try:
        first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    for _ in range(200):
        port = random.randrange(max(1024, first_ephemeral - 12_000), first_ephemeral)
        if port_is_free(port):
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])
