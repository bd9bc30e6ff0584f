"""A webhook receiver that only counts, for bench/webhook_bench.py: run in its own process
(`python -m uvicorn bench.webhook_sink:app`) so that it does not share the sender's event loop.
POST anything: 200; GET /count: how many POSTs so far."""

from __future__ import annotations

from typing import Any

received = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global received
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b""
    if scope["method"] == "POST":
        received += 1
    else:
        body = str(received).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
