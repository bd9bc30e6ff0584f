"""The meeting room page and its forms without a browser: every audience gets a complete, valid
page (one h1, labelled controls, unique ids, no inline script or style); each form works as a
plain post (303 back to the room with a flash) and as an htmx post (204, or a 4xx fragment aimed
at the room's alert region); the family's page never holds a professionals-only item."""

from __future__ import annotations

from datetime import timedelta

import httpx
from httpx import AsyncClient

from server.meetings import room as ops
from server.meetings.room.agenda import NewItem
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import Team, room_as
from tests.test_pages import Page, check_page, sign_in_form, submit, token

SECRET = "Police intelligence QX-7"


def room_of(team: Team) -> str:
    return f"/meetings/{team.meeting.id}/room"


async def room_page(client: AsyncClient, team: Team, where: str) -> Page:
    response = await client.get(room_of(team))
    assert response.status_code == 200, (where, response.text[:300])
    page = check_page(response, where)
    duplicates = sorted({i for i in page.ids if page.ids.count(i) > 1})
    assert not duplicates, f"{where}: repeated ids {duplicates}"
    return page


async def htmx(client: AsyncClient, path: str, fields: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(path, data=fields or {}, headers={"HX-Request": "true", "x-csrftoken": token(client)})


async def add_items(runtime: Runtime, team: Team) -> tuple[str, str]:
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair)
        shared = await chair.run(ops.add_item, team.meeting.id, NewItem("School and nursery"))
        secret = await chair.run(ops.add_item, team.meeting.id, NewItem(SECRET, professionals_only=True))
    return str(shared.id), str(secret.id)


async def test_a_meeting_through_plain_forms(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    shared, secret = await add_items(runtime, team)
    room = room_of(team)
    await sign_in_form(client, team.chair)
    page = await room_page(client, team, "room before the start, chair")
    assert "Start the meeting" in page.text

    for path, fields, flash in (
        ("start", {}, "The meeting has started."),
        (f"agenda/{shared}/open", {}, "Agenda item opened."),
        ("hands", {"kind": "contribution", "user_id": str(team.member.id)}, "Hand raised."),
        ("floor/next", {"version": "999", "_form": "room-floor-next"}, None),
        ("floor/next", {}, "The floor has passed on."),
    ):
        response = await submit(client, f"{room}/{path}", fields)
        if flash is None:  # refused: the room again, the reason beside the form
            assert response.status_code == 409, (path, response.text[:300])
            assert "The room changed a moment ago" in response.text
            continue
        assert response.status_code == 303, (path, response.text[:300])
        assert response.headers["location"] == room
        shown = await room_page(client, team, f"room after {path}")
        assert flash in shown.text, (path, shown.text[:600])
    assert "Mo Member" in shown.text
    assert "Speaking now" in shown.text

    agencies = {"member": str(team.member.agency_id), "family": str(team.family.agency_id)}
    refused = await submit(
        client,
        f"{room}/decisions",
        {
            "agenda_item_id": shared,
            "text": "Nursery place",
            "outcome": "agreed",
            f"position-{agencies['member']}": "disagree",
        },
    )
    assert refused.status_code == 422
    assert "Give the reason for" in refused.text
    recorded = await submit(
        client,
        f"{room}/decisions",
        {
            "agenda_item_id": shared,
            "text": "Nursery place from September",
            "outcome": "agreed",
            f"position-{agencies['member']}": "disagree",
            f"reason-{agencies['member']}": "Too soon for the school",
            f"position-{agencies['family']}": "agree",
            f"reason-{agencies['family']}": "",
        },
    )
    assert recorded.status_code == 303
    due = (today_local() + timedelta(days=7)).isoformat()
    assigned = await submit(
        client,
        f"{room}/actions",
        {
            "title": "Apply for the place",
            "owner_id": str(team.family.id),
            "due_date": due,
            "outcome_area": "enjoying_and_achieving",
        },
    )
    assert assigned.status_code == 303
    page = await room_page(client, team, "room with a decision and an action, chair")
    for text in ("Nursery place from September", "Disagrees", "Too soon for the school", "Apply for the place"):
        assert text in page.text, text
    state = (await client.get(f"/api/meetings/{team.meeting.id}")).json()
    positions = {p["agency_id"]: (p["position"], p["reason"]) for p in state["decisions"][0]["positions"]}
    assert positions == {
        agencies["member"]: ("disagree", "Too soon for the school"),
        agencies["family"]: ("agree", None),
    }

    # The family's page: the same room, without the professionals-only item, before and while
    # it is discussed.
    await sign_in_form(client, team.family)
    page = await room_page(client, team, "room, family")
    assert SECRET not in page.text
    assert "Nursery place from September" in page.text
    await sign_in_form(client, team.chair)
    assert (await submit(client, f"{room}/agenda/{secret}/open", {})).status_code == 303
    await sign_in_form(client, team.family)
    response = await client.get(room)
    assert SECRET not in response.text
    assert "discussing an item for professionals only" in response.text
    await sign_in_form(client, team.member)
    assert SECRET in (await room_page(client, team, "room, member")).text


async def test_htmx_posts_answer_no_content_or_an_alert_fragment(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await sign_in_form(client, team.chair)
    room = room_of(team)
    started = await htmx(client, f"{room}/start")
    assert started.status_code == 204, started.text
    assert started.content == b""

    again = await htmx(client, f"{room}/start")
    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#room-errors"
    assert again.headers["HX-Reswap"] == "innerHTML"
    assert "The meeting is already under way." in again.text
    assert "<html" not in again.text

    invalid = await htmx(client, f"{room}/hands", {"kind": "shouting"})
    assert invalid.status_code == 422
    assert "kind must be contribution" in invalid.text

    await sign_in_form(client, team.family)
    forbidden = await htmx(client, f"{room}/end")
    assert forbidden.status_code == 403
    assert forbidden.headers["HX-Retarget"] == "#room-errors"
    assert (await submit(client, f"{room}/end", {})).status_code == 403

    await sign_in_form(client, team.outsider)
    assert (await client.get(room)).status_code == 404
    assert (await htmx(client, f"{room}/join")).status_code == 404
