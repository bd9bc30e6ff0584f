"""The live-room benchmark: N participants in meetings of 20, one web process, and the floor.

    python -m bench.room_bench --participants 2000 --meeting-size 20      (or: make bench)

1. Starts embedded PostgreSQL and Valkey in a temporary folder (or uses --database-url and
   --redis-url), applies the migrations and writes the people, cases, live meetings and open
   sessions straight into the database (bench/seed.py).
2. Starts ONE `roundtable serve` process, exactly as deployed (python -m server.cli serve).
3. Starts the load generator (bench/loadgen.py) in its own process: it connects every
   participant like a browser, measures the server's RSS before and after, then has the chairs
   change their meetings at a steady rate and measures, per change, the chair's request to the
   last participant's first message.
4. Stops the server and runs the same clients and the same changes against the floor
   (bench/floor_server.py): asyncpg commit + websockets.broadcast of the same bytes.
5. Prints a summary and writes everything to bench/results/<time>.json.

See bench/README.md for the method and the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.seed import seed, spec_json

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"  # noqa: S105 (a throwaway database)


def log(*parts: object) -> None:
    print("[bench]", *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            if response.status < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def wait_line(process: subprocess.Popen[str], expected: str, timeout: float = 60.0) -> None:
    assert process.stdout is not None
    end = time.time() + timeout
    while time.time() < end:
        line = process.stdout.readline()
        if expected in line:
            return
        if not line and process.poll() is not None:
            break
    raise RuntimeError(f"the floor server did not print {expected!r}")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prioritise(pid: int, nice: int) -> None:
    """Raise a process's priority on a machine shared with other work. With the kernel's
    autogroup scheduling (sched_autogroup_enabled=1), CPU is shared fairly between sessions
    first, so a process's own niceness only counts inside its session: the session's autogroup
    niceness is set as well. PostgreSQL and Valkey daemonise into sessions of their own."""
    if not nice:
        return
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, nice)


def machine() -> dict[str, Any]:
    def run(*command: str) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": run("nproc"),
        "cpu": cpu,
        "free_h": run("free", "-h"),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "git": run("git", "-C", str(REPO), "rev-parse", "--short", "HEAD"),
    }


def loadgen(args: argparse.Namespace, folder: Path, name: str, extra: list[str]) -> dict[str, Any]:
    out = folder / f"{name}.json"
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--spec",
        str(folder / "spec.json"),
        "--out",
        str(out),
        "--runs",
        args.runs,
        "--change",
        args.change,
        "--concurrency",
        str(args.concurrency),
        "--wait-quiet",
        str(args.wait_quiet),
        *extra,
    ]
    if args.no_deflate:
        command.append("--no-deflate")
    subprocess.run(command, check=True, cwd=REPO)
    return dict(json.loads(out.read_text()))


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="roundtable-bench-"))
    log(f"working folder {folder}")
    servers = None
    result: dict[str, Any] = {"machine": machine(), "options": vars(args).copy()}
    try:
        if args.database_url:
            database_url, redis_url = args.database_url, args.redis_url
            postgres_pid = valkey_pid = None
        else:
            from server.platform import embedded

            servers = embedded.ensure_running(folder / "servers")
            database_url, redis_url = servers.database_url, servers.redis_url
            postgres_pid, valkey_pid = servers.postgres_pid, servers.valkey_pid
            for pid in (postgres_pid, valkey_pid):
                prioritise(pid, args.nice)
        from server.platform.migrations import upgrade

        upgrade(database_url)
        started = time.perf_counter()
        meetings = asyncio.run(seed(database_url, args.participants, args.meeting_size))
        took = time.perf_counter() - started
        log(f"seeded {args.participants} people in {len(meetings)} live meetings in {took:.1f} s")
        (folder / "spec.json").write_text(json.dumps(spec_json(meetings)))
        pids = ["--postgres-pid", str(postgres_pid or 0), "--valkey-pid", str(valkey_pid or 0)]

        # --- the real server: one `roundtable serve` process ------------------------------------
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server_root = Path(args.server_root).resolve()
        env = os.environ | {
            "ROUNDTABLE_DATABASE_URL": database_url,
            "ROUNDTABLE_REDIS_URL": redis_url,
            "ROUNDTABLE_SECRET_KEY": SECRET,
            "ROUNDTABLE_BASE_URL": base,
            "ROUNDTABLE_DATA_DIR": str(folder / "data"),
            "PYTHONPATH": str(server_root),
            "PYTHONUNBUFFERED": "1",
        }
        with (folder / "server.log").open("w") as server_log:
            server = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args.serve_arg],
                cwd=server_root,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_http(base + "/sign-in")
                log(f"roundtable serve (pid {server.pid}) at {base}")
                extra = ["--target", "real", "--url", base, "--server-pid", str(server.pid), *pids]
                extra += ["--payloads-out", str(folder / "payloads.json")]
                if args.profile:
                    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                    if not Path(py_spy).exists():
                        raise SystemExit("--profile needs py-spy: .venv/bin/uv pip install py-spy")
                    extra += ["--profile-out", str(folder / "profile.txt"), "--py-spy", py_spy]
                result["real"] = loadgen(args, folder, "real", extra)
            finally:
                stop(server)
        if args.profile and (folder / "profile.txt").exists():
            from bench.profile_summary import summarise

            profile = summarise((folder / "profile.txt").read_text())
            result["profile"] = profile
            shutil.copy(folder / "profile.txt", Path(args.results) / f"profile-{args.label or 'latest'}.txt")
            log("profile (share of samples):")
            for line in profile["report"]:
                print(line, file=sys.stderr)

        # --- the floor -------------------------------------------------------------------------------
        if not args.skip_floor:
            ws_port, http_port = free_port(), free_port()
            floor = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.floor_server",
                    "--database-url",
                    database_url,
                    "--payloads",
                    str(folder / "payloads.json"),
                    "--port",
                    str(ws_port),
                    "--http-port",
                    str(http_port),
                    "--compression",
                    args.floor_compression or result["real"].get("compression") or "standard",
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                wait_line(floor, "ready")
                log(f"floor server (pid {floor.pid})")
                extra = ["--target", "floor", "--url", f"http://127.0.0.1:{ws_port}"]
                extra += ["--change-url", f"http://127.0.0.1:{http_port}", "--server-pid", str(floor.pid), *pids]
                result["floor"] = loadgen(args, folder, "floor", extra)
            finally:
                stop(floor)
        result["server_log_tail"] = (folder / "server.log").read_text().splitlines()[-5:]
    finally:
        if servers is not None:
            from server.platform import embedded

            embedded.stop(servers)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log(f"kept {folder}")
    return result


def report(result: dict[str, Any]) -> list[str]:
    lines = [f"machine: {result['machine']['nproc']} cores ({result['machine']['cpu']}), {result['machine']['date']}"]
    for name in ("real", "floor"):
        part = result.get(name)
        if not part:
            continue
        lines.append(
            f"{name} (permessage-deflate: {part.get('compression')}): {part['participants']} participants;"
            f" RSS {part['rss_before_mib']} -> {part['rss_connected_mib']} MiB"
            f" = {part['kib_per_participant']} KiB per participant; connected in {part['connect_seconds']} s"
        )
        for run in part["runs"]:
            last, cpu = run["last_ms"], run["cpu"]
            lines.append(
                f"  {run['changes']} changes, {pace(run)}: last p50 {last['p50']:.1f} ms,"
                f" p99 {last['p99']:.1f} ms, max {last['max']:.1f} ms; first p50 {run['first_ms']['p50']:.1f} ms;"
                f" http p50 {run['http_ms']['p50']:.1f} ms; errors {run['errors']}, incomplete {run['incomplete']};"
                f" cores: server {cpu['server_cores']}, postgres {cpu['postgres_cores']},"
                f" valkey {cpu['valkey_cores']}, loadgen {cpu['loadgen_cores']}, other {cpu['other_cores']}"
            )
    real, floor = result.get("real"), result.get("floor")
    if real and floor:
        for run, floor_run in zip(real["runs"], floor["runs"], strict=False):
            r, f = run["last_ms"], floor_run["last_ms"]
            lines.append(
                f"{pace(run)}: p50 real/floor {r['p50'] / f['p50']:.2f}x; p99 real/floor {r['p99'] / f['p99']:.2f}x"
            )
    return lines


def pace(run: dict[str, Any]) -> str:
    return "one meeting at a time" if run["rate_per_s"] <= 0 else f"{run['rate_per_s']:g}/s"


def targets(result: dict[str, Any]) -> list[tuple[str, bool]]:
    """The issue's targets, on every run (each against the floor's run of the same pace): (what, met)."""
    real, floor = result.get("real"), result.get("floor")
    if not real:
        return []
    checks = [
        (f"{real['participants']} participants connected (target 2,000)", real["participants"] >= 2000),
        (f"{real['kib_per_participant']:.1f} KiB per idle participant (target < 50)", real["kib_per_participant"] < 50),
    ]
    for index, run in enumerate(real["runs"]):
        last, at = run["last_ms"], pace(run)
        checks += [
            (
                f"{at}: every change reached everyone ({run['errors']} errors, {run['incomplete']} incomplete)",
                run["errors"] == 0 and run["incomplete"] == 0,
            ),
            (f"{at}: p99 {last['p99']:.1f} ms (target < 100 ms)", last["p99"] is not None and last["p99"] < 100),
        ]
        if floor and index < len(floor["runs"]):
            floor_p50 = floor["runs"][index]["last_ms"]["p50"]
            checks.append(
                (
                    f"{at}: p50 {last['p50']:.1f} ms = {last['p50'] / floor_p50:.2f}x the floor's {floor_p50:.1f} ms"
                    " (target <= 3x)",
                    last["p50"] <= 3 * floor_p50,
                )
            )
    return checks


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--participants", type=int, default=2000)
    top.add_argument("--meeting-size", type=int, default=20)
    top.add_argument(
        "--runs",
        default="0x300,20x600",
        help="change phases, RATExCOUNT[,RATExCOUNT...] (changes per second x number of changes; a rate of 0"
        " is one meeting at a time: each change after the one before has reached everyone); default 0x300,20x600",
    )
    top.add_argument(
        "--change",
        choices=["cycle", "hand"],
        default="cycle",
        help="cycle: the chair alternately raises a hand for someone and gives the floor (default); "
        "hand: only raises hands (at most meeting-size - 1 per meeting)",
    )
    top.add_argument("--concurrency", type=int, default=40, help="sockets connecting at once (default 40)")
    top.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        help="before each run, wait up to this many seconds for other processes on the machine to go quiet",
    )
    top.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness (of the process and of its scheduling autogroup) for every process of the benchmark, "
        "e.g. -10 on a machine shared with other work; a negative N needs root (see prioritise())",
    )
    top.add_argument("--profile", action="store_true", help="attach py-spy to the server during the first run")
    top.add_argument("--skip-floor", action="store_true")
    top.add_argument(
        "--floor-compression",
        choices=["standard", "lean", "off"],
        help="permessage-deflate of the floor (default: what the real server negotiated, so that both "
        "send the same bytes on the wire)",
    )
    top.add_argument(
        "--no-deflate",
        action="store_true",
        help="clients do not offer permessage-deflate (browsers do; this shows what compression costs)",
    )
    top.add_argument("--server-root", default=str(REPO), help="the source tree the server runs from (for A/B)")
    top.add_argument(
        "--serve-arg", action="append", default=[], help="extra argument for `roundtable serve` (repeatable)"
    )
    top.add_argument("--database-url", help="an external PostgreSQL (postgresql+asyncpg://...) instead of embedded")
    top.add_argument("--redis-url", help="an external Redis/Valkey, with --database-url")
    top.add_argument("--results", default=str(REPO / "bench" / "results"))
    top.add_argument("--label", default="", help="a word to put in the results file name")
    top.add_argument(
        "--per-change",
        action="store_true",
        help="keep every change's timings in the results file ([kind, status, t0, http, first, last, got])",
    )
    top.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, spec, payloads)")
    args = top.parse_args(argv)
    if args.database_url and not args.redis_url:
        top.error("--redis-url is needed with --database-url")
    Path(args.results).mkdir(parents=True, exist_ok=True)
    prioritise(os.getpid(), args.nice)  # inherited by the server, the load generator and the floor
    try:
        result = run(args)
    finally:
        if args.nice:
            with contextlib.suppress(OSError):  # the autogroup is the caller's shell session's too
                Path("/proc/self/autogroup").write_text("0")
    lines = report(result)
    checks = targets(result)
    lines += [f"{'met   ' if met else 'MISSED'} {what}" for what, met in checks]
    result["summary"] = lines
    if not args.per_change:
        for part in (result.get("real"), result.get("floor")):
            for phase in [*(part or {}).get("runs", []), (part or {}).get("profiled_run") or {}]:
                phase.pop("per_change", None)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out = Path(args.results) / f"{stamp}{'-' + args.label if args.label else ''}.json"
    out.write_text(json.dumps(result, indent=2))
    print("\n".join(lines))
    print(f"results: {out}")
    return 0 if all(met for _, met in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
