"""Scheduling a meeting as a chair meets it: a date in the past is refused (or, when the chair
says the meeting has already taken place, recorded with no invitations sent), every problem is
listed at once beside its field with what was typed kept, and the turn limit is worded in the
minutes the field asks for. The API refuses the same things."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from server.meetings.models import Meeting
from server.notify.models import OutboxMessage
from server.platform.runtime import Runtime
from tests.html_forms import Document, post_form
from tests.support import Person, Team, sign_in


async def outbox_count(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def meetings_of(runtime: Runtime, team: Team) -> list[Meeting]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(Meeting).where(Meeting.case_id == team.case.id)))


def good_form(team: Team) -> dict[str, str]:
    return {
        "title": "Review of the plan",
        "kind": "tac",
        "scheduled_at": "2031-06-15T14:30",
        "chair_id": str(team.chair.id),
        "duration_minutes": "60",
    }


async def test_the_form_lists_every_problem_at_once_beside_its_field(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    typed = {
        **good_form(team),
        "title": "",
        "scheduled_at": "2020-03-02T10:00",
        "location": "Room " + "9" * 200,
        "turn_limit_minutes": "90",
    }
    response = await post_form(client, f"/cases/{team.case.id}/meetings", typed)
    assert response.status_code == 422
    page = Document(response.text)
    assert page.error_beside("title") == "Enter a title for the meeting."
    assert (page.error_beside("scheduled_at") or "").startswith("That date and time have passed.")
    assert page.error_beside("location") == "Keep the place to 200 characters or fewer (this has 205)."
    # The field asks for minutes, so the refusal speaks of minutes.
    assert page.error_beside("turn_limit_minutes") == (
        "Enter the time for each turn as a whole number of minutes, from 1 to 60."
    )
    assert page.error_beside("kind") is None
    # What was typed is still there.
    assert page.value_of("scheduled_at") == "2020-03-02T10:00"
    assert page.value_of("turn_limit_minutes") == "90"
    assert page.value_of("location") == typed["location"]
    summary = response.text[response.text.index("error-summary") :]
    for field in ("#title", "#scheduled_at", "#location", "#turn_limit_minutes"):
        assert f'href="{field}"' in summary


async def test_a_past_date_is_refused_and_nobody_is_invited(
    client: httpx.AsyncClient, team: Team, runtime: Runtime
) -> None:
    await sign_in(client, team.chair)
    before = await outbox_count(runtime)
    response = await post_form(
        client, f"/cases/{team.case.id}/meetings", {**good_form(team), "scheduled_at": "2020-03-02T10:00"}
    )
    assert response.status_code == 422
    assert len(await meetings_of(runtime, team)) == 1  # only the team's own
    assert await outbox_count(runtime) == before

    chair = Person(client, team.chair)
    body = {"title": "Old", "kind": "tac", "scheduled_at": "2020-03-02T10:00:00+00:00", "chair_id": chair.id}
    refused = await chair.post(f"/api/cases/{team.case.id}/meetings", body)
    assert refused.status_code == 422
    assert refused.json()["field"] == "scheduled_at"
    assert await outbox_count(runtime) == before


async def test_a_meeting_already_held_is_recorded_without_invitations(
    client: httpx.AsyncClient, team: Team, runtime: Runtime
) -> None:
    await sign_in(client, team.chair)
    before = await outbox_count(runtime)
    response = await post_form(
        client,
        f"/cases/{team.case.id}/meetings",
        {**good_form(team), "title": "Held last week", "scheduled_at": "2024-03-04T10:00", "already_held": "true"},
    )
    assert response.status_code == 303, response.text
    shown = await client.get(response.headers["location"])
    assert "No invitations were sent" in shown.text
    chair = Person(client, team.chair)
    api = await chair.post(
        f"/api/cases/{team.case.id}/meetings",
        {
            "title": "Held in March",
            "kind": "core_group",
            "scheduled_at": "2024-03-11T10:00:00+00:00",
            "chair_id": chair.id,
            "already_held": True,
        },
    )
    assert api.status_code == 201, api.text
    titles = {m.title for m in await meetings_of(runtime, team)}
    assert {"Held last week", "Held in March"} <= titles
    assert await outbox_count(runtime) == before  # no 2024 invitations to anyone

    # "Already held" and a time still to come contradict each other.
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    contradiction = await chair.post(
        f"/api/cases/{team.case.id}/meetings",
        {"title": "Soon", "kind": "tac", "scheduled_at": future, "chair_id": chair.id, "already_held": True},
    )
    assert contradiction.status_code == 422
    assert contradiction.json()["field"] == "scheduled_at"


async def test_a_meeting_to_come_invites_the_team(client: httpx.AsyncClient, team: Team, runtime: Runtime) -> None:
    await sign_in(client, team.chair)
    before = await outbox_count(runtime)
    response = await post_form(client, f"/cases/{team.case.id}/meetings", good_form(team))
    assert response.status_code == 303, response.text
    assert await outbox_count(runtime) == before + 4  # chair, lead, member and family


async def test_the_api_lists_every_problem_and_words_seconds(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    chair = Person(client, team.chair)
    response = await chair.post(
        f"/api/cases/{team.case.id}/meetings",
        {
            "title": "   ",
            "kind": "tea party",
            "scheduled_at": "2031-06-15T14:30:00+01:00",
            "chair_id": str(team.family.id),
            "turn_limit_seconds": 7200,
        },
    )
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert set(problems) == {"title", "kind", "chair_id", "turn_limit_seconds"}
    assert problems["turn_limit_seconds"] == "A turn limit is between 1 and 3,600 seconds (an hour)."


async def test_moving_a_meeting_keeps_what_was_typed_beside_the_fields(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    path = f"/meetings/{team.meeting.id}/reschedule"
    response = await post_form(
        client, path, {"scheduled_at": "2020-01-01T09:00", "duration_minutes": "999", "location": "Hall " + "x" * 300}
    )
    assert response.status_code == 422
    page = Document(response.text)
    assert page.error_beside("scheduled_at") == "Choose a time that has not passed yet."
    assert page.error_beside("duration_minutes") == (
        "Enter the length as a whole number of minutes, from 1 to 480 (8 hours)."
    )
    assert (page.error_beside("location") or "").startswith("Keep the place to 200 characters")
    assert page.value_of("scheduled_at") == "2020-01-01T09:00"
    assert page.value_of("duration_minutes") == "999"
    assert 'id="schedule-change" open' in response.text  # the folded form is open at its errors
