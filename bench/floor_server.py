"""The floor for the live-room benchmark: the least a server can do for the same job.

A bare asyncio process (uvloop when available) with
  - a `websockets` server at /ws/meetings/{id}?audience=A: no authentication, no templates; on
    connect it sends the whole-room bytes the real server sent to that audience;
  - a tiny keep-alive HTTP endpoint, POST /change/{id}?kind=K, that commits one PostgreSQL
    transaction with asyncpg (UPDATE meetings SET version = version + 1 on the real row), then
    `websockets.broadcast`s to each audience of that meeting the very bytes the real server sent
    it for a change of that kind, then answers 200.

Same wire settings as the real server (--compression: permessage-deflate as the real server
negotiates it), so the comparison is the application's cost.

    python -m bench.floor_server --database-url postgresql://... --payloads payloads.json \\
        --port 8101 --http-port 8102
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import websockets
from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

Rooms = dict[str, dict[str, set[ServerConnection]]]


async def run(args: argparse.Namespace) -> None:
    payloads: dict[str, Any] = json.loads(Path(args.payloads).read_text())  # noqa: ASYNC240 (at start-up)
    changes: dict[str, dict[str, str]] = payloads["changes"]
    whole: dict[str, str] = payloads["whole"]
    dsn = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
    rooms: Rooms = defaultdict(lambda: defaultdict(set))

    async def socket(ws: ServerConnection) -> None:
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        meeting_id = parts.path.rsplit("/", 1)[-1]
        audience = parse_qs(parts.query).get("audience", ["professionals"])[0]
        group = rooms[meeting_id][audience]
        await ws.send(whole.get(audience, ""))
        group.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            group.discard(ws)

    async def change(meeting_id: str, kind: str) -> None:
        async with pool.acquire() as connection:  # one statement: one committed transaction
            await connection.execute("UPDATE meetings SET version = version + 1 WHERE id = $1", uuid.UUID(meeting_id))
        for audience, group in rooms[meeting_id].items():
            websockets.broadcast(group, changes[kind][audience])

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                parts = urlsplit(target)
                if method == "POST" and parts.path.startswith("/change/"):
                    kind = parse_qs(parts.query).get("kind", ["hand"])[0]
                    await change(parts.path.rsplit("/", 1)[-1], kind)
                    body, status = b'{"ok":true}', "200 OK"
                else:
                    body, status = b'{"error":"not found"}', "404 Not Found"
                head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                writer.write(head.encode() + body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    http_server = await asyncio.start_server(http, args.host, args.http_port, backlog=1024)
    compression: dict[str, Any] = {}
    if args.compression == "off":
        compression = {"compression": None}
    elif args.compression == "lean":  # as server/live/wsdeflate.py: no context takeover
        compression = {
            "compression": None,
            "extensions": [
                ServerPerMessageDeflateFactory(
                    server_no_context_takeover=True,
                    client_no_context_takeover=True,
                    server_max_window_bits=12,
                    client_max_window_bits=12,
                    compress_settings={"memLevel": 5},
                )
            ],
        }
    async with serve(socket, args.host, args.port, max_size=65536, ping_interval=20, backlog=1024, **compression):
        print("ready", flush=True)
        async with http_server:
            await asyncio.Future()


def main() -> int:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--database-url", required=True)
    top.add_argument("--payloads", required=True, help="JSON written by the load generator's real run")
    top.add_argument("--host", default="127.0.0.1")
    top.add_argument("--port", type=int, required=True, help="websocket port")
    top.add_argument("--http-port", type=int, required=True, help="change endpoint port")
    top.add_argument(
        "--compression",
        choices=["standard", "lean", "off"],
        default="standard",
        help="permessage-deflate as the real server negotiates it (standard: websockets' and uvicorn's "
        "defaults; lean: without context takeover; off)",
    )
    args = top.parse_args()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
