"""Where the server's time goes, from py-spy's collapsed stacks (`py-spy record --format raw`).

    python -m bench.profile_summary bench/results/profile-after.txt

Every sample is one moment the server's thread was on the CPU (py-spy leaves idle samples out).
Three views:
  - by component: each sample goes to the first known component met walking from the leaf
    towards the root (so a sample in zlib under websockets under the hub counts as "deflate");
  - inclusive, for the application's own steps (a sample counts for every step on its stack);
  - self time of the hottest functions.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")

# (component, test on "function (file)"), first match from the leaf wins
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("deflate (permessage-deflate, zlib)", ("permessage_deflate.py", "zlib")),
    ("jinja templates (rendering HTML)", ("jinja2/", ".html")),
    ("asyncpg (protocol, codecs)", ("asyncpg/",)),
    ("sqlalchemy (ORM, core, pool)", ("sqlalchemy/",)),
    ("redis client", ("redis/",)),
    ("websockets frames (uvicorn, websockets)", ("websockets/", "uvicorn/protocols/websockets")),
    ("HTTP server (uvicorn, httptools)", ("uvicorn/protocols/http", "httptools")),
    ("litestar (routing, DI, serialisation, channels)", ("litestar/", "msgspec")),
    ("equal-voice queue and views (pure)", ("meetings/queue.py", "meetings/state.py")),
    ("cookie parsing (http.cookies)", ("http/cookies.py",)),
    ("logging", ("logging/",)),
    ("asyncio event loop", ("asyncio/", "uvloop")),
]

STEPS: list[tuple[str, str]] = [
    ("feed.step (read + render + queue a change)", "step (server/live/feed.py"),
    ("read_room (read what the change wrote)", "read_room (server/meetings/state.py"),
    ("view_for (derive an audience's view)", "view_for (server/meetings/state.py"),
    ("region_html (render the regions)", "region_html (server/live/render.py"),
    ("Client._write (send to one socket)", "_write (server/live/clients.py"),
    ("AuthMiddleware._identify (session lookup)", "_identify (server/web/security.py"),
    ("RoomCaller.run (the change's transaction)", "run (server/meetings/commands.py"),
    ("generated room routes", "handler (server/web/commands.py"),
    ("presence (Redis)", "(server/live/presence.py"),
]


def parse(text: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            stacks.append((stack.split(";"), int(count)))
        except ValueError:
            continue
    return stacks


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/server/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/server/":
                path = "server/" + path
            break
    return f"{match['func']} ({path})"


def summarise(text: str) -> dict[str, Any]:
    stacks = parse(text)
    total = sum(count for _, count in stacks) or 1
    components: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    selfs: Counter[str] = Counter()
    for frames, count in stacks:
        shorts = [short(f) for f in frames]
        owner = "other (application code, interpreter)"
        for frame in reversed(frames):
            found = next((name for name, keys in COMPONENTS if any(k in frame for k in keys)), None)
            if found:
                owner = found
                break
        components[owner] += count
        joined = ";".join(frames)
        for name, key in STEPS:
            if key in joined:
                steps[name] += count
        if shorts:
            selfs[shorts[-1]] += count

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    report = [f"{total} samples on CPU", "by component (leaf-most known component):"]
    report += [f"  {pct(n)}  {name}" for name, n in components.most_common()]
    report.append("inclusive, application steps:")
    report += [f"  {pct(n)}  {name}" for name, n in steps.most_common()]
    report.append("self time, hottest functions:")
    report += [f"  {pct(n)}  {name}" for name, n in selfs.most_common(25)]
    return {
        "samples": total,
        "components": {k: round(v / total, 4) for k, v in components.most_common()},
        "steps": {k: round(v / total, 4) for k, v in steps.most_common()},
        "self": {k: round(v / total, 4) for k, v in selfs.most_common(40)},
        "report": report,
    }


def main() -> int:
    summary = summarise(Path(sys.argv[1]).read_text())
    print("\n".join(summary["report"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
