"""`make run` as a newcomer uses it: one command starts everything in a fresh data folder, and
SIGTERM stops everything, leaving no process behind and the data in place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import free_port

pytestmark = pytest.mark.slow


def _start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    env |= {"ROUNDTABLE_DATA_DIR": str(data_dir), "PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _servers_in(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and Path(proc.cwd()).is_relative_to(folder):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def test_run_serves_the_demo_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    process = _start(data_dir, port)
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/sign-in", process)
        assert page.status_code == 200
        assert _servers_in(data_dir), "the embedded servers should run under the data folder"
        signed_in = httpx.post(
            f"http://127.0.0.1:{port}/api/session",
            json={"email": "chair@example.org", "password": "roundtable-demo"},
            headers={"x-csrftoken": page.cookies["csrftoken"]},
            cookies=page.cookies,
        )
        assert signed_in.status_code == 200, signed_in.text
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Roundtable is at" in output
    assert "chair@example.org" in output
    assert "Traceback" not in output
    time.sleep(0.5)
    assert _servers_in(data_dir) == []

    again = _start(data_dir, port)  # the data is kept: the demo is not loaded twice
    try:
        _wait_for(f"http://127.0.0.1:{port}/sign-in", again)
    finally:
        _stop(again)
    assert _servers_in(data_dir) == []
