"""The load generator of the live-room benchmark: one light asyncio process (uvloop when
available) holding every participant's socket, and the chairs' HTTP connections.

Participants connect the way a browser does: the session cookie, the server's own Origin, the
default HTML format (htmx out-of-band fragments) and permessage-deflate offered. The chairs
change their meetings at a steady, open-loop rate (each change is sent at its scheduled time
whatever happened to the previous ones). For every change we keep

  t0      just before the chair's request is written to its (kept-alive) connection,
  first   the first of the meeting's participants to receive a message after t0,
  last    the last of them to do so (every participant of the meeting, the chair included),
  http    when the chair's response arrived,

and the server's RSS before and after the sockets are connected, and the CPU time the server,
PostgreSQL, Valkey, this process and everything else on the machine used during the changes.

Run by bench.room_bench (which writes the spec); not meant to be started by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.seed import MeetingSpec, spec_from_json

CSRF = "bench-csrf-token-0123456789abcdef"
COMPLETE_TIMEOUT = 30.0  # a change not seen by everyone after this long counts as lost
SEQUENTIAL_GAP = 0.05  # between one change reaching everyone and the next, one at a time
SEQUENTIAL_SECONDS = 0.07  # about how long one change takes, one at a time, gap included


def log(*parts: object) -> None:
    print("[loadgen]", *parts, file=sys.stderr, flush=True)


@dataclass
class Change:
    meeting: int
    kind: str
    size: int
    t0: float = 0.0
    http_at: float | None = None
    status: int | None = None
    first: float | None = None
    last: float | None = None
    got: int = 0
    seen: list[bool] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Counters:
    messages: int = 0
    bytes: int = 0
    last_message: float = 0.0
    closed: int = 0
    close_reasons: dict[str, int] = field(default_factory=dict)


class Http:
    """A minimal HTTP/1.1 client with keep-alive, one per chair (httpx would cost this process
    more CPU than the measurement can afford). Like a browser, it reuses an idle connection,
    opens another when all are busy, and does not reuse one idle for longer than uvicorn keeps
    it open (5 s); connecting on loopback takes ~0.1 ms and happens before t0."""

    IDLE = 4.0

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    async def warm(self) -> None:
        reader, writer = await self.open()
        self.idle.append((reader, writer, time.monotonic()))

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, used = self.idle.pop()
            if time.monotonic() - used < self.IDLE and not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return await self.open()

    async def post(self, path: str, body: bytes, on_send: Callable[[], None]) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: {self.cookie}; csrftoken={CSRF}\r\nX-CSRFToken: {CSRF}\r\n"
            f"Origin: http://{self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        reader, writer = await self.take()
        on_send()
        for attempt in range(2):
            try:
                writer.write(head + body)
                raw = await reader.readuntil(b"\r\n\r\n")
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if attempt:
                    raise
                reader, writer = await self.open()  # closed under us: resend once, as a browser does
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        data = await reader.readexactly(length) if length else b""
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, data

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


def negotiated(ws: ClientConnection) -> str:
    """permessage-deflate as the server accepted it: off, lean (no context takeover on the
    server's side: no per-socket compressor) or standard."""
    extensions = ws.protocol.extensions
    if not extensions:
        return "off"
    return "lean" if getattr(extensions[0], "remote_no_context_takeover", False) else "standard"


class Load:
    def __init__(self, args: argparse.Namespace, meetings: list[MeetingSpec]) -> None:
        self.args = args
        self.meetings = meetings
        self.size = len(meetings[0].members)
        self.url = args.url.rstrip("/")
        self.change_url = (args.change_url or args.url).rstrip("/")
        # changes in flight per meeting: under overload the server merges several into one message
        self.pending: list[list[Change]] = [[] for _ in meetings]
        self.counters = Counters()
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.samples: dict[str, dict[str, str]] = {}  # change kind -> audience -> message
        self.whole: dict[str, str] = {}  # audience -> the whole room sent on connect
        self.compression = ""  # what the server negotiated: standard, lean or off
        self.https: list[Http] = []
        self.cycle = [0] * len(meetings)
        self.hands: list[list[str]] = [[] for _ in meetings]

    # --- sockets ---------------------------------------------------------------------------

    def socket_url(self, meeting: MeetingSpec, audience: str) -> str:
        base = self.url.replace("http://", "ws://") + f"/ws/meetings/{meeting.meeting_id}"
        return base + (f"?audience={audience}" if self.args.target == "floor" else "")

    async def connect_one(self, mi: int, pi: int, gate: asyncio.Semaphore) -> None:
        meeting = self.meetings[mi]
        member = meeting.members[pi]
        async with gate:
            for attempt in range(5):
                try:
                    ws = await connect(
                        self.socket_url(meeting, member.audience),
                        additional_headers={"Cookie": f"rt_session={member.token}"},
                        origin=Origin(self.url),
                        ping_interval=None,  # browsers do not ping; they answer the server's pings
                        max_size=2**23,
                        open_timeout=120,
                        close_timeout=2,
                        user_agent_header="Mozilla/5.0 (bench)",
                        compression=None if self.args.no_deflate else "deflate",
                    )
                    break
                except (OSError, websockets.InvalidStatus, TimeoutError) as error:
                    if attempt == 4:
                        raise
                    log(f"connect retry {attempt + 1}: {error!r}")
                    await asyncio.sleep(0.5 * (attempt + 1))
            first = await ws.recv()  # the whole room, sent on connect
            self.whole.setdefault(member.audience, str(first))
            if not self.compression:
                self.compression = negotiated(ws)
        self.sockets.append(ws)
        self.readers.append(asyncio.create_task(self.read(ws, mi, pi, member.audience)))

    async def read(self, ws: ClientConnection, mi: int, pi: int, audience: str) -> None:
        counters = self.counters
        try:
            async for message in ws:
                now = time.perf_counter()
                counters.messages += 1
                counters.bytes += len(message)
                counters.last_message = now
                for change in self.pending[mi]:
                    if change.seen[pi] or now < change.t0:
                        continue
                    change.seen[pi] = True
                    change.got += 1
                    change.sizes.setdefault(audience, len(message))
                    self.samples.setdefault(change.kind, {}).setdefault(audience, str(message))
                    if change.first is None:
                        change.first = now
                    if change.got == self.size:
                        change.last = now
                        change.done.set()
        except websockets.ConnectionClosed as closed:
            counters.closed += 1
            reason = f"{closed.rcvd.code if closed.rcvd else 'none'} {closed.rcvd.reason if closed.rcvd else ''}"
            counters.close_reasons[reason] = counters.close_reasons.get(reason, 0) + 1

    async def connect_all(self) -> float:
        gate = asyncio.Semaphore(self.args.concurrency)
        order = [(mi, pi) for mi in range(len(self.meetings)) for pi in range(self.size)]
        random.Random(7).shuffle(order)
        started = time.perf_counter()
        await asyncio.gather(*(self.connect_one(mi, pi, gate) for mi, pi in order))
        return time.perf_counter() - started

    async def quiet(self, seconds: float, limit: float = 300.0) -> float:
        """Wait until no message has arrived for ``seconds`` (presence updates settle)."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            idle = time.perf_counter() - max(self.counters.last_message, started)
            if idle >= seconds:
                break
            await asyncio.sleep(0.1)
        return time.perf_counter() - started

    async def close_all(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        for http in self.https:
            http.close()

    # --- changes -------------------------------------------------------------------------------

    async def open_chairs(self) -> None:
        host, port = urlsplit(self.change_url).hostname or "127.0.0.1", urlsplit(self.change_url).port or 80
        self.https = [Http(host, port, f"rt_session={m.chair.token}") for m in self.meetings]
        await asyncio.gather(*(h.warm() for h in self.https))

    def next_request(self, mi: int) -> tuple[str, str, bytes]:
        """The chair's next change in meeting ``mi``: raise a hand for someone (without a device),
        then give the floor to the head of the queue, and so on."""
        meeting = self.meetings[mi]
        step = self.cycle[mi]
        self.cycle[mi] += 1
        others = [m for m in meeting.members if m.audience != "chair"]
        if self.args.target == "floor":
            kind = "hand" if self.args.change == "hand" or step % 2 == 0 else "next"
            return kind, f"/change/{meeting.meeting_id}?kind={kind}", b""
        base = f"/api/meetings/{meeting.meeting_id}"
        if self.args.change == "hand":
            person = others[step % len(others)]
            return "hand", base + "/hands", json.dumps({"user_id": person.user_id}).encode()
        if step % 2 == 0:
            person = others[(step // 2) % len(others)]
            return "hand", base + "/hands", json.dumps({"user_id": person.user_id}).encode()
        return "next", base + "/floor/next", b"{}"

    async def one_change(self, mi: int, at: float, results: list[Change]) -> None:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        kind, path, body = self.next_request(mi)
        change = Change(mi, kind, self.size, seen=[False] * self.size)
        results.append(change)

        def on_send() -> None:  # t0: just before the request is written
            change.t0 = time.perf_counter()
            self.pending[mi].append(change)

        try:
            status, data = await self.https[mi].post(path, body, on_send)
            change.status = status
            change.http_at = time.perf_counter()
            if status >= 300:
                log(f"change {kind} in meeting {mi}: HTTP {status} {data[:200]!r}")
        except Exception as error:
            log(f"change {kind} in meeting {mi} failed: {error!r}")
            change.status = -1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(change.done.wait(), COMPLETE_TIMEOUT)
        if change in self.pending[mi]:
            self.pending[mi].remove(change)

    async def run_changes(self, changes: int, rate: float) -> tuple[list[Change], float]:
        """Open loop: change k is sent at start + k / rate, to the meetings in turn (shuffled),
        so a meeting has at most one change in flight while latencies stay below
        meetings / rate seconds (beyond that, a message counts for every change sent before it).
        A rate of 0 is one meeting at a time: each change is sent SEQUENTIAL_GAP after the one
        before has reached all its participants, so only one is ever in flight."""
        order = list(range(len(self.meetings)))
        random.Random(11).shuffle(order)
        results: list[Change] = []
        start = time.perf_counter() + 0.2
        if rate <= 0:
            for k in range(changes):
                await self.one_change(order[k % len(order)], time.perf_counter() + SEQUENTIAL_GAP, results)
            return results, time.perf_counter() - start
        tasks = [
            asyncio.create_task(self.one_change(order[k % len(order)], start + k / rate, results))
            for k in range(changes)
        ]
        await asyncio.gather(*tasks)
        return results, time.perf_counter() - start


# --- measurement helpers ---------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: list[float]) -> dict[str, float | None]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
        "mean": statistics.fmean(values) if values else None,
    }


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def settled_rss(pid: int, seconds: float = 3.0) -> int:
    """The smallest RSS sampled over a few seconds (ignores a transient spike)."""
    samples = []
    end = time.time() + seconds
    while time.time() < end:
        samples.append(rss(pid))
        time.sleep(0.25)
    return min(samples)


def tree_cpu(pid: int | None) -> float:
    if not pid:
        return 0.0
    try:
        root = psutil.Process(pid)
        own = root.cpu_times()
        total = own.children_user + own.children_system  # children that have exited (and been reaped)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


def cpu_snapshot(args: argparse.Namespace) -> dict[str, float]:
    system = psutil.cpu_times()
    busy = sum(system) - system.idle - getattr(system, "iowait", 0.0)
    own = psutil.Process(os.getpid()).cpu_times()
    return {
        "server": tree_cpu(args.server_pid),
        "postgres": tree_cpu(args.postgres_pid),
        "valkey": tree_cpu(args.valkey_pid),
        "loadgen": own.user + own.system,
        "machine": busy,
        "wall": time.perf_counter(),
    }


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    wall = after["wall"] - before["wall"]
    used = {k: after[k] - before[k] for k in before if k != "wall"}
    used["other"] = used["machine"] - used["server"] - used["postgres"] - used["valkey"] - used["loadgen"]
    return {f"{k}_cores": round(v / wall, 3) for k, v in used.items()} | {"wall_s": round(wall, 2)}


# --- main ------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    meetings = spec_from_json(json.loads(Path(args.spec).read_text()))  # noqa: ASYNC240 (before any socket)
    load = Load(args, meetings)
    result: dict[str, Any] = {"target": args.target, "participants": len(meetings) * load.size}

    # warm up the server (imports, templates, pools) with one meeting, then measure its RSS
    warm = Load(args, meetings[:1])
    await warm.connect_all()
    await warm.open_chairs()
    await warm.run_changes(2, 5.0)
    await warm.close_all()
    await asyncio.sleep(1.0)
    before = await asyncio.to_thread(settled_rss, args.server_pid)
    log(f"server RSS before: {before / 2**20:.1f} MiB; connecting {result['participants']} sockets")

    connect_s = await load.connect_all()
    settle_s = await load.quiet(2.0)
    after = await asyncio.to_thread(settled_rss, args.server_pid)
    per = (after - before) / result["participants"] / 1024
    log(f"connected in {connect_s:.1f} s, quiet after {settle_s:.1f} s more; RSS {after / 2**20:.1f} MiB")
    log(f"memory per connected participant: {per:.1f} KiB")
    result["compression"] = load.compression
    result["connect_seconds"] = round(connect_s, 2)
    result["settle_seconds"] = round(settle_s, 2)
    result["rss_before_mib"] = round(before / 2**20, 2)
    result["rss_connected_mib"] = round(after / 2**20, 2)
    result["kib_per_participant"] = round(per, 2)
    result["messages_while_connecting"] = load.counters.messages

    await load.open_chairs()
    result["runs"] = []
    plan = [(float(r), int(c)) for r, _, c in (spec.partition("x") for spec in args.runs.split(","))]
    for rate, count in plan:
        result["runs"].append(await measure(load, args, rate, count, profile=False))
        await load.quiet(1.0, limit=10)
    if args.profile_out:  # an extra run like the first, with py-spy attached: not in the figures
        rate, count = plan[0]
        result["profiled_run"] = await measure(load, args, rate, count, profile=True)
    result["rss_end_mib"] = round(rss(args.server_pid) / 2**20, 2)
    result["sockets_closed_by_server"] = load.counters.closed
    result["close_reasons"] = load.counters.close_reasons
    if args.payloads_out:
        payloads = json.dumps({"changes": load.samples, "whole": load.whole})
        await asyncio.to_thread(Path(args.payloads_out).write_text, payloads)
    await load.close_all()
    return result


async def wait_quiet(args: argparse.Namespace) -> dict[str, float]:
    """The machine may be shared: wait (up to --wait-quiet seconds) until processes other than
    the benchmark's have used less than --quiet-cores for three seconds in a row."""
    started, calm = time.perf_counter(), 0
    other = 0.0
    while args.wait_quiet > 0 and time.perf_counter() - started < args.wait_quiet:
        before = cpu_snapshot(args)
        await asyncio.sleep(1.0)
        other = cpu_delta(before, cpu_snapshot(args))["other_cores"]
        calm = calm + 1 if other < args.quiet_cores else 0
        if calm >= 3:
            break
    waited = round(time.perf_counter() - started, 1)
    if args.wait_quiet > 0:
        log(f"waited {waited} s for a quiet machine (other processes: {other:.2f} cores)")
    return {"waited_s": waited, "other_cores_before": round(other, 3)}


async def measure(load: Load, args: argparse.Namespace, rate: float, count: int, *, profile: bool) -> dict[str, Any]:
    quiet = await wait_quiet(args)
    expected_s = count * SEQUENTIAL_SECONDS if rate <= 0 else count / rate  # how long py-spy samples
    spy = subprocess_profile(args, expected_s) if profile else None
    before_cpu = cpu_snapshot(args)
    messages_before = load.counters.messages
    pace = "one meeting at a time" if rate <= 0 else f"at {rate:g}/s"
    log(f"run: {count} changes {pace}" + (" (profiled)" if spy else ""))
    changes, wall = await load.run_changes(count, rate)
    after_cpu = cpu_snapshot(args)
    if spy is not None:
        await asyncio.to_thread(spy.wait)
    done = [c for c in changes if c.last is not None and c.status is not None and 0 < c.status < 300]
    ms = [1000 * (c.last - c.t0) for c in done if c.last is not None]
    first = [1000 * (c.first - c.t0) for c in done if c.first is not None]
    http = [1000 * (c.http_at - c.t0) for c in done if c.http_at is not None]
    by_kind = {
        kind: summary([1000 * (c.last - c.t0) for c in done if c.kind == kind and c.last is not None])
        for kind in sorted({c.kind for c in changes})
    }
    sizes: dict[str, list[int]] = {}
    for c in done:
        for audience, size in c.sizes.items():
            sizes.setdefault(f"{c.kind}/{audience}", []).append(size)
    run = {
        "rate_per_s": rate,
        "changes": count,
        "completed": len(done),
        "errors": sum(1 for c in changes if c.status is None or not 0 < c.status < 300),
        "incomplete": sum(1 for c in changes if c.last is None),
        "achieved_rate_per_s": round(len(changes) / wall, 2),
        "last_ms": summary(ms),
        "first_ms": summary(first),
        "http_ms": summary(http),
        "last_ms_by_kind": by_kind,
        "message_bytes": {k: round(statistics.fmean(v)) for k, v in sorted(sizes.items())},
        "messages_received": load.counters.messages - messages_before,
        "cpu": cpu_delta(before_cpu, after_cpu),
        "quiet": quiet,
        "statuses": dict(Counter(str(c.status) for c in changes)),
        "per_change": [
            [
                c.kind,
                c.status,
                round(1000 * (c.t0 - changes[0].t0), 2),
                None if c.http_at is None else round(1000 * (c.http_at - c.t0), 2),
                None if c.first is None else round(1000 * (c.first - c.t0), 2),
                None if c.last is None else round(1000 * (c.last - c.t0), 2),
                c.got,
            ]
            for c in changes
        ],
    }
    if ms:
        log(
            f"  last p50 {run['last_ms']['p50']:.1f} ms, p99 {run['last_ms']['p99']:.1f} ms; "
            f"first p50 {run['first_ms']['p50']:.1f} ms; http p50 {run['http_ms']['p50']:.1f} ms; "
            f"errors {run['errors']}, incomplete {run['incomplete']}; cpu {run['cpu']}"
        )
    else:
        log(f"  nothing completed: errors {run['errors']}, incomplete {run['incomplete']}")
    return run


def subprocess_profile(args: argparse.Namespace, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy, attached to the server for the length of the first run (collapsed stacks)."""
    command = [
        args.py_spy,
        "record",
        "--pid",
        str(args.server_pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        args.profile_out,
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--spec", required=True)
    top.add_argument("--target", choices=["real", "floor"], required=True)
    top.add_argument("--url", required=True, help="where the sockets connect")
    top.add_argument("--change-url", help="where the chairs send changes (default: --url)")
    top.add_argument("--change", choices=["cycle", "hand"], default="cycle")
    top.add_argument("--server-pid", type=int, required=True)
    top.add_argument("--postgres-pid", type=int)
    top.add_argument("--valkey-pid", type=int)
    top.add_argument("--concurrency", type=int, default=40, help="sockets connecting at once")
    top.add_argument("--runs", default="20x600", help="RATExCOUNT[,RATExCOUNT...]")
    top.add_argument("--wait-quiet", type=float, default=120.0, help="see wait_quiet(); 0 to skip")
    top.add_argument("--quiet-cores", type=float, default=0.25)
    top.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    top.add_argument("--payloads-out")
    top.add_argument("--profile-out")
    top.add_argument("--py-spy", default="py-spy")
    top.add_argument("--out", required=True)
    args = top.parse_args()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(main_async(args))
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
