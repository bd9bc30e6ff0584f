"""Whether each owner has taken their action on is shown, in words, wherever an action is
listed outside the room: a declined action reads "Declined — needs a new owner", never just
"Open" — on the action plan, the case page, My actions, the home page, the action page and the
CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from litestar import Litestar

from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import Person, Team, sign_in

WORDS = {"pending": "Not yet accepted", "accepted": "Accepted", "declined": "Declined — needs a new owner"}


def client_for(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")


async def test_acceptance_is_shown_in_words_wherever_actions_are_listed(
    app: Litestar, runtime: Runtime, team: Team
) -> None:
    async with client_for(app) as chair_client, client_for(app) as member_client:
        await sign_in(chair_client, team.chair)
        await sign_in(member_client, team.member)
        chair, member = Person(chair_client, team.chair), Person(member_client, team.member)
        meeting = f"/api/meetings/{team.meeting.id}"
        assert (await chair.post(f"{meeting}/start")).status_code == 200
        due = (today_local() + timedelta(days=9)).isoformat()
        ids = {}
        for title in ("Waits ACC-P", "Taken ACC-A", "Refused ACC-D"):
            body = {"title": title, "owner_id": member.id, "due_date": due, "outcome_area": "staying_safe"}
            response = await chair.post(f"{meeting}/actions", body)
            assert response.status_code == 201, response.text
            ids[title[-5:]] = response.json()["id"]
        accept = await member_client.patch(
            f"/api/actions/{ids['ACC-A']}",
            json={"acceptance": "accepted"},
            headers={"x-csrftoken": member_client.cookies["csrftoken"]},
        )
        assert accept.status_code == 200
        decline = await member_client.patch(
            f"/api/actions/{ids['ACC-D']}",
            json={"acceptance": "declined", "reason": "Not our remit"},
            headers={"x-csrftoken": member_client.cookies["csrftoken"]},
        )
        assert decline.status_code == 200

        expected = {"ACC-P": WORDS["pending"], "ACC-A": WORDS["accepted"], "ACC-D": WORDS["declined"]}
        for who, path in (
            (chair, f"/cases/{team.case.id}/actions"),
            (chair, f"/cases/{team.case.id}"),
            (member, "/actions"),
            (member, "/"),
        ):
            html = (await who.get(path)).text
            for marker, words in expected.items():
                row = html[html.index(marker) :]
                row = row[: row.index("</tr>") if "</tr>" in row else row.index("</li>")]
                assert words in row, (path, marker, row[:400])
                for other in set(WORDS.values()) - {words}:
                    assert other not in row, (path, marker, other)
        for marker, words in expected.items():
            page = (await chair.get(f"/actions/{ids[marker]}")).text
            assert words in page, marker

        export = (await chair.get(f"/cases/{team.case.id}/actions.csv?state=all")).text
        rows = list(csv.DictReader(io.StringIO(export)))
        by_title = {row["action"][-5:]: row["accepted"] for row in rows}
        assert by_title == {"ACC-P": WORDS["pending"], "ACC-A": WORDS["accepted"], "ACC-D": WORDS["declined"]}
