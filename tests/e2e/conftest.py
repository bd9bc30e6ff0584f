"""Fixtures for browser tests: a real `roundtable serve` process on the test database, and
Chromium driven by Playwright.

The server is a separate process, as in production, with its base URL set to the address the
browser uses, so the meeting socket's Origin check passes for our own pages exactly as it would
for a deployment. The browser is the system Chromium (/usr/bin/chromium, or ROUNDTABLE_CHROMIUM),
else Playwright's own download; without either, the browser tests are skipped, not failed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import REPO_ROOT
from tests.support import free_port

SECRET = "browser-test-secret-key-that-is-long-enough-0123456789"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _command() -> list[str]:
    script = Path(sys.executable).parent / "roundtable"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


@pytest.fixture(scope="module")
def server_url(migrated: str, endpoints: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`roundtable serve` on a free port against the test database and Redis."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("browser-serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_") and k not in ("HOST", "PORT")}
    env.update(
        ROUNDTABLE_DATABASE_URL=endpoints[0],
        ROUNDTABLE_REDIS_URL=endpoints[1],
        ROUNDTABLE_SECRET_KEY=SECRET,
        ROUNDTABLE_DATA_DIR=str(folder),
        ROUNDTABLE_BASE_URL=base,
        PYTHONUNBUFFERED="1",
    )
    log_path = folder / "serve.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            [*_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, f"serve exited early:\n{log_path.read_text()}"
                try:
                    if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"serve did not answer in 30 s:\n{log_path.read_text()}"
                time.sleep(0.1)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert "Traceback" not in output, output


def _chromium() -> str | None:
    configured = os.environ.get("ROUNDTABLE_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import Error, async_playwright

    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        except Error as error:
            pytest.skip(f"no Chromium to drive: {error.message.splitlines()[0]}")
        yield launched
        await launched.close()
