"""An owner is told the moment the chair gives them an action in the room: a notification in
Roundtable and an e-mail through a real SMTP server, both linking to the action at the form that
asks "Will you take this on?", so accepting or declining is one click away. The e-mail of a
professionals-only action carries the link, never its content."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar

from server.config import Settings
from server.notify.outbox import send_pending
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.html_forms import Document, post_form
from tests.smtp import SmtpSink, running_sink
from tests.support import Person, Team, sign_in


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with running_sink() as sink:
        yield sink


def new_client(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")


async def live_meeting(chair: Person, team: Team, *, secret_item: bool = False) -> str | None:
    meeting = f"/api/meetings/{team.meeting.id}"
    item = await chair.post(f"{meeting}/agenda", {"title": "Police check", "professionals_only": secret_item})
    assert (await chair.post(f"{meeting}/start")).status_code == 200
    assert (await chair.post(f"{meeting}/agenda/{item.json()['id']}/open")).status_code == 200
    return str(item.json()["id"])


async def test_the_owner_is_told_in_the_app_and_by_email_with_accept_one_click_away(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings, smtp: SmtpSink
) -> None:
    async with new_client(app) as chair_client, new_client(app) as owner_client:
        await sign_in(chair_client, team.chair)
        await sign_in(owner_client, team.member)
        chair, owner = Person(chair_client, team.chair), Person(owner_client, team.member)
        await live_meeting(chair, team)
        due = (today_local() + timedelta(days=14)).isoformat()
        body = {"title": "Book the speech therapy assessment", "owner_id": owner.id, "due_date": due}
        created = await chair.post(
            f"/api/meetings/{team.meeting.id}/actions", {**body, "outcome_area": "being_healthy"}
        )
        assert created.status_code == 201, created.text
        action_id = created.json()["id"]
        link = f"/actions/{action_id}#respond"

        inbox = (await owner.get("/api/notifications")).json()
        assigned = [n for n in inbox["items"] if n["kind"] == "action_assigned"]
        assert len(assigned) == 1
        assert assigned[0]["title"] == "An action for you: Book the speech therapy assessment"
        assert assigned[0]["link"] == link
        assert inbox["unread"] == 1
        chair_inbox = (await chair.get("/api/notifications")).json()
        assert [n for n in chair_inbox["items"] if n["kind"] == "action_assigned"] == []

        report = await send_pending(runtime.sessionmaker, dataclasses.replace(settings, smtp_url=smtp.url))
        assert report.failed == 0
        mails = [m for m in smtp.wait_for(report.sent) if team.member.email in m.rcpt_tos]
        assert len(mails) == 1
        mail = mails[0]
        assert mail.subject == "An action for you to accept — case T-1"
        assert "Book the speech therapy assessment" in mail.text
        assert f"{settings.base_url}{link}" in mail.text

        # The link opens the action at the question, with Accept and Decline right there.
        page = await owner.get(f"/actions/{action_id}")
        document = Document(page.text)
        respond = document.form(f"/actions/{action_id}")
        assert ("change", "accepted") in respond.buttons
        assert ("change", "declined") in respond.buttons
        assert page.text.index('id="respond"') < page.text.index('id="update-heading"')
        accepted = await post_form(owner_client, f"/actions/{action_id}", {"change": "accepted"})
        assert accepted.status_code == 303
        assert (await owner.get(f"/api/actions/{action_id}")).json()["acceptance"] == "accepted"


async def test_a_professionals_only_action_is_not_in_the_email(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings, smtp: SmtpSink
) -> None:
    async with new_client(app) as chair_client:
        await sign_in(chair_client, team.chair)
        chair = Person(chair_client, team.chair)
        await live_meeting(chair, team, secret_item=True)
        due = (today_local() + timedelta(days=7)).isoformat()
        created = await chair.post(
            f"/api/meetings/{team.meeting.id}/actions",
            {
                "title": "Share the MARAC notes ZQ-77",
                "owner_id": str(team.lead.id),
                "due_date": due,
                "outcome_area": "staying_safe",
            },
        )
        assert created.status_code == 201, created.text
        report = await send_pending(runtime.sessionmaker, dataclasses.replace(settings, smtp_url=smtp.url))
        mails = [m for m in smtp.wait_for(report.sent) if team.lead.email in m.rcpt_tos]
        assert len(mails) == 1
        assert "ZQ-77" not in mails[0].text
        assert "ZQ-77" not in mails[0].subject
        assert "a professionals-only action" in mails[0].text
        assert f"/actions/{created.json()['id']}#respond" in mails[0].text
