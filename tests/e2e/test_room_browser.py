"""A meeting run in real browsers: the chair, two agency members and a parent, each in their own
Chromium context against a real `roundtable serve` process. Every change made in one browser
appears in the others without a reload (htmx over the meeting socket), personal controls follow
the person looking, the turn's countdown runs out in the browser with no message from the server,
and the parent never receives a professionals-only item: not in the page at any step, and not in
any frame of the socket."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, Route, expect
from sqlalchemy import update

from server.meetings import room as ops
from server.meetings.models import Meeting
from server.meetings.room.agenda import NewItem
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import PASSWORD, Team, room_as, without_childs_voice

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

SECRET_TITLE = "Disclosure from the police ZX-41"
SECRET_DECISION = "A strategy discussion ZX-41 is to be convened"
OPEN_TITLE = "Health and development"
TURN_SECONDS = 4
WAIT = 8_000  # ms: a change must reach every browser within this


class Person:
    """One person in their own browser context, with every socket frame their browser received."""

    def __init__(self, context: BrowserContext, page: Page, name: str) -> None:
        self.context = context
        self.page = page
        self.name = name
        self.frames: list[str] = []
        self.problems: list[str] = []

    def region(self, name: str) -> Locator:
        return self.page.locator(f"#region-{name}")

    async def click(self, region: str, label: str) -> None:
        await self.region(region).get_by_role("button", name=label, exact=True).click()


async def enter_room(browser: Browser, base: str, email: str, name: str, room_path: str) -> Person:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base)
    page = await context.new_page()
    person = Person(context, page, name)
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: person.frames.append(str(frame))))
    page.on("pageerror", lambda error: person.problems.append(f"page error: {error}"))
    await page.goto("/sign-in")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/sign-in" not in url)
    await page.goto(room_path)
    await expect(page.locator("[data-connection-status]")).to_have_attribute("data-state", "open", timeout=WAIT)
    # A mark that a reload would wipe: every later change must arrive without one.
    await page.evaluate("window.__sameDocument = true")
    return person


@pytest.fixture
async def room(browser: Browser, server_url: str, team: Team, runtime: Runtime) -> AsyncIterator[dict[str, Person]]:
    await without_childs_voice(runtime, team.meeting.id)  # an agenda of the test's own
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair)
        await chair.run(ops.add_item, team.meeting.id, NewItem(OPEN_TITLE))
        await chair.run(ops.add_item, team.meeting.id, NewItem(SECRET_TITLE, professionals_only=True))
        await session.execute(
            update(Meeting).where(Meeting.id == team.meeting.id).values(turn_limit_seconds=TURN_SECONDS)
        )
        await session.commit()
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


async def everyone(people: dict[str, Person], region: str, selector: str, text: Any) -> None:
    """Every browser shows ``text`` in ``selector`` within ``region``."""
    for person in people.values():
        await expect(person.region(region).locator(selector)).to_have_text(text, timeout=WAIT)


async def nothing_secret(family: Person) -> None:
    content = await family.page.content()
    assert SECRET_TITLE not in content
    assert SECRET_DECISION not in content
    leaked = [frame for frame in family.frames if SECRET_TITLE in frame or "ZX-41" in frame]
    assert not leaked, leaked[0][:500]


async def test_a_meeting_in_four_browsers(room: dict[str, Person], team: Team) -> None:
    chair, member, lead, family = room["chair"], room["member"], room["lead"], room["family"]
    assert await family.page.evaluate("document.body.dataset.userId") == str(team.family.id)
    # The professionals see the professionals-only item on the agenda; the family does not.
    await expect(lead.region("agenda")).to_contain_text(SECRET_TITLE)
    await nothing_secret(family)

    # The chair starts the meeting; everyone sees it go live.
    await chair.click("status", "Start the meeting")
    await everyone(room, "status", ".tag", "Live")

    # Three people join (starting joined the chair); for each, Join gives way to Leave.
    for person in (member, lead, family):
        await person.click("people", "Join the meeting")
        leave = person.region("people").get_by_role("button", name="Leave the meeting")
        await expect(leave).to_be_visible(timeout=WAIT)
        await expect(person.region("people").get_by_role("button", name="Join the meeting")).to_be_hidden()
    await everyone(room, "people", ".panel__header .meta", "4 here")

    # The chair opens the first item.
    await chair.region("agenda").get_by_role("button", name=f"Open “{OPEN_TITLE}”").click()
    await everyone(room, "floor", ".floor__item-title", OPEN_TITLE)
    await everyone(room, "agenda", "[aria-current='step'] .agenda__title", OPEN_TITLE)

    # Hands: the parent first, then the school. Only someone with a hand up may lower it.
    await family.click("queue", "Raise hand")
    await everyone(room, "queue", ".queue__person", [family.name])
    await member.click("queue", "Raise hand")
    await everyone(room, "queue", ".queue__person", [family.name, member.name])
    await expect(family.region("queue").get_by_role("button", name="Lower my hand")).to_be_visible()
    await expect(lead.region("queue").get_by_role("button", name="Lower my hand")).to_be_hidden()
    await expect(family.region("queue").locator(".queue__entry.is-mine")).to_have_count(1)
    await expect(lead.region("queue").locator(".queue__entry.is-mine")).to_have_count(0)

    # The chair gives the floor to the head of the queue. The countdown runs out in every
    # browser by itself: the server sends nothing per second.
    await chair.click("floor", "Next speaker")
    await everyone(room, "floor", ".speaker__person", family.name)
    await everyone(room, "queue", ".queue__person", [member.name])
    await expect(family.region("floor").get_by_role("button", name="End my turn")).to_be_visible()
    await expect(lead.region("floor").get_by_role("button", name="End my turn")).to_be_hidden()
    await expect(family.region("floor").locator(".speaker__you")).to_be_visible()
    await expect(lead.region("floor").locator(".speaker__you")).to_be_hidden()
    for person in room.values():
        timer = person.region("floor").locator(".timer")
        await expect(timer).to_have_text("Time is up", timeout=(TURN_SECONDS + 4) * 1000)
        await expect(timer).to_have_class(re.compile(r"\btimer--over\b"))

    # A direct reply to the speaker goes ahead of ordinary contributions; lowered, it is gone.
    await lead.click("queue", "Reply to speaker")
    await everyone(room, "queue", ".queue__person", [lead.name, member.name])
    await everyone(room, "queue", ".queue__entry:first-child .tag--hand-reply", "Reply to the speaker")
    await expect(lead.region("queue").get_by_role("button", name="Reply to speaker")).to_be_hidden()
    await lead.click("queue", "Lower my hand")
    await everyone(room, "queue", ".queue__person", [member.name])
    await chair.click("floor", "Next speaker")
    await everyone(room, "floor", ".speaker__person", member.name)
    await everyone(room, "queue", ".queue__empty", "No hands up.")
    for person in room.values():
        unheard = person.region("unheard").locator(".unheard__list li")
        await expect(unheard).to_have_count(1, timeout=WAIT)  # the chair is no voice of their own
        assert await unheard.all_inner_texts() == ["Health visiting"]

    # A decision with one dissenting agency, its reason on the record for everyone to see.
    decisions = chair.region("decisions")
    await decisions.locator("summary").click()
    await decisions.get_by_label("Decision", exact=True).fill("Leo is referred for a developmental assessment.")
    for agency, position in {"Health visiting": "Agree", "School": "Disagree", "Smith family": "Agree"}.items():
        await decisions.get_by_role("group", name=agency, exact=True).get_by_label(position, exact=True).check()
    reason = "The school would rather wait for the nursery's own assessment."
    await decisions.get_by_role("group", name="School", exact=True).get_by_role("textbox").fill(reason)
    await decisions.get_by_role("button", name="Record the decision").click()
    await everyone(room, "decisions", ".decision__text", "Leo is referred for a developmental assessment.")
    await everyone(room, "decisions", ".decisions__item", OPEN_TITLE)
    await everyone(room, "decisions", ".positions-list__row--disagree .tag", "Disagrees")
    await everyone(room, "decisions", ".positions-list__reason-text", reason)
    await everyone(room, "decisions", ".positions-list__row--agree .tag", ["Agrees", "Agrees"])
    await expect(decisions.locator("details")).not_to_have_attribute("open", "")

    # An action for the school: everyone sees it; only its owner sees it marked as theirs.
    actions = chair.region("actions")
    await actions.locator("summary").click()
    await actions.get_by_label("What is to be done").fill("Share the nursery's assessment with the team.")
    await actions.get_by_label("Owner").select_option(str(team.member.id))
    await actions.get_by_label("Due by").fill((today_local() + timedelta(days=14)).isoformat())
    await actions.get_by_label("Outcome area").select_option("enjoying_and_achieving")
    await actions.get_by_role("button", name="Assign the action").click()
    await everyone(room, "actions", ".action-item__text", "Share the nursery's assessment with the team.")
    await expect(member.region("actions").locator("[data-mine-tag]")).to_be_visible()
    await expect(family.region("actions").locator("[data-mine-tag]")).to_be_hidden()
    await expect(actions.get_by_label("What is to be done")).to_have_value("")

    # A refused operation is told only to the person who tried, in the room's alert region.
    # (The speaker's browser hides "Reply to speaker"; uncovered, the server still refuses.)
    reply = member.region("queue").get_by_role("button", name="Reply to speaker")
    await expect(reply).to_be_hidden()
    await member.page.evaluate("document.querySelectorAll('[data-when]').forEach(e => { e.hidden = false; })")
    await reply.click()
    errors = member.page.locator("#room-errors")
    await expect(errors).to_contain_text("you cannot reply to yourself", timeout=WAIT)
    await expect(chair.page.locator("#room-errors")).to_be_empty()
    await errors.get_by_role("button", name="Dismiss").click()
    await expect(errors).to_be_empty()

    # The professionals-only item: the team discusses and decides; the family is told no more
    # than that, and nothing of it reaches their browser.
    await nothing_secret(family)
    await chair.region("agenda").get_by_role("button", name=f"Open “{SECRET_TITLE}”").click()
    for person in (chair, member, lead):
        await expect(person.region("floor").locator(".floor__item-title")).to_have_text(SECRET_TITLE, timeout=WAIT)
    await expect(family.region("floor").locator(".floor__notice")).to_contain_text(
        "discussing an item for professionals only", timeout=WAIT
    )
    await expect(family.region("queue")).to_contain_text("not shown")
    await nothing_secret(family)
    await decisions.locator("summary").click()
    await decisions.get_by_label("Decision", exact=True).fill(SECRET_DECISION)
    await decisions.get_by_role("button", name="Record the decision").click()
    for person in (chair, member, lead):
        await expect(person.region("decisions").locator(".decision__text").first).to_have_text(
            SECRET_DECISION, timeout=WAIT
        )
    await nothing_secret(family)

    # Back to an open item: the family sees the room again, still without the secret.
    await chair.region("agenda").get_by_role("button", name=f"Open “{OPEN_TITLE}”").click()
    await expect(family.region("floor").locator(".floor__item-title")).to_have_text(OPEN_TITLE, timeout=WAIT)
    await expect(family.region("decisions").locator(".decision__text")).to_have_count(1)
    await nothing_secret(family)
    assert family.frames, "the family's browser received no live updates"

    for person in room.values():
        assert await person.page.evaluate("window.__sameDocument === true"), f"{person.name}'s page reloaded"
        assert not person.problems, person.problems


async def test_a_form_is_cleared_when_the_live_update_outruns_its_answer(
    browser: Browser, server_url: str, team: Team, runtime: Runtime
) -> None:
    """The action appears over the socket before the form's own answer arrives (held back
    here): the region, and the form in it, were swapped while the post was in flight, and the
    new form must still be cleared once the answer says it was accepted."""
    await without_childs_voice(runtime, team.meeting.id)
    async with runtime.sessionmaker() as session:
        await room_as(runtime, session, team.chair).run(ops.start, team.meeting.id)
    chair = await enter_room(
        browser, server_url, team.chair.email, team.chair.name, f"/meetings/{team.meeting.id}/room"
    )
    try:
        page, actions = chair.page, chair.region("actions")
        title = "Book the paediatric appointment."

        held: list[str] = []

        async def answer_after_the_update(route: Route) -> None:
            answer = await route.fetch()
            await expect(actions.locator(".action-item__text")).to_have_text(title, timeout=WAIT)
            held.append(route.request.url)
            await route.fulfill(response=answer)

        await page.route(re.compile(r"/meetings/[^/]+/room/actions$"), answer_after_the_update)
        await actions.locator("summary").click()
        await actions.get_by_label("What is to be done").fill(title)
        await actions.get_by_label("Owner").select_option(str(team.member.id))
        await actions.get_by_label("Due by").fill((today_local() + timedelta(days=7)).isoformat())
        await actions.get_by_label("Outcome area").select_option("staying_safe")
        await actions.get_by_role("button", name="Assign the action").click()
        await expect(actions.get_by_label("What is to be done")).to_have_value("", timeout=WAIT)
        assert len(held) == 1, "the form's answer was held back until the update had landed"
        assert not chair.problems, chair.problems
    finally:
        await chair.context.close()


async def test_after_the_meeting_the_family_corrects_and_the_chair_approves(
    room: dict[str, Person], team: Team
) -> None:
    """The chair ends the meeting; the parent reads the outcome letter, sends a correction from the
    draft minutes; the chair reads it beside the draft, applies it, edits and approves; the parent
    reads the approved minutes, still without anything professionals-only."""
    chair, family = room["chair"], room["family"]
    await chair.click("status", "Start the meeting")
    await everyone(room, "status", ".tag", "Live")
    await family.click("people", "Join the meeting")
    await expect(family.region("people").get_by_role("button", name="Leave the meeting")).to_be_visible(timeout=WAIT)
    chair.page.once("dialog", lambda dialog: dialog.accept())
    await chair.click("status", "End the meeting")
    await expect(family.region("status")).to_contain_text("The meeting has ended", timeout=WAIT)

    await family.page.get_by_role("link", name="The outcome letter").click()
    await expect(family.page.get_by_role("heading", level=1)).to_contain_text("Outcome:")
    await expect(family.page.get_by_text("Next: Team Around the Child review, due by")).to_be_visible()
    await family.page.goto(f"/meetings/{team.meeting.id}/minutes")
    await expect(family.page.get_by_role("heading", name="These minutes are a draft")).to_be_visible()
    await family.page.get_by_label("Which part of the minutes?").select_option(label=f"1. {OPEN_TITLE}")
    await family.page.get_by_label("What should the minutes say?").fill("We said mornings are the hardest time.")
    await family.page.get_by_role("button", name="Send the correction").click()
    await expect(family.page.get_by_text("Your correction has been sent to the chair.")).to_be_visible()
    await expect(family.page.locator("#corrections")).to_contain_text("We said mornings are the hardest time.")
    await nothing_secret(family)

    await chair.page.goto(f"/meetings/{team.meeting.id}/minutes/review")
    item = chair.page.locator("article", has=chair.page.get_by_role("heading", name=f"1. {OPEN_TITLE}"))
    await expect(item).to_contain_text("We said mornings are the hardest time.")
    await item.get_by_label("Applied to the draft").check()
    await item.get_by_label("Reply to").fill("Thank you: added.")
    await item.get_by_role("button", name="Save the answer").click()
    await expect(chair.page.get_by_text("Your answer to the correction is saved.")).to_be_visible()
    item = chair.page.locator("article", has=chair.page.get_by_role("heading", name=f"1. {OPEN_TITLE}"))
    await item.get_by_label("Minutes of item 1").fill("Mornings are the hardest time for the family.")
    await item.get_by_role("button", name="Save this item").click()
    await expect(chair.page.get_by_text("The draft is saved.")).to_be_visible()
    await chair.page.get_by_role("button", name="Approve and send the minutes").click()
    await expect(chair.page.get_by_text("The minutes are approved")).to_be_visible()

    await family.page.goto(f"/meetings/{team.meeting.id}/minutes")
    await expect(family.page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Minutes: "))
    await expect(family.page.get_by_text("Mornings are the hardest time for the family.")).to_be_visible()
    await expect(family.page.locator("#corrections")).to_contain_text("Thank you: added.")
    await nothing_secret(family)


async def signed_in_page(browser: Browser, base: str, email: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base)
    page = await context.new_page()
    await page.goto("/sign-in")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/sign-in" not in url)
    return context, page


async def test_the_parent_reads_a_shared_report_and_answers_it(browser: Browser, server_url: str, team: Team) -> None:
    meeting = f"/meetings/{team.meeting.id}"
    school, school_page = await signed_in_page(browser, server_url, team.member.email)
    health, health_page = await signed_in_page(browser, server_url, team.lead.email)
    parent, parent_page = await signed_in_page(browser, server_url, team.family.email)
    try:
        # The school sends a shared report; the health visitor withholds theirs, with a reason.
        await school_page.goto(meeting)
        await school_page.get_by_label("Report", exact=True).fill("Leo is **settled** in class.\n\n- reads daily")
        await school_page.get_by_role("button", name="Send the report").click()
        await expect(school_page.locator(".flash--success")).to_contain_text("Your report was sent")
        await health_page.goto(meeting)
        await health_page.get_by_label("Report", exact=True).fill("Clinic notes ZX-77")
        await health_page.get_by_label("Do not share this report with the family").check()
        await health_page.get_by_role("button", name="Send the report").click()
        await expect(health_page.locator(".error-message").first).to_contain_text("Say why the family")
        await health_page.get_by_label("Why the family should not read it").fill("Third-party information")
        await health_page.get_by_role("button", name="Send the report").click()
        await expect(health_page.locator(".flash--success")).to_contain_text("Your report was sent")

        # The parent reads the school's report, not the withheld one, and answers it.
        await parent_page.goto(meeting)
        report = parent_page.locator("article.report", has_text="Leo is")
        await expect(report.locator("strong")).to_have_text("settled")
        assert "ZX-77" not in await parent_page.content()
        await report.get_by_label("No, something is wrong").check()
        await report.get_by_label("What is wrong, or anything you want to add").fill(
            "He reads every day, not just at school"
        )
        await report.get_by_role("button", name="Send my answer").click()
        await expect(parent_page.locator(".flash--success")).to_contain_text("your answer was sent")

        # The school sees the parent's answer beside its report.
        await school_page.goto(meeting)
        answer = school_page.locator("article.report", has_text="Leo is")
        await expect(answer).to_contain_text("Disagrees")
        await expect(answer).to_contain_text("He reads every day")
    finally:
        for context in (school, health, parent):
            await context.close()
