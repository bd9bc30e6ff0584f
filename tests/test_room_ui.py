"""The room as a chair, a parent and a shared screen meet it, without a browser: refusals beside
their form and field with what was typed (htmx and plain posts), the room without JavaScript
saying it does not update by itself and offering only buttons that do something, one agenda
numbering for everyone (the minutes too), the ended room's links, the present mode, and the
chair left out of the voices unless they speak for an agency."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from httpx import AsyncClient

from server.meetings import room as ops
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.meetings.room.record import NewAction
from server.meetings.room.settings import ChairVoice
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.html_forms import Document
from tests.pdftext import pdf_text
from tests.support import Team, room_as, without_childs_voice
from tests.test_pages import check_page, sign_in_form, submit, token

SECRET = "Police intelligence QX-7"


async def htmx(client: AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    return await client.post(path, data=fields, headers={"HX-Request": "true", "x-csrftoken": token(client)})


async def live_room(runtime: Runtime, team: Team) -> dict[str, str]:
    """A live meeting: a shared item, a professionals-only one, another shared one; the first
    open; the member and the parent joined, the parent with a hand up."""
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair)
        first = await chair.run(ops.add_item, team.meeting.id, NewItem("School and nursery"))
        secret = await chair.run(ops.add_item, team.meeting.id, NewItem(SECRET, professionals_only=True))
        last = await chair.run(ops.add_item, team.meeting.id, NewItem("Housing"))
        await chair.run(ops.start, team.meeting.id)
        await chair.run(ops.open_item, team.meeting.id, target=first.id)
        for who in (team.member, team.family):
            await room_as(runtime, session, who).run(ops.join, team.meeting.id)
        await room_as(runtime, session, team.family).run(ops.raise_hand, team.meeting.id, NewHand())
    return {"first": str(first.id), "secret": str(secret.id), "last": str(last.id)}


def room_of(team: Team) -> str:
    return f"/meetings/{team.meeting.id}/room"


async def test_a_refusal_comes_back_beside_its_form_and_field(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    items = await live_room(runtime, team)
    await sign_in_form(client, team.chair)
    room = room_of(team)
    form_id = f"decision-form-{items['first']}"
    school = str(team.member.agency_id)
    typed = "Nursery <b>from</b> September"
    fields = {
        "_form": form_id,
        "agenda_item_id": items["first"],
        "text": typed,
        "outcome": "agreed",
        f"reason-{school}": "Too soon for the school",  # a reason without its position
    }

    # htmx: the decisions region, out of band, 422, naming the form.
    answer = await htmx(client, f"{room}/decisions", fields)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["X-Room-Refusal"] == form_id
    assert answer.headers["HX-Reswap"] == "none"
    assert 'id="region-decisions" hx-swap-oob="true"' in answer.text
    assert "<html" not in answer.text
    document = Document(answer.text)
    reason_id = next(f.id for f in document.forms[0].fields if f.name == f"reason-{school}")
    assert reason_id is not None
    message = document.error_beside(reason_id)
    assert message
    assert "Choose the agency's position" in message
    assert re.search(r'id="' + reason_id + r'-error"[^>]*autofocus', answer.text), "focus goes to the message"
    assert "Nursery &lt;b&gt;from&lt;/b&gt; September</textarea>" in answer.text  # typed, kept, escaped
    assert 'value="Too soon for the school"' in answer.text
    assert re.search(r'id="decision-disclosure-[^"]+"[^>]* open', answer.text), "its fold is open"

    # No script: the whole room again, 422, the same message beside the same field.
    plain = await submit(client, f"{room}/decisions", fields)
    assert plain.status_code == 422
    check_page(plain, "refused decision, no script")
    message = Document(plain.text).error_beside(reason_id)
    assert message
    assert "Choose the agency's position" in message

    # A disagreement without its reason is refused beside the reason, not recorded.
    fields |= {f"position-{school}": "disagree", f"reason-{school}": ""}
    plain = await submit(client, f"{room}/decisions", fields)
    assert plain.status_code == 422
    message = Document(plain.text).error_beside(reason_id)
    assert message
    assert "reason for this disagreement" in message
    assert 'value="disagree" checked' in plain.text

    # An action due in the past: beside the date, with the title and the owner kept.
    past = (today_local() - timedelta(days=1)).isoformat()
    action = {
        "_form": "action-form",
        "title": "Apply for the place",
        "owner_id": str(team.member.id),
        "due_date": past,
        "outcome_area": "enjoying_and_achieving",
    }
    plain = await submit(client, f"{room}/actions", action)
    assert plain.status_code == 422
    page = Document(plain.text)
    message = page.error_beside("action-due")
    assert message
    assert "cannot be in the past" in message
    assert ">Apply for the place</textarea>" in plain.text
    assert f'value="{team.member.id}" selected' in plain.text
    assert f'value="{past}"' in plain.text

    # A refusal of a button form stands beside its button.
    assert (await htmx(client, f"{room}/round", {"_form": "room-round"})).status_code == 204  # queues the school
    nobody = await htmx(client, f"{room}/round", {"_form": "room-round"})
    assert nobody.status_code == 409
    assert 'id="room-round-error-1"' in nobody.text
    assert "The round added nobody" in nobody.text
    again = await htmx(client, f"{room}/hands", {"_form": "room-hands-contribution", "kind": "contribution"})
    again = await htmx(client, f"{room}/hands", {"_form": "room-hands-contribution", "kind": "contribution"})
    assert again.status_code == 409
    assert 'id="room-hands-contribution-error-1"' in again.text
    assert "That hand is already up." in again.text


async def test_without_javascript_the_room_says_so_and_offers_only_what_works(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await live_room(runtime, team)
    room = room_of(team)
    await sign_in_form(client, team.family)  # joined, with a hand up, not speaking
    page = (await client.get(room)).text
    assert "This page does not update by itself" in page
    assert f'href="{room}">Refresh the room</a>' in page
    assert re.search(r"data-connection-status[^>]* hidden", page), "no Connecting… for ever"

    def shown(page: str, form_id: str) -> bool:
        tag = re.search(r'<form[^>]*id="' + form_id + r'"[^>]*>', page)
        assert tag, form_id
        return " hidden" not in tag.group(0)

    assert shown(page, "room-hands-lower")
    assert not shown(page, "room-hands-contribution")  # her hand is up already
    assert not shown(page, "room-hands-reply")  # nobody has the floor
    assert not shown(page, "room-join-people")
    assert shown(page, "room-leave")

    await sign_in_form(client, team.lead)  # not joined
    page = (await client.get(room)).text
    assert shown(page, "room-join-people")
    assert not shown(page, "room-hands-lower")
    assert not shown(page, "room-leave")


async def test_one_numbering_for_everyone(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    await without_childs_voice(runtime, team.meeting.id)
    await live_room(runtime, team)
    room = room_of(team)

    def numbered(page: str) -> list[tuple[str, str]]:
        region = page[page.index('id="region-agenda"') : page.index('id="region-balance"')]
        return re.findall(
            r'agenda__number" aria-hidden="true">(\d+)</span>\s*<div class="agenda__text">\s*'
            r'<span class="agenda__title">(?:<span class="visually-hidden">[^<]*</span>)?([^<]+)',
            region,
        )

    await sign_in_form(client, team.member)
    assert numbered((await client.get(room)).text) == [
        ("1", "School and nursery"), ("2", SECRET), ("3", "Housing"),
    ]  # fmt: skip
    await sign_in_form(client, team.family)
    family = (await client.get(room)).text
    assert SECRET not in family
    assert numbered(family) == [("1", "School and nursery"), ("2", "An item for professionals only"), ("3", "Housing")]

    async with runtime.sessionmaker() as session:
        await room_as(runtime, session, team.chair).run(ops.end, team.meeting.id)
    minutes = (await client.get(f"/meetings/{team.meeting.id}/minutes")).text
    assert SECRET not in minutes
    assert "1. School and nursery" in minutes
    assert "2. An item for professionals only" in minutes
    assert "3. Housing" in minutes
    pdf = pdf_text((await client.get(f"/meetings/{team.meeting.id}/minutes.pdf")).content)
    assert SECRET not in pdf
    assert "2. An item for professionals only" in pdf
    assert "3. Housing" in pdf

    # The ended room links to the minutes.
    ended = (await client.get(room)).text
    assert f'href="/meetings/{team.meeting.id}/minutes"' in ended
    assert (
        "present"
        not in re.sub(r"<(script|link)[^>]*>", "", ended).split('id="region-status"')[1].split("</section>")[0]
    )


async def test_the_shared_screen(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    await without_childs_voice(runtime, team.meeting.id)
    items = await live_room(runtime, team)
    present = f"{room_of(team)}/present"
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair)
        await chair.run(ops.floor_next, team.meeting.id)  # the parent has the floor
        await room_as(runtime, session, team.lead).run(ops.join, team.meeting.id)
        await chair.run(ops.start_round, team.meeting.id)  # queues the school, the health visitor, the family

    await sign_in_form(client, team.chair)
    assert f'href="{present}"' in (await client.get(room_of(team))).text
    for who in (team.member, team.family):
        await sign_in_form(client, who)
        response = await client.get(present)
        assert response.status_code == 200
        page = check_page(response, f"present, {who.name}")
        html = response.text
        assert "<form" not in html.split("<main")[1], "no controls"
        assert "<button" not in html, "no controls"
        assert 'ws-connect="/ws/meetings/' in html
        assert "Speaking now" in html
        assert "Fran Smith" in html
        assert "1. School and nursery" in html
        assert html.count('class="present-queue__entry') == 3
        assert html.count(">Round</span>") == 3
        assert "Raised by the chair" not in html
        unheard = html[html.index("present-unheard") :]
        unheard = unheard[: unheard.index("</ul>")]
        assert "School" in unheard
        assert "Health visiting" in unheard
        assert "Partnership" not in unheard, "the chair's agency is no voice of its own"
        assert page.h1 == 1
    assert items  # the items exist for the page's numbering

    await sign_in_form(client, team.outsider)
    assert (await client.get(present)).status_code == 404


async def test_the_chair_counts_as_a_voice_only_when_they_speak_for_an_agency(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await live_room(runtime, team)
    room = room_of(team)
    await sign_in_form(client, team.chair)

    def unheard(page: str) -> list[str]:
        block = page[page.index('class="unheard__list"') :]
        return re.findall(r"<li>([^<]+)</li>", block[: block.index("</ul>")])

    def position_rows(page: str) -> list[str]:
        return re.findall(r'<legend class="positions__agency">([^<]+)</legend>', page)

    page = (await client.get(room)).text
    assert sorted(unheard(page)) == ["School", "Smith family"]
    assert sorted(position_rows(page)) == ["School", "Smith family"]
    assert "You chair independently" in page

    answer = await submit(client, f"{room}/chair-voice", {"_form": "room-chair-voice", "speaks_for_agency": "true"})
    assert answer.status_code == 303
    page = (await client.get(room)).text
    assert sorted(unheard(page)) == ["Partnership", "School", "Smith family"]
    assert sorted(position_rows(page)) == ["Partnership", "School", "Smith family"]
    assert "You are counted as a voice of Partnership" in page
    state = (await client.get(f"/api/meetings/{team.meeting.id}")).json()
    assert state["chair_speaks_for_agency"] is True

    async with runtime.sessionmaker() as session:
        await room_as(runtime, session, team.chair).run(ops.set_chair_voice, team.meeting.id, ChairVoice(False))
    assert sorted(unheard((await client.get(room)).text)) == ["School", "Smith family"]


async def test_the_snooze_reason_survives_a_date_error(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    await live_room(runtime, team)
    async with runtime.sessionmaker() as session:
        action = await room_as(runtime, session, team.chair).run(
            ops.assign_action,
            team.meeting.id,
            NewAction("Apply for the place", team.member.id, today_local() + timedelta(days=20), "staying_safe"),
        )
    await sign_in_form(client, team.member)
    for until in ("not a date", (today_local() - timedelta(days=3)).isoformat()):
        fields = {"change": "snooze", "snoozed_until": until, "snooze_reason": "On annual leave <until> then"}
        response = await submit(client, f"/actions/{action.id}", fields)
        assert response.status_code == 422, until
        assert Document(response.text).error_beside("snoozed_until"), until
        assert "On annual leave &lt;until&gt; then</textarea>" in response.text, until
