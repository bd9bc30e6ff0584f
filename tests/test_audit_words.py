"""The audit trail page as a chair reads it: each entry a sentence naming the person and the
thing (no event codes, Python lists or ids), fifty to a page with links to older and newer
entries, and the CSV export kept whole. An administrator off the team reads that an action was
given, not what it says."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
from litestar import Litestar

from server.audit.words import Event, Names, describe
from server.timeutil import today_local
from tests.support import Person, Team, sign_in

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def table_of(html: str) -> str:
    return html[html.index("<tbody>") : html.index("</tbody>")]


def client_for(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")


async def test_the_trail_reads_as_sentences_and_pages(app: Litestar, team: Team) -> None:
    async with client_for(app) as chair_client, client_for(app) as member_client, client_for(app) as admin_client:
        for client, user in ((chair_client, team.chair), (member_client, team.member), (admin_client, team.admin)):
            await sign_in(client, user)
        chair, member = Person(chair_client, team.chair), Person(member_client, team.member)
        meeting = f"/api/meetings/{team.meeting.id}"
        assert (await chair.post(f"{meeting}/start")).status_code == 200
        due = (today_local() + timedelta(days=12)).isoformat()
        action = await chair.post(
            f"{meeting}/actions",
            {"title": "Book the hearing test", "owner_id": member.id, "due_date": due, "outcome_area": "being_healthy"},
        )
        changed = await member_client.patch(
            f"/api/actions/{action.json()['id']}",
            json={"status": "in_progress", "progress_note": "Phoned the clinic"},
            headers={"x-csrftoken": member_client.cookies["csrftoken"]},
        )
        assert changed.status_code == 200
        for _ in range(60):
            assert (await member.get(f"/cases/{team.case.id}")).status_code == 200

        first = await chair.get(f"/cases/{team.case.id}/audit")
        assert first.status_code == 200
        rows = table_of(first.text)
        assert rows.count("<tr>") == 50
        assert "page 1 of 2" in first.text
        assert not UUID.search(rows), UUID.search(rows)
        assert "['" not in rows
        assert "case.view" not in rows
        assert "Viewed the case" in rows
        assert "Mo Member" in rows

        older = re.search(r'href="([^"]+page=2)" rel="next">Older entries', first.text)
        assert older is not None
        second = await chair.get(older.group(1).replace("&amp;", "&"))
        rows = table_of(second.text)
        assert "Gave the action “Book the hearing test” to Mo Member, due" in rows
        assert "Changed the action “Book the hearing test”: its status and a progress note" in rows
        assert "Started the meeting “TAC meeting”" in rows
        assert 'rel="prev">Newer entries' in second.text

        admin_rows = "".join(
            [table_of((await admin_client.get(f"/cases/{team.case.id}/audit?page={n}")).text) for n in (1, 2)]
        )
        assert "Gave an action to Mo Member" in admin_rows
        assert "Book the hearing test" not in admin_rows

        export = (await chair.get(f"/cases/{team.case.id}/audit.csv")).text
        table = list(csv.DictReader(io.StringIO(export)))
        assert len(table) > 60  # every entry, not one page
        assert {"when", "who", "what", "object id", "in words"} <= set(table[0])
        assert any(row["in words"].startswith("Gave the action") for row in table)


def test_an_event_the_table_does_not_know_still_reads_as_words() -> None:
    sentence = describe(Event("report.withdraw", "report", None, None, {}), Names({}, content=True))
    assert sentence == "Report withdraw"
