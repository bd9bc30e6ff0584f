"""The outbox shows administrators what was sent, but not a single-use invitation link that still
works: with it, an administrator could set a parent's password and read their family's case.
Once the link is used (or has expired) it is harmless, and shows."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar
from sqlalchemy import select

from server.notify.models import OutboxMessage
from server.notify.outbox import readable_text
from server.platform.runtime import Runtime
from tests.html_forms import post_form
from tests.support import Team, sign_in


async def test_a_working_invitation_link_is_hidden_from_administrators(
    app: Litestar, runtime: Runtime, team: Team, client: httpx.AsyncClient
) -> None:
    await sign_in(client, team.chair)
    invited = await post_form(
        client, f"/cases/{team.case.id}/invitations", {"invite_name": "Sam Smith", "invite_email": "sam@test.example"}
    )
    assert invited.status_code == 303
    async with runtime.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.recipients == "sam@test.example"))
    assert row is not None
    token = re.search(r"/invitations/([A-Za-z0-9_-]+)", readable_text(row.message))
    assert token is not None

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as admin:
        await sign_in(admin, team.admin)
        shown = (await admin.get(f"/admin/outbox/{row.id}")).text
        assert token.group(1) not in shown
        assert "hidden: this single-use link still works" in shown

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as sam:
            used = await post_form(
                sam,
                f"/invitations/{token.group(1)}",
                {"password": "a private passphrase", "confirm": "a private passphrase"},
            )
            assert used.status_code == 303
        assert token.group(1) in (await admin.get(f"/admin/outbox/{row.id}")).text  # used: harmless now
