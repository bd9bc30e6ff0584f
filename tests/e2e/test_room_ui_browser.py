"""The room as a keyboard chair, a parent and a shared screen meet it, in real browsers: focus
stays on the control across live updates (Next speaker pressed twice from the keyboard), the
announcer says a new item, your place in the queue, a hand raised (to the chair) and a decision
recorded; a refusal comes back beside its field with focus on the message and what was typed
kept; the present mode follows the room live; and at 1280, 768 and 390 px every panel spans the
room with nothing wider than the window. With ROUNDTABLE_SCREENSHOTS=<folder>, screenshots of
the room as chair and parent and of the present mode at each width are written there."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from server.meetings import room as ops
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.e2e.test_room_browser import WAIT, Person, enter_room
from tests.support import Team, room_as, without_childs_voice

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

WIDTHS = (1280, 768, 390)


@pytest.fixture
async def people(browser: Browser, server_url: str, team: Team, runtime: Runtime) -> AsyncIterator[dict[str, Person]]:
    await without_childs_voice(runtime, team.meeting.id)  # an agenda of the test's own
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair)
        first = await chair.run(ops.add_item, team.meeting.id, NewItem("Health and development"))
        await chair.run(ops.add_item, team.meeting.id, NewItem("Police information", professionals_only=True))
        await chair.run(ops.add_item, team.meeting.id, NewItem("School and nursery"))
        await chair.run(ops.start, team.meeting.id)
        await chair.run(ops.open_item, team.meeting.id, target=first.id)
        for who in (team.member, team.lead, team.family):
            await room_as(runtime, session, who).run(ops.join, team.meeting.id)
    path = f"/meetings/{team.meeting.id}/room"
    found: dict[str, Person] = {}
    try:
        for role in ("chair", "family", "member"):
            user = getattr(team, role)
            found[role] = await enter_room(browser, server_url, user.email, user.name, path)
        yield found
    finally:
        for person in found.values():
            await person.context.close()


async def focused(page: Page) -> str:
    return str(await page.evaluate("document.activeElement ? document.activeElement.textContent.trim() : ''"))


async def announced(page: Page, text: str) -> None:
    await expect(page.locator("#room-announcer")).to_contain_text(text, timeout=WAIT)


async def test_keyboard_announcer_refusal_present_and_widths(
    people: dict[str, Person], team: Team, runtime: Runtime
) -> None:
    chair, family, member = people["chair"], people["family"], people["member"]

    # The shared screen, opened by a member; it follows the room without a reload.
    refused: list[str] = []

    def watch(page: Page) -> None:
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

    for person in people.values():
        watch(person.page)
    present = await member.context.new_page()
    watch(present)
    await present.goto(f"/meetings/{team.meeting.id}/room/present")
    await expect(present.locator("[data-connection-status]")).to_have_attribute("data-state", "open", timeout=WAIT)
    await present.evaluate("window.__sameDocument = true")
    await expect(present.locator(".present__item")).to_contain_text("1. Health and development")
    await expect(present.locator("button, form")).to_have_count(0)

    # Hands: the parent hears her place; the chair hears the hand go up.
    await family.click("queue", "Raise hand")
    await announced(family.page, "You are next to speak.")
    # Raise hand gives way to Lower my hand, in its place, and focus goes with it.
    await expect(family.region("queue").get_by_role("button", name="Lower my hand")).to_be_focused()
    await announced(chair.page, f"{team.family.name} raised a hand.")
    await member.click("queue", "Raise hand")
    await announced(member.page, "You are second in the queue.")
    await expect(present.locator(".present-queue__name")).to_have_text(
        [team.family.name, team.member.name], timeout=WAIT
    )

    # A keyboard chair presses Next speaker, and again: focus stays on the button.
    next_speaker = chair.region("floor").get_by_role("button", name="Next speaker")
    await next_speaker.focus()
    await chair.page.keyboard.press("Enter")
    await expect(chair.region("floor").locator(".speaker__person")).to_have_text(team.family.name, timeout=WAIT)
    await announced(family.page, "You have the floor.")
    await expect(present.locator(".present__speaker")).to_have_text(team.family.name, timeout=WAIT)
    assert await focused(chair.page) == "Next speaker"
    await chair.page.keyboard.press("Enter")
    await expect(chair.region("floor").locator(".speaker__person")).to_have_text(team.member.name, timeout=WAIT)
    assert await focused(chair.page) == "Next speaker"
    await announced(member.page, "You have the floor.")
    await expect(present.locator(".present__speaker")).to_have_text(team.member.name, timeout=WAIT)
    assert await present.evaluate("window.__sameDocument === true"), "the shared screen never reloaded"
    for person in people.values():
        assert not person.problems, person.problems
    await chair.page.reload()  # a whole room page loaded under watch: no inline style or script refused
    await expect(chair.region("floor").locator(".speaker__person")).to_have_text(team.member.name, timeout=WAIT)
    await expect(chair.page.locator("[data-static-notice]")).to_be_hidden()

    # A refused action comes back beside its field, focused, with what was typed.
    actions = chair.region("actions")
    await actions.locator("summary").click()
    await actions.get_by_label("What is to be done").fill("Share the nursery's assessment.")
    await actions.get_by_label("Owner").select_option(str(team.member.id))
    await actions.get_by_label("Due by").fill((today_local() - timedelta(days=2)).isoformat())
    await actions.get_by_label("Outcome area").select_option("enjoying_and_achieving")
    await actions.get_by_role("button", name="Assign the action").click()
    message = actions.locator("#action-due-error")
    await expect(message).to_contain_text("cannot be in the past", timeout=WAIT)
    await expect(message).to_be_focused()
    await expect(actions.get_by_label("Due by")).to_have_attribute("aria-invalid", "true")
    await expect(actions.get_by_label("What is to be done")).to_have_value("Share the nursery's assessment.")
    await expect(chair.page.locator("#room-errors")).to_be_empty()

    # A decision recorded is said to everyone; a new item too.
    decisions = chair.region("decisions")
    await decisions.locator("summary").click()
    await decisions.get_by_label("Decision", exact=True).fill("Leo is referred for a developmental assessment.")
    await decisions.get_by_role("button", name="Record the decision").click()
    await announced(family.page, "Decision recorded: Agreed. Leo is referred")
    await expect(present.locator(".present-decision__head")).to_contain_text("Leo is referred", timeout=WAIT)
    await chair.region("agenda").get_by_role("button", name="Open “School and nursery”").click()
    await announced(family.page, "Now discussing School and nursery.")
    await expect(present.locator(".present__item")).to_contain_text("3. School and nursery", timeout=WAIT)
    # The parent's agenda keeps the team's numbers, with a placeholder for the hidden item.
    await expect(family.region("agenda").locator(".agenda__number")).to_have_text(["1", "2", "3"])
    await expect(family.region("agenda").locator(".agenda__item--withheld")).to_have_text(
        "2 Item 2: An item for professionals only"
    )
    async with runtime.sessionmaker() as session:  # a hand queued for the screenshots
        await room_as(runtime, session, team.lead).run(ops.raise_hand, team.meeting.id, NewHand())
    await expect(present.locator(".present-queue__name")).to_have_text([team.lead.name], timeout=WAIT)

    # Every width: each panel spans the room (none shrunk to its content), nothing overflows.
    shots = os.environ.get("ROUNDTABLE_SCREENSHOTS")  # Playwright makes the folder
    for width in WIDTHS:
        for name, page in (("chair", chair.page), ("parent", family.page), ("present", present)):
            await page.set_viewport_size({"width": width, "height": 1000 if width > 400 else 844})
            await page.wait_for_timeout(50)
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} at {width} px is {overflow} px wider than the window"
            if name != "present" and width < 1000:
                ragged = await page.evaluate(
                    """() => {
                      const room = document.querySelector('.room').getBoundingClientRect().width;
                      return [...document.querySelectorAll('.room .panel, .room .room-bar')]
                        .filter(p => p.getClientRects().length && Math.abs(p.getBoundingClientRect().width - room) > 2)
                        .map(p => p.id || p.className);
                    }"""
                )
                if width <= 768:
                    assert not ragged, f"{name} at {width} px: panels narrower than the room: {ragged}"
            assert not refused, refused
            if shots:
                await page.screenshot(path=f"{shots}/{name}-{width}.png", full_page=True)
