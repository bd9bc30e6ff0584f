"""The caller of a route as one dependency (``caller``, provided in server/web/deps.py): the
session, who is asking, how the audit trail names them, the settings and the live publisher
together. The value is ``server.caller.Caller``, which the services take; it is re-exported here
for the routes."""

from __future__ import annotations

from server.caller import Caller

__all__ = ["Caller"]
