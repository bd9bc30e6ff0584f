"""What a Valkey crash and a PostgreSQL restart cost the people using Roundtable, in seconds.

    python -m bench.outages                 # 3 trials of each fault, median and worst reported
    python -m bench.outages --trials 5

Starts a dedicated PostgreSQL and Valkey (tests/faults.py), a `roundtable serve` and a
`roundtable worker` against them, a mail server on loopback, and a signed-in chair. Then, per
trial:

* **Valkey SIGKILL**: a chair's change and a refused sign-in while it is down (latency); after
  `start_valkey()` returns, polled every 20 ms: the first successful sign-in, and the delivery of
  an e-mail that a change queued during the outage (the worker reconnecting by itself).
* **PostgreSQL fast shutdown**: how long calls take to answer 503 while it is down; after
  `start_postgres()` returns, polled every 20 ms: the first successful read and change; then an
  e-mail queued by a change after the restart, until it is delivered.

The servers' own stop and start times are reported too, for the whole outage as people see it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from tests.faults import Caller, FaultServers, Roundtable, create_action, fault_servers, hand_to_lead, mail_to
from tests.smtp import SmtpSink, running_sink
from tests.support import Team

POLL = 0.02

Timings = dict[str, list[float]]


async def seconds(action: Callable[[], Awaitable[object]]) -> float:
    started = time.monotonic()
    await action()
    return time.monotonic() - started


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> float:
    """Seconds until ``check`` first holds, polling every POLL."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise RuntimeError(f"not within {within} s")
        await asyncio.sleep(POLL)
    return time.monotonic() - started


async def valkey_trial(servers: FaultServers, web: Roundtable, team: Team, smtp: SmtpSink, out: Timings) -> None:
    chair, visitor = Caller(web.url), Caller(web.url)
    assert (await chair.sign_in(team.chair.email)).status_code == 200
    servers.kill_valkey()
    title = f"Valkey trial {time.monotonic():.3f}"
    change = await chair.call("POST", f"/api/meetings/{team.meeting.id}/agenda", json={"title": title})
    assert change.status_code == 201, change.text
    out["valkey: a change while it is down (s)"].append(chair.answers[-1].seconds)
    assert (await visitor.sign_in(team.lead.email)).status_code == 503
    out["valkey: a sign-in refused while it is down (s)"].append(visitor.answers[-1].seconds)
    await hand_to_lead(chair, team, await create_action(chair, team, title))
    out["valkey: its own start (s)"].append(await seconds(lambda: asyncio.to_thread(servers.start_valkey)))
    back = time.monotonic()

    async def signed_in() -> bool:
        return (await visitor.sign_in(team.lead.email)).status_code == 200

    out["valkey back: first sign-in succeeds after (s)"].append(await until(signed_in))
    await mail_to(smtp, team.lead.email, title, within=30)
    out["valkey back: e-mail of the outage's change delivered after (s)"].append(time.monotonic() - back)
    assert chair.errors() == [], chair.errors()
    assert visitor.errors() == [], visitor.errors()


async def postgres_trial(servers: FaultServers, web: Roundtable, team: Team, smtp: SmtpSink, out: Timings) -> None:
    chair = Caller(web.url)
    assert (await chair.sign_in(team.chair.email)).status_code == 200
    meeting = f"/api/meetings/{team.meeting.id}"
    stopping = await seconds(lambda: asyncio.to_thread(servers.stop_postgres_fast))
    out["postgres: its own fast shutdown (s)"].append(stopping)
    for method, path in (("GET", meeting), ("GET", "/"), ("POST", f"{meeting}/agenda")):
        answer = await chair.call(method, path, json={"title": "x"})
        assert answer.status_code == 503, answer.text
        out["postgres: a call answers 503 while it is down (s)"].append(chair.answers[-1].seconds)
    out["postgres: its own start (s)"].append(await seconds(lambda: asyncio.to_thread(servers.start_postgres)))

    async def read() -> bool:
        return (await chair.call("GET", meeting)).status_code == 200

    out["postgres back: first read succeeds after (s)"].append(await until(read))
    title = f"Postgres trial {time.monotonic():.3f}"
    assert (await chair.call("POST", f"{meeting}/agenda", json={"title": title})).status_code == 201
    out["postgres back: a change succeeds in (s)"].append(chair.answers[-1].seconds)
    queued = time.monotonic()
    await hand_to_lead(chair, team, await create_action(chair, team, title))
    await mail_to(smtp, team.lead.email, title, within=30)
    out["postgres back: e-mail of a new change delivered after (s)"].append(time.monotonic() - queued)
    assert chair.errors() == []


async def measure(servers: FaultServers, trials: int) -> Timings:
    team = await servers.make_team()
    out: Timings = defaultdict(list)
    with running_sink() as smtp:
        no_cache = {"ROUNDTABLE_SESSION_CACHE_SECONDS": "0"}  # every call asks PostgreSQL who it is
        async with (
            servers.roundtable("serve", **no_cache) as web,
            servers.roundtable("worker", ROUNDTABLE_SMTP_URL=smtp.url) as worker,
        ):
            await asyncio.gather(web.ready(), worker.ready())
            chair = Caller(web.url)
            assert (await chair.sign_in(team.chair.email)).status_code == 200
            assert (await chair.call("POST", f"/api/meetings/{team.meeting.id}/start")).status_code == 200
            for _ in range(trials):
                await valkey_trial(servers, web, team, smtp, out)
                await asyncio.sleep(1)
                await postgres_trial(servers, web, team, smtp, out)
                await asyncio.sleep(1)
            assert web.alive, web.output()
            assert worker.alive, worker.output()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    with fault_servers() as servers:
        out = asyncio.run(measure(servers, args.trials))
    width = max(map(len, out))
    print(f"\n{'':<{width}}  median    worst   ({args.trials} trials)")
    for name, values in out.items():
        print(f"{name:<{width}}  {statistics.median(values):6.3f}  {max(values):7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
