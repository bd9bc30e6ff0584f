"""The `roundtable` command as an operator runs it: a real `serve` process that answers and stops
cleanly on SIGTERM, the help, one-line errors for bad settings, and `create-admin`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx import AsyncClient

from server.config import REPO_ROOT
from server.platform.runtime import Runtime
from tests.support import free_port, sign_in

SECRET = "serve-test-secret-key-that-is-long-enough-0123456789"
ROUNDTABLE = Path(sys.executable).parent / "roundtable"


def command() -> list[str]:
    if ROUNDTABLE.exists():
        return [str(ROUNDTABLE)]
    return [sys.executable, "-m", "server.cli"]


@pytest.fixture(scope="module")
def data_folder() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="roundtable-cli-") as folder:
        yield folder


def environment(database_url: str, redis_url: str, data_folder: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_") and k not in ("HOST", "PORT")}
    env.update(
        ROUNDTABLE_DATABASE_URL=database_url,
        ROUNDTABLE_REDIS_URL=redis_url,
        ROUNDTABLE_SECRET_KEY=SECRET,
        ROUNDTABLE_DATA_DIR=data_folder,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- serve ----------------------------------------------------------------------------------


def test_serve_answers_and_stops_on_sigterm(
    migrated: str, endpoints: tuple[str, str], data_folder: str, tmp_path: Path
) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [*command(), "serve", "--port", str(port)],
        env=environment(endpoints[0], endpoints[1], data_folder),
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        page = None
        while time.monotonic() < deadline:
            assert process.poll() is None, f"serve exited early:\n{(tmp_path / 'serve.log').read_text()}"
            try:
                page = httpx.get(f"{base}/sign-in", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, f"serve did not answer in 20 s:\n{(tmp_path / 'serve.log').read_text()}"
        assert page.status_code == 200
        assert "Sign in" in page.text
        assert page.headers["content-security-policy"]

        schema = httpx.get(f"{base}/schema", timeout=5)
        assert schema.status_code == 200
        document = schema.json()
        assert "openapi" in document
        assert {"/api/cases", "/api/session"} <= set(document["paths"])

        assert httpx.get(f"{base}/api/me", timeout=5).status_code == 401
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"serve did not stop within 10 s of SIGTERM:\n{(tmp_path / 'serve.log').read_text()}")
        log.close()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why it stopped.
    output = (tmp_path / "serve.log").read_text()
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


# --- the command line -----------------------------------------------------------------------


def test_help_lists_the_commands(data_folder: str) -> None:
    result = run_cli(["--help"], os.environ.copy())
    assert result.returncode == 0, result.stderr
    for name in ("serve", "worker", "migrate", "demo", "create-admin"):
        assert name in result.stdout, name


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ROUNDTABLE_DATABASE_URL", "mysql://x"),
        ("ROUNDTABLE_DATABASE_URL", "not a url at all"),
        ("ROUNDTABLE_SECRET_KEY", "too-short"),
        ("ROUNDTABLE_PORT", "eighty"),
    ],
)
def test_bad_setting_is_one_line_naming_it(data_folder: str, setting: str, value: str) -> None:
    env = environment("postgresql+asyncpg://u:p@127.0.0.1:1/x", "redis://127.0.0.1:1/0", data_folder)
    env[setting] = value
    result = run_cli(["migrate"], env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_unreachable_database_is_one_line(data_folder: str) -> None:
    port = free_port()  # nothing listens there
    env = environment(f"postgresql+asyncpg://u:p@127.0.0.1:{port}/x", f"redis://127.0.0.1:{port}/0", data_folder)
    result = run_cli(["migrate"], env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


# --- create-admin ---------------------------------------------------------------------------


async def run_cli_async(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command(),
        *args,
        env=env,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_create_admin_on_an_empty_system(
    runtime: Runtime, client: AsyncClient, endpoints: tuple[str, str], data_folder: str
) -> None:
    env = environment(endpoints[0], endpoints[1], data_folder)
    password = "correct horse battery staple"
    code, out, err = await run_cli_async(
        ["create-admin", "--email", "Chief@Test.Example", "--password", password, "--name", "Pat Chief"], env
    )
    assert code == 0, err
    assert "chief@test.example" in out.lower()
    assert "Traceback" not in err

    user = await sign_in(client, "chief@test.example", password)
    assert user["is_admin"] is True
    assert user["name"] == "Pat Chief"
    # The new administrator can do administrators' work.
    response = await client.post(
        "/api/agencies",
        json={"name": "Health visiting", "sector": "health"},
        headers={"x-csrftoken": client.cookies.get("csrftoken") or ""},
    )
    assert response.status_code == 201, response.text

    code, out, err = await run_cli_async(
        ["create-admin", "--email", "second@test.example", "--password", password], env
    )
    assert code == 0, err
    assert "administrator already exists" in out.lower()
    users = (await client.get("/api/users")).json()
    assert [u["email"] for u in users] == ["chief@test.example"]


async def test_create_admin_refuses_a_weak_password(
    runtime: Runtime, client: AsyncClient, endpoints: tuple[str, str], data_folder: str
) -> None:
    env = environment(endpoints[0], endpoints[1], data_folder)
    code, _out, err = await run_cli_async(["create-admin", "--email", "chief@test.example", "--password", "short"], env)
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    await client.get("/sign-in")
    response = await client.post(
        "/api/session",
        json={"email": "chief@test.example", "password": "short"},
        headers={"x-csrftoken": client.cookies.get("csrftoken") or ""},
    )
    assert response.status_code == 422
