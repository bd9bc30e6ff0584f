"""The conference's calls (API.md, "The conference"): the outcome, mapping, scaling, the child's
voice and live notes, with their error cases, through the app, each person with their own
signed-in client; and what each audience's state shows afterwards."""

# ruff: noqa: F811  (the ``room`` fixture of tests/test_room_api.py is imported by name)

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import update

from server.meetings.models import Meeting
from server.platform.runtime import Runtime
from tests.pdftext import pdf_text
from tests.support import Person, csrf
from tests.test_room_api import Room, detail, room  # noqa: F401  (the fixture)

SECRET = "QUOKKA-PRO-ONLY-5521"


async def send(who: Person, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await who.client.request(method, url, json=body, headers=csrf(who.client))


async def make_kind(runtime: Runtime, room: Room, kind: str) -> None:
    async with runtime.sessionmaker() as session:
        await session.execute(update(Meeting).where(Meeting.id == room.team.meeting.id).values(kind=kind))
        await session.commit()


def code_of(response: httpx.Response) -> str | None:
    return response.json().get("code") or (response.json().get("extra") or {}).get("code")


async def test_the_outcome_only_in_a_conference_with_its_reasons_and_dissent(room: Room, runtime: Runtime) -> None:
    await room.live(room.member, room.family)
    school, health = str(room.team.member.agency_id), str(room.team.lead.agency_id)
    good = {
        "plan": True,
        "category": ["neglect", "emotional_abuse"],
        "reasons": "Repeated neglect of health needs",
        "views": [
            {"agency_id": health, "view": "plan"},
            {"agency_id": school, "view": "no_plan", "reason": "Improving"},
        ],
    }
    in_a_tac = await room.chair.post(room.base + "/outcome", good)
    assert in_a_tac.status_code == 409, in_a_tac.text
    assert "conference" in detail(in_a_tac)

    await make_kind(runtime, room, "initial_conference")
    for bad, status in (
        ({**good, "category": None}, 422),
        ({**good, "category": "hunger"}, 422),
        ({**good, "reasons": "  "}, 422),
        ({**good, "views": [{"agency_id": school, "view": "no_plan"}]}, 422),
        ({**good, "views": [{"agency_id": school, "view": "perhaps", "reason": "x"}]}, 422),
        ({"plan": "yes"}, 400),
        ({**good, "reasons": "x" * 5001}, 400),
    ):
        response = await room.chair.post(room.base + "/outcome", bad)
        assert response.status_code == status, (bad, response.text)
        detail(response)
    no_reason = await room.chair.post(
        room.base + "/outcome", {**good, "views": [{"agency_id": school, "view": "no_plan"}]}
    )
    assert "reason" in detail(no_reason)
    assert (await room.member.post(room.base + "/outcome", good)).status_code == 403

    recorded = await room.ok(room.chair, "/outcome", good, 201)
    assert recorded["plan"] is True
    assert recorded["categories"] == ["neglect", "emotional_abuse"]
    assert {v["agency_id"]: v["dissent"] for v in recorded["views"]} == {health: False, school: True}
    for who in (room.chair, room.family):
        outcome = (await room.state(who))["outcome"]
        assert outcome["reasons"] == "Repeated neglect of health needs"
        assert [v["reason"] for v in outcome["views"] if v["dissent"]] == ["Improving"]

    await room.ok(room.chair, "/end")
    await make_kind(runtime, room, "review_conference")
    ended = await room.ok(room.chair, "/outcome", {"plan": False, "reasons": "Safe at home now"}, 201)
    assert ended["ends_plan"] is True
    assert ended["categories"] == []


async def test_mapping_by_anyone_present_changed_by_its_author_or_the_chair(room: Room) -> None:
    await room.live(room.member, room.family)
    shared = await room.add_item("Home")
    secret_item = await room.add_item("Police", professionals_only=True)
    await room.open_item(shared)

    entry = await room.ok(room.family, "/mapping", {"column": "working_well", "text": "Grandma helps"}, 201)
    assert entry["agenda_item_id"] == shared
    assert entry["author"]["id"] == room.family.id
    for bad in ({"column": "worry", "text": "   "}, {"column": "feelings", "text": "x"}, {"column": "worry"}):
        response = await room.family.post(room.base + "/mapping", bad)
        assert response.status_code in (400, 422), (bad, response.text)
        detail(response)
    hidden = await room.family.post(
        room.base + "/mapping", {"column": "worry", "text": "x", "agenda_item_id": secret_item}
    )
    assert hidden.status_code == 422, hidden.text
    assert (await room.lead.post(room.base + "/mapping", {"column": "worry", "text": "x"})).status_code == 409

    await room.ok(room.member, "/mapping", {"column": "worry", "text": SECRET, "agenda_item_id": secret_item}, 201)
    url = f"{room.base}/mapping/{entry['id']}"
    assert (await send(room.member, "PATCH", url, {"text": "Mine now"})).status_code == 403
    assert (await send(room.family, "PATCH", url, {"text": ""})).status_code == 422
    edited = await send(room.family, "PATCH", url, {"text": "Grandma helps most days"})
    assert edited.status_code == 200
    assert edited.json()["text"] == "Grandma helps most days"

    family_state = await room.state(room.family)
    assert SECRET not in json.dumps(family_state)
    assert [e["text"] for e in family_state["mapping"]] == ["Grandma helps most days"]
    assert SECRET in json.dumps(await room.state(room.member))

    assert (await send(room.chair, "DELETE", url)).status_code == 200
    assert (await room.state(room.family))["mapping"] == []
    assert (await send(room.chair, "DELETE", url)).status_code == 404


async def test_scores_stay_hidden_until_the_chair_reveals_them(room: Room) -> None:
    await room.live(room.member, room.family)
    item = await room.add_item("Safety")
    await room.open_item(item)
    assert (await room.member.post(room.base + "/scales", {"question": "Safe?"})).status_code == 403
    assert (await room.chair.post(room.base + "/scales", {"question": " "})).status_code == 422
    scale = await room.ok(room.chair, "/scales", {"question": "How safe is the child at home?"}, 201)
    again = await room.chair.post(room.base + "/scales", {"question": "Another"})
    assert again.status_code == 409, again.text
    mine = f"{room.base}/scales/{scale['id']}/mine"
    for bad in ({"score": 11}, {"score": -1}, {"score": "seven"}, {}):
        response = await send(room.member, "PUT", mine, bad)
        assert response.status_code in (400, 422), (bad, response.text)
    assert (await send(room.lead, "PUT", mine, {"score": 5})).status_code == 409  # not joined

    assert (await send(room.member, "PUT", mine, {"score": 3, "reason": "Bruising"})).status_code == 200
    assert (await send(room.family, "PUT", mine, {"score": 9})).status_code == 200
    assert (await send(room.family, "PUT", mine, {"score": 8})).status_code == 200  # changeable
    for who, own in ((room.member, [3]), (room.family, [8]), (room.chair, [])):
        (seen,) = (await room.state(who))["scales"]
        assert seen["scored"] == 2
        assert seen["status"] == "open"
        assert [s["score"] for s in seen["scores"]] == own, who.user.email
        assert seen["by_agency"] == []

    reveal = f"/scales/{scale['id']}/reveal"
    assert (await room.member.post(room.base + reveal)).status_code == 403
    await room.ok(room.chair, reveal)
    for who in (room.member, room.family, room.chair):
        (seen,) = (await room.state(who))["scales"]
        assert sorted(s["score"] for s in seen["scores"]) == [3, 8]
        assert {a["agency"]["name"]: a["scores"] for a in seen["by_agency"]} == {"School": [3], "Smith family": [8]}
    assert (await send(room.member, "PUT", mine, {"score": 1})).status_code == 409
    assert (await room.chair.post(room.base + reveal)).status_code == 409

    history = await room.family.get(f"/api/cases/{room.team.case.id}/scales")
    assert history.status_code == 200, history.text
    assert [s["question"] for s in history.json()["scales"]] == ["How safe is the child at home?"]
    assert (await room.outsider.get(f"/api/cases/{room.team.case.id}/scales")).status_code == 404


async def test_a_scale_under_a_professionals_only_item_never_reaches_the_family(room: Room) -> None:
    await room.live(room.member, room.family)
    item = await room.add_item("Police", professionals_only=True)
    await room.open_item(item)
    scale = await room.ok(room.chair, "/scales", {"question": SECRET}, 201)
    assert (await send(room.member, "PUT", f"{room.base}/scales/{scale['id']}/mine", {"score": 2})).status_code == 200
    refused = await send(room.family, "PUT", f"{room.base}/scales/{scale['id']}/mine", {"score": 2})
    assert refused.status_code == 404, refused.text
    await room.ok(room.chair, f"/scales/{scale['id']}/reveal")
    assert SECRET not in json.dumps(await room.state(room.family))
    assert SECRET not in (await room.family.get(f"/api/cases/{room.team.case.id}/scales")).text
    assert SECRET in (await room.member.get(f"/api/cases/{room.team.case.id}/scales")).text


async def test_the_childs_voice_is_prompted_recorded_by_professionals_and_in_the_familys_copy(room: Room) -> None:
    state = await room.state()
    assert [i["title"] for i in state["agenda"] if i["is_child_voice"]], "a TAC meeting prompts the child's voice"
    body = {
        "how_gathered": "Drawing with the school nurse",
        "gathered_by_id": room.member.id,
        "words": "I like it when Nan picks me up",
        "child_attended": False,
        "advocate_offered": True,
    }
    assert (await send(room.family, "PUT", room.base + "/child-voice", body)).status_code == 403
    assert (await send(room.member, "PUT", room.base + "/child-voice", {**body, "words": " "})).status_code == 422
    outsider = {**body, "gathered_by_id": room.family.id}
    assert (await send(room.member, "PUT", room.base + "/child-voice", outsider)).status_code == 422
    saved = await send(room.member, "PUT", room.base + "/child-voice", body)
    assert saved.status_code == 200, saved.text
    voice = (await room.state(room.family))["child_voice"]
    assert voice["words"] == body["words"]
    assert voice["advocate_offered"] is True
    assert voice["gathered_by"]["id"] == room.member.id


async def test_notes_by_the_chair_or_the_minute_taker_last_writer_warned(room: Room) -> None:
    await room.live(room.member, room.family)
    shared = await room.add_item("Home")
    secret_item = await room.add_item("Police", professionals_only=True)
    await room.open_item(shared)
    notes = f"{room.base}/agenda/{shared}/notes"
    assert (await send(room.member, "PUT", notes, {"text": "x"})).status_code == 403
    assert (await send(room.family, "PUT", notes, {"text": "x"})).status_code == 403
    family_taker = await send(room.chair, "PUT", room.base + "/minute-taker", {"user_id": room.family.id})
    assert family_taker.status_code == 422, family_taker.text
    assert (await send(room.member, "PUT", room.base + "/minute-taker", {"user_id": room.member.id})).status_code == 403
    named = await send(room.chair, "PUT", room.base + "/minute-taker", {"user_id": room.member.id})
    assert named.status_code == 200
    assert named.json()["minute_taker"]["id"] == room.member.id

    first = await send(room.member, "PUT", notes, {"text": "Mum attended", "notes_version": 0})
    assert first.status_code == 200
    assert first.json() == {
        "agenda_item_id": shared,
        "text": "Mum attended",
        "notes_version": 1,
        "overwrote": False,
    }
    crossed = await send(room.chair, "PUT", notes, {"text": "Mother attended", "notes_version": 0})
    assert crossed.json()["overwrote"] is True
    assert crossed.json()["notes_version"] == 2
    assert (await send(room.member, "PUT", notes, {"text": "x" * 20_001})).status_code == 400
    assert (
        await send(room.member, "PUT", f"{room.base}/agenda/{room.team.case.id}/notes", {"text": "x"})
    ).status_code == 404
    await send(room.member, "PUT", f"{room.base}/agenda/{secret_item}/notes", {"text": SECRET})

    family_state = await room.state(room.family)
    assert SECRET not in json.dumps(family_state)
    assert next(i for i in family_state["agenda"] if i["id"] == shared)["notes"] == "Mother attended"
    assert SECRET in json.dumps(await room.state(room.member))


async def test_the_minutes_carry_the_conference_each_audience_its_own_copy(room: Room, runtime: Runtime) -> None:
    await make_kind(runtime, room, "initial_conference")
    await room.live(room.member, room.family)
    shared = await room.add_item("Home")
    secret_item = await room.add_item("Police", professionals_only=True)
    await room.open_item(shared)
    await send(room.chair, "PUT", f"{room.base}/agenda/{shared}/notes", {"text": "Nan helps with mornings"})
    await room.ok(room.family, "/mapping", {"column": "working_well", "text": "Nursery every day"}, 201)
    scale = await room.ok(room.chair, "/scales", {"question": "How safe at home?"}, 201)
    await send(room.family, "PUT", f"{room.base}/scales/{scale['id']}/mine", {"score": 7, "reason": "Calmer now"})
    await room.ok(room.chair, f"/scales/{scale['id']}/reveal")
    voice = {"how_gathered": "At nursery", "words": "I like the sand pit"}
    assert (await send(room.member, "PUT", room.base + "/child-voice", voice)).status_code == 200
    await room.open_item(secret_item)
    await send(room.chair, "PUT", f"{room.base}/agenda/{secret_item}/notes", {"text": SECRET})
    await room.ok(room.member, "/mapping", {"column": "worry", "text": SECRET}, 201)
    school = str(room.team.member.agency_id)
    outcome = {
        "plan": True,
        "category": "neglect",
        "reasons": "Unmet health needs",
        "views": [{"agency_id": school, "view": "no_plan", "reason": "Attendance has improved"}],
    }
    await room.ok(room.chair, "/outcome", outcome, 201)
    await room.ok(room.chair, "/end")

    meeting = room.team.meeting.id
    for who, sees_secret in ((room.family, False), (room.member, True)):
        copy = (await who.get(f"/api/meetings/{meeting}/minutes")).json()["snapshot"]
        page = (await who.get(f"/meetings/{meeting}/minutes")).text
        pdf = pdf_text((await who.get(f"/meetings/{meeting}/minutes.pdf")).content)
        for text in (json.dumps(copy), page, pdf):
            for shared_text in ("Nan helps with mornings", "Nursery every day", "Calmer now", "I like the sand pit"):
                assert shared_text in text, (who.user.email, shared_text)
            assert "Attendance has improved" in text
            assert (SECRET in text) is sees_secret, who.user.email
        assert copy["outcome"]["views"][0]["dissent"] is True
        assert "dissent" in pdf.lower()
