"""Scale-out: two real `serve` processes sharing PostgreSQL and Redis. A change made through one
process reaches the sockets held by the other (Redis pub/sub between the web processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.config import REPO_ROOT
from tests.live_support import Participant, Socket
from tests.support import Team, free_port

SECRET = "two-process-test-secret-key-long-enough-0123456789"


class Server:
    """One `python -m server.cli serve` process with its own port and base URL."""

    def __init__(self, endpoints: tuple[str, str], folder: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
        env.update(
            ROUNDTABLE_DATABASE_URL=endpoints[0],
            ROUNDTABLE_REDIS_URL=endpoints[1],
            ROUNDTABLE_SECRET_KEY=SECRET,
            ROUNDTABLE_BASE_URL=self.url,
            ROUNDTABLE_DATA_DIR=str(folder / name),
            PYTHONUNBUFFERED="1",
        )
        self.log: IO[str] = self.log_path.open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()[-4000:]

    async def ready(self, within: float = 45.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url) as probe:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"the server exited:\n{self.output()}"
                try:
                    if (await probe.get("/sign-in")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the server at {self.url} did not answer:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


@pytest.fixture
def servers(migrated: str, endpoints: tuple[str, str], tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    started: list[Server] = []
    try:
        started.append(Server(endpoints, tmp_path, "a"))
        started.append(Server(endpoints, tmp_path, "b"))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


async def until(socket: Socket, predicate: Any, within: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message = await socket.next(within)
            if isinstance(message, dict) and predicate(message):
                return message


async def refused(connecting: Any) -> bool:
    """Refused at the handshake, or closed before any message."""
    try:
        opened = await connecting
    except InvalidStatus:
        return True
    connection = opened.connection if isinstance(opened, Socket) else opened
    try:
        await asyncio.wait_for(connection.recv(), 5)
    except ConnectionClosed:
        return True
    await connection.close()
    return False


@pytest.mark.slow
async def test_a_decision_made_through_one_process_reaches_sockets_on_the_other(
    servers: tuple[Server, Server], team: Team
) -> None:
    a, b = servers
    await asyncio.gather(a.ready(), b.ready())
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    member = await Participant(a.url, team.member).sign_in()
    family = await Participant(a.url, team.family).sign_in()
    chair = await Participant(b.url, team.chair).sign_in()
    try:
        member_socket = await member.socket(meeting, origin=a.url)
        family_socket = await family.socket(meeting, origin=a.url)
        for s in (member_socket, family_socket):
            assert (await s.next())["type"] == "state"

        # the Origin must be the process's own: A's pages do not open sockets on B
        assert await refused(member.socket(meeting, origin=b.url))

        assert (await chair.post(f"{base}/start")).status_code == 200
        item = await chair.post(f"{base}/agenda", {"title": "Health update"})
        assert item.status_code == 201, item.text
        item_id = item.json()["id"]
        assert (await chair.post(f"{base}/agenda/{item_id}/open")).status_code == 200
        decision = await chair.post(
            f"{base}/decisions",
            {
                "agenda_item_id": item_id,
                "text": "Refer to the community paediatrician",
                "outcome": "agreed",
                "positions": [{"agency_id": str(team.member.agency_id), "position": "agree"}],
            },
        )
        assert decision.status_code == 201, decision.text
        decision_id = decision.json()["id"]

        for s in (member_socket, family_socket):
            message = await until(s, lambda m: any(d["id"] == decision_id for d in m["state"]["decisions"]))
            [seen] = [d for d in message["state"]["decisions"] if d["id"] == decision_id]
            assert seen["text"] == "Refer to the community paediatrician"
            assert seen["positions"][0]["position"] == "agree"
            assert message["state"]["status"] == "live"
            assert message["meeting_id"] == str(meeting)
        await member_socket.close()
        await family_socket.close()
    finally:
        for participant in (member, family, chair):
            await participant.close()
    for server in (a, b):
        assert "Traceback" not in server.output(), server.output()
