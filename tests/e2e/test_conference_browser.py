"""A conference in four browsers: the chair asks a scaling question, the parent and two
professionals score without seeing each other's numbers, the chair reveals and everyone sees the
spread at once; the parent adds to the mapping board and it appears for everyone; the
minute-taker's notes, saved as typed, appear on the parent's screen. No reloads. Screenshots of
the board and the revealed scale, as chair and as parent, at 1280, 768 and 390 px, go to
ROUNDTABLE_SCREENSHOTS (default /tmp/roundtable-conference-shots)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import update

from server.conference.notes import MinuteTaker
from server.meetings import room as ops
from server.meetings.models import Meeting
from server.meetings.room.agenda import NewItem
from server.platform.runtime import Runtime
from tests.e2e.test_accessibility import check
from tests.e2e.test_room_browser import WAIT, Person, enter_room
from tests.support import Team, room_as

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
SHOTS = Path(os.environ.get("ROUNDTABLE_SCREENSHOTS", "/tmp/roundtable-conference-shots"))


@pytest.fixture
async def conference(
    browser: Browser, server_url: str, team: Team, runtime: Runtime
) -> AsyncIterator[dict[str, Person]]:
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(Meeting)
            .where(Meeting.id == team.meeting.id)
            .values(kind="initial_conference", title="Initial child protection conference")
        )
        await session.commit()
        chair = room_as(runtime, session, team.chair)
        item = await chair.run(ops.add_item, team.meeting.id, NewItem("Risks and strengths"))
        await chair.run(ops.start, team.meeting.id)
        for who in (team.member, team.lead, team.family):
            await room_as(runtime, session, who).run(ops.join, team.meeting.id)
        await chair.run(ops.open_item, team.meeting.id, target=item.id)
        await chair.run(ops.set_minute_taker, team.meeting.id, MinuteTaker(team.member.id))
    path = f"/meetings/{team.meeting.id}/room"
    people: dict[str, Person] = {}
    try:
        for role in ("chair", "member", "lead", "family"):
            user = getattr(team, role)
            people[role] = await enter_room(browser, server_url, user.email, user.name, path)
        yield people
    finally:
        for person in people.values():
            await person.context.close()


async def score(person: Person, value: int, reason: str = "") -> None:
    scales = person.region("scales")
    await scales.locator(f"label.scale__label:text-is('{value}')").click()
    if reason:
        await scales.get_by_label("Why this number?").fill(reason)
    await scales.get_by_role("button", name="Give my score").click()


async def shoot(person: Person, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    for width in (1280, 768, 390):
        await person.page.set_viewport_size({"width": width, "height": 900})
        for region in ("scales", "mapping"):
            await person.region(region).screenshot(path=str(SHOTS / f"{name}-{region}-{width}.png"))
        await person.page.screenshot(path=str(SHOTS / f"{name}-room-{width}.png"), full_page=True)
    await person.page.set_viewport_size({"width": 1280, "height": 800})


async def test_scaling_revealed_and_mapping_live_in_four_browsers(conference: dict[str, Person]) -> None:
    chair, member, lead, family = (conference[r] for r in ("chair", "member", "lead", "family"))

    question = chair.region("scales").get_by_role("textbox", name="Scaling question")
    await question.fill("How safe is the child at home today?")
    await chair.region("scales").get_by_role("button", name="Ask everyone to score").click()
    for person in conference.values():
        await expect(person.region("scales")).to_contain_text("How safe is the child at home today?", timeout=WAIT)

    await score(family, 8, "Nan helps every day")
    await score(member, 3, "Bruising seen twice this term")
    await score(lead, 5)
    for person in conference.values():
        await expect(person.region("scales").locator("[data-scale-count]")).to_contain_text("3 of 4", timeout=WAIT)
    await expect(family.region("scales").locator(".scale__mine:visible")).to_have_count(1)
    await expect(chair.region("scales").locator(".scale__mine:visible")).to_have_count(0)
    for person in conference.values():  # nobody sees a number before the reveal
        assert await person.region("scales").locator(".scale-chart").count() == 0
        assert not [f for f in person.frames if "Bruising seen twice" in f], person.name

    await chair.region("scales").get_by_role("button", name="Reveal every score").click()
    for person in conference.values():
        chart = person.region("scales").locator(".scale-chart__row")
        await expect(chart).to_have_count(3, timeout=WAIT)
        await expect(person.region("scales")).to_contain_text("Bruising seen twice this term")
        await expect(person.region("scales").locator(".scale-table tbody tr")).to_have_count(3)

    board = family.region("mapping")
    await board.get_by_text("Add to the board").click()
    await board.locator("#mapping-column").select_option("working_well")
    await board.locator("#mapping-text").fill("Nan does the school run every morning")
    await board.get_by_role("button", name="Add", exact=True).click()
    chair_board = chair.region("mapping")
    await chair.region("mapping").get_by_text("Add to the board").click()
    await chair_board.locator("#mapping-column").select_option("worry")
    await chair_board.locator("#mapping-text").fill("Unexplained bruising to the arms, seen twice since September")
    await chair_board.get_by_role("button", name="Add", exact=True).click()
    for person in conference.values():
        column = person.region("mapping").locator(".mapping-board__column--working-well")
        await expect(column).to_contain_text("Nan does the school run every morning", timeout=WAIT)
        await expect(person.region("mapping").locator(".mapping-board__column--worry")).to_contain_text(
            "Unexplained bruising", timeout=WAIT
        )

    editor = member.region("notes").locator("form[data-notes-editor]:visible textarea")
    await editor.press_sequentially("Mother attended with her sister. ", delay=15)
    await editor.press_sequentially("Nan offered to help with the mornings.", delay=15)
    await expect(member.region("notes").locator("[data-notes-state]:visible")).to_have_text("Saved", timeout=WAIT)
    await expect(family.region("notes")).to_contain_text(
        "Mother attended with her sister. Nan offered to help with the mornings.", timeout=WAIT
    )

    for person in conference.values():
        assert await person.page.evaluate("window.__sameDocument === true"), f"{person.name}'s page reloaded"
        assert not person.problems, person.problems
    await shoot(chair, "chair")
    await shoot(family, "parent")
    for person in (chair, family):  # the panels with their folded forms opened, at every width
        for details in await person.page.locator("[data-conference] details:visible").all():
            await details.evaluate("node => { node.open = true; }")
        found = await check(person.page, f"{person.name} in the conference")
        assert not found, "\n".join(found)
