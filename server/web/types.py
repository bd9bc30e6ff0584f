"""Type names for handlers: Litestar's Request is generic over the user, auth and state types."""

from __future__ import annotations

from typing import Any

from litestar import Request, WebSocket

HttpRequest = Request[Any, Any, Any]
Socket = WebSocket[Any, Any, Any]
