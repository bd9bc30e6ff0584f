"""Micro-benchmark of the steps of one change, in-process, one at a time: how long reading the
room, deriving the views, rendering the regions, looking up a session and running the bench's two
commands (with the read ahead, and the number of statements each sends) take, without sockets.

    python -m bench.room_micro [--profile]

Quicker to iterate on than the whole room benchmark. To compare with another source tree (a
worktree of an older commit), run that tree's copy from inside it, with this virtualenv:
``cd /that/tree && PYTHONPATH=/that/tree /this/tree/.venv/bin/python -m bench.room_micro``
(``python -m`` puts the current folder first on the path, ahead of PYTHONPATH).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.seed import seed
from server.app import create_app
from server.audit.service import Actor
from server.config import load_settings
from server.live.events import MeetingChanged, NoPublisher
from server.live.regions import ALL_REGIONS, REGIONS, Region
from server.live.render import region_html
from server.meetings import room as ops
from server.meetings.changes import WRITES, ChangeKind
from server.meetings.commands import RoomCaller
from server.meetings.reading import load_room, read_room
from server.meetings.room.floor import NewHand
from server.meetings.state import Audience, Room, view_for
from server.people import service as people
from server.people.models import User
from server.platform import embedded
from server.platform.migrations import upgrade
from server.platform.runtime import Runtime

CHANGE = REGIONS[ChangeKind.QUEUE]
FLOOR = REGIONS[ChangeKind.FLOOR]


async def timed(name: str, repeat: int, step: Callable[[], Awaitable[Any]], out: dict[str, float]) -> None:
    for _ in range(5):
        await step()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await step()
        samples.append(1000 * (time.perf_counter() - started))
    out[name] = statistics.median(samples)
    print(f"{name:<52} {out[name]:7.3f} ms (median of {repeat})")


class Holder(NoPublisher):
    """Stands for this process's live feed: holds the room, and takes the one each change hands over."""

    def __init__(self, room: Room) -> None:
        self.room = room

    def room_now(self, meeting_id: uuid.UUID) -> Room | None:
        return self.room

    async def meeting_changed(self, change: MeetingChanged) -> None:
        assert change.room is not None, "the room is read ahead"
        self.room = change.room


async def commands(runtime: Runtime, spec: Any, room: Room, repeat: int, out: dict[str, float]) -> None:
    """The bench's change: the chair raises a hand for someone, then gives the next speaker the
    floor; each command's transaction and read ahead, and its statements counted."""
    holder = Holder(room)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    chair_id = uuid.UUID(spec.chair.user_id)
    people_ids = [uuid.UUID(m.user_id) for m in spec.members[1:]]
    samples: dict[str, list[float]] = {"raise a hand for someone": [], "next speaker": []}
    counted: dict[str, int] = {}
    for n in range(repeat + 5):
        for name in samples:
            async with runtime.sessionmaker() as session:
                chair = await session.get(User, chair_id)
                assert chair is not None
                caller = RoomCaller(session, holder, Actor(chair_id), chair, runtime.settings)
                statements[0] = 0
                started = time.perf_counter()
                if name == "next speaker":
                    await caller.run(ops.floor_next, room.meeting.id)
                else:
                    await caller.run(ops.raise_hand, room.meeting.id, NewHand(user_id=people_ids[n % len(people_ids)]))
                if n >= 5:
                    samples[name].append(1000 * (time.perf_counter() - started))
                counted[name] = statements[0]
    event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    for name, taken in samples.items():
        out[name] = statistics.median(taken)
        print(f"command: {name:<43} {out[name]:7.3f} ms (median of {repeat}), {counted[name]} statements")


async def run(args: argparse.Namespace, database_url: str, redis_url: str, folder: Path) -> None:
    meetings = await seed(database_url, args.size, args.size)
    meeting_id = uuid.UUID(meetings[0].meeting_id)
    settings = load_settings(
        {
            "ROUNDTABLE_DATABASE_URL": database_url,
            "ROUNDTABLE_REDIS_URL": redis_url,
            "ROUNDTABLE_SECRET_KEY": "x" * 40,
            "ROUNDTABLE_DATA_DIR": str(folder),
        }
    )
    runtime = Runtime(settings, database_url, redis_url)
    app = create_app(runtime)
    env = app.template_engine.engine  # type: ignore[union-attr]
    token = meetings[0].members[1].token
    out: dict[str, float] = {}
    rooms: list[Any] = []

    async def read() -> None:
        async with runtime.sessionmaker() as session:
            rooms[:] = [await load_room(session, meeting_id)]

    await read()
    room = rooms[0]
    now = room.meeting.started_at

    async def views() -> None:
        for audience in Audience:
            view_for(room, audience, now, frozenset())

    def renderer(regions: frozenset[Region], audiences: tuple[Audience, ...]) -> Callable[[], Awaitable[None]]:
        prepared = [view_for(room, a, now, frozenset()) for a in audiences]

        async def step() -> None:
            for view in prepared:
                region_html(env, view, regions)

        return step

    async def lookup() -> None:
        async with runtime.sessionmaker() as session:
            await people.user_for_session(session, settings, token)

    async def broadcast_work() -> None:
        async with runtime.sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            again = await read_room(session, meeting_id, WRITES[ChangeKind.QUEUE], room)
            await session.commit()
        for audience in Audience:
            region_html(env, view_for(again, audience, now, frozenset()), CHANGE)

    await timed("load_room (one session, pool checkout included)", args.repeat, read, out)
    await timed("view_for x 3 audiences", args.repeat, views, out)
    for region in Region:
        chair = renderer(frozenset({region}), (Audience.CHAIR,))
        await timed(f"render {region.value} (chair)", args.repeat, chair, out)
    await timed("render a hand's regions x 3 audiences (queue)", args.repeat, renderer(CHANGE, tuple(Audience)), out)
    await timed(
        "render a next speaker's x 3 (floor, queue, unheard, balance)",
        args.repeat,
        renderer(FLOOR, tuple(Audience)),
        out,
    )
    whole = renderer(ALL_REGIONS, (Audience.PROFESSIONALS,))
    await timed("render the whole room, 1 audience (on connect)", args.repeat, whole, out)
    await timed("user_for_session (AuthMiddleware, per request)", args.repeat, lookup, out)
    await timed("broadcast work of a hand (its parts read + 3 renders)", args.repeat, broadcast_work, out)
    await commands(runtime, meetings[0], room, args.repeat, out)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            await broadcast_work()
            await lookup()
        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(45)
        print(stream.getvalue())
    await runtime.close()


def main() -> int:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--size", type=int, default=20)
    top.add_argument("--repeat", type=int, default=200)
    top.add_argument("--profile", action="store_true", help="cProfile the broadcast work and the session lookup")
    args = top.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="roundtable-micro-"))
    servers = embedded.ensure_running(folder / "servers")
    try:
        upgrade(servers.database_url)
        try:
            import uvloop

            uvloop.run(run(args, servers.database_url, servers.redis_url, folder))
        except ImportError:
            asyncio.run(run(args, servers.database_url, servers.redis_url, folder))
    finally:
        embedded.stop(servers)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
