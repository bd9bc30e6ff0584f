"""The `roundtable` command: run, serve, worker, migrate, demo, create-admin, chase."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from server.config import Settings, SettingsError, load_settings
from server.platform.endpoints import servers

IN_PROCESS_WORKER = "ROUNDTABLE_IN_PROCESS_WORKER"


def exit_cleanly_on_sigterm() -> None:
    """uvicorn stops on SIGTERM and then re-raises it; with Python's default handler that ends
    the process at once, skipping the code that stops the embedded servers. Turning SIGTERM
    into SystemExit lets every `finally` run, so no server is left behind."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from server.platform.migrations import upgrade

    with servers(settings) as ends:
        upgrade(ends.database_url, args.revision)
    print(f"Database migrated to {args.revision}.")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from server.demo import load_demo, reset_demo

    if args.reset:
        with servers(settings) as ends:
            refused = asyncio.run(reset_demo(settings, ends.database_url, ends.redis_url))
        print(refused or "Everything was deleted and the demo team loaded afresh.")
        return 1 if refused else 0
    with servers(settings) as ends:
        loaded = asyncio.run(load_demo(settings, ends.database_url, ends.redis_url))
    print("Demo team loaded." if loaded else "The database already has people in it; demo not loaded.")
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from server.people.bootstrap import create_first_admin

    with servers(settings) as ends:
        message = asyncio.run(
            create_first_admin(settings, ends.database_url, ends.redis_url, args.email, args.password, args.name)
        )
    print(message)
    return 0


def ws_options(compression: str) -> dict[str, Any]:
    """uvicorn's websocket options for --ws-compression: lean (the default: permessage-deflate
    without per-socket state, see server/live/wsdeflate.py), standard (uvicorn's, ~45 KiB of zlib
    state per socket) or off (the HTML goes uncompressed, ~5x the bytes)."""
    if compression == "off":
        return {"ws_per_message_deflate": False}
    if compression == "standard":
        return {}
    from server.live.wsdeflate import LeanDeflateProtocol

    return {"ws": LeanDeflateProtocol}


def run_web(host: str, port: int, *, log_level: str, compression: str, **options: Any) -> None:
    """The web app under uvicorn until it stops; each worker builds the app from the environment."""
    import uvicorn

    uvicorn.run(
        "server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        ws_max_size=64 * 1024,
        **ws_options(compression),
        **options,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.with_worker:
        os.environ[IN_PROCESS_WORKER] = "1"
    exit_cleanly_on_sigterm()
    with servers(settings):
        run_web(
            args.host or settings.host,
            args.port or settings.port,
            log_level="info",
            compression=args.ws_compression,
            workers=args.workers,
            proxy_headers=args.proxy_headers,
        )
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything for a local try-out in one process: servers, schema, demo, web and worker."""
    from server.demo import DEMO_PASSWORD, DEMO_SIGN_INS, load_demo
    from server.platform.migrations import upgrade

    os.environ[IN_PROCESS_WORKER] = "1"
    exit_cleanly_on_sigterm()
    with servers(settings) as ends:
        upgrade(ends.database_url)
        asyncio.run(load_demo(settings, ends.database_url, ends.redis_url))
        address = f"http://{settings.host}:{settings.port}"
        print(f"\nRoundtable is at {address}\n")
        print(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for email, who in DEMO_SIGN_INS:
            print(f"  {email:<34} {who}")
        print(f"\nData folder: {settings.data_dir}. Stop with Ctrl-C.\n", flush=True)
        run_web(settings.host, settings.port, log_level="warning", compression="lean")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from server.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("arq").setLevel(logging.WARNING)  # not two lines per job every 5 s; failures still show
    exit_cleanly_on_sigterm()
    with servers(settings) as ends:
        asyncio.run(run_worker(settings, ends.database_url, ends.redis_url))
    return 0


def cmd_chase(settings: Settings, args: argparse.Namespace) -> int:
    from server.worker import chase_once

    with servers(settings) as ends:
        summary = asyncio.run(chase_once(settings, ends.database_url, ends.redis_url, at=args.at))
    print(summary)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="roundtable",
        description="Roundtable: live multi-agency meetings around a child, and the plan after them. "
        "With no ROUNDTABLE_DATABASE_URL set, every command uses the embedded PostgreSQL and "
        "Valkey under the data folder (ROUNDTABLE_DATA_DIR, default .data), starting them if needed.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[Settings, argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_, description=help_)
        command.set_defaults(func=func)
        return command

    add(
        "run",
        cmd_run,
        "Start everything for a local try-out: servers, migrations, demo team, web app and worker.",
    )
    serve = add("serve", cmd_serve, "Serve the web app (HOST and PORT, or --host and --port, choose where).")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1, or HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000, or PORT)")
    serve.add_argument("--workers", type=int, default=1, help="number of web processes (default 1)")
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help="also run the background worker in each web process",
    )
    serve.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from a reverse proxy")
    serve.add_argument(
        "--ws-compression",
        choices=["lean", "standard", "off"],
        default="lean",
        help="permessage-deflate on the live sockets: lean (default; no per-socket zlib state), "
        "standard (uvicorn's, ~45 KiB per socket) or off",
    )
    add(
        "worker",
        cmd_worker,
        "Run the background worker: chases actions, sends e-mail from the outbox.",
    )
    migrate = add("migrate", cmd_migrate, "Apply the database migrations (to the newest, or --revision).")
    migrate.add_argument("--revision", default="head", help="target revision (default: the newest)")
    demo = add("demo", cmd_demo, "Load the demo team into an empty database.")
    demo.add_argument(
        "--reset",
        action="store_true",
        help="delete everything and load the demo afresh (refused if anyone outside the demo has an account)",
    )
    admin = add("create-admin", cmd_create_admin, "Create the first administrator on an empty system.")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", default="Administrator")
    chase = add(
        "chase",
        cmd_chase,
        "Run one chase pass now (or as if at --at TIME), send its e-mail, and exit.",
    )
    chase.add_argument("--at", help="ISO 8601 time to chase as of, e.g. 2026-12-01T10:00:00+00:00")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"roundtable: {error}", file=sys.stderr)
        return 2
    try:
        return int(args.func(settings, args))
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one line for the operator; the details are in the log
        from server.platform.embedded import EmbeddedError

        if isinstance(error, EmbeddedError | SettingsError | OSError):
            print(f"roundtable: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
