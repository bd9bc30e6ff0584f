"""The action plan as people use it in the browser: the case's plan page and its filters, the
CSV export, "my actions" across cases, the action page with its history and the forms each role
may use, and the notifications page.

A fixed set of actions is written straight into the database (some overdue, some closed, one
professionals-only, one whose title is a spreadsheet formula), so that every filter can be
checked for what it includes and what it leaves out."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from server.actions.models import Action
from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.cases.models import Case
from server.live.events import NoPublisher
from server.people.models import User
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import SYSTEM, Team, csrf, sign_in

FORMULA = "=HYPERLINK(1+1) FOXTROT"


@dataclass(frozen=True)
class Row:
    title: str
    owner: str  # a role in the team
    due: int  # days from today
    area: str
    status: str = "open"
    professionals_only: bool = False
    case: str = "first"


ROWS = [
    Row("ALPHA visit the GP", "member", -3, "being_healthy"),
    Row("BRAVO safety plan", "lead", 5, "staying_safe", status="in_progress"),
    Row("CHARLIE enrol at nursery", "member", -10, "being_healthy", status="done"),
    Row("DELTA budgeting support", "lead", 1, "economic_wellbeing", status="cancelled"),
    Row("ECHO police check", "member", 7, "staying_safe", professionals_only=True),
    Row(FORMULA, "lead", -1, "positive_contribution", status="blocked"),
    Row("GOLF youth club place", "member", 2, "enjoying_and_achieving", status="not_achieved"),
    Row("HOTEL family-owned task", "family", 4, "being_healthy"),
    Row("KILO second case open", "member", 3, "being_healthy", case="second"),
    Row("LIMA second case overdue", "member", -2, "staying_safe", case="second"),
    Row("MIKE second case done", "member", -5, "staying_safe", status="done", case="second"),
]
TOKENS = [row.title.split()[0] if row.title != FORMULA else "FOXTROT" for row in ROWS]


def token(title: str) -> str:
    return "FOXTROT" if title == FORMULA else title.split()[0]


@dataclass
class Plan:
    team: Team
    runtime: Runtime
    second: Case
    ids: dict[str, str]  # token -> action id
    signed_in: Callable[[str], Awaitable[httpx.AsyncClient]]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.team.roles[role]  # type: ignore[no-any-return]

    @property
    def base(self) -> str:
        return f"/cases/{self.team.case.id}/actions"


@pytest.fixture
async def plan(app: Litestar, runtime: Runtime, team: Team, client: httpx.AsyncClient) -> AsyncIterator[Plan]:
    today = today_local()
    async with runtime.sessionmaker() as session:
        second = await cases.create_case(
            session,
            Actor(team.chair.id),
            team.chair,
            reference="T-2",
            display_name="Child U.",
            lead_professional_id=team.lead.id,
        )
        await cases.add_member(
            Caller(session, team.chair, SYSTEM, runtime.settings, NoPublisher()),
            second.id,
            team.member.id,
            "professional",
        )
    ids: dict[str, str] = {}
    async with runtime.sessionmaker() as session, session.begin():
        for row in ROWS:
            owner: User = team.roles[row.owner]
            action = Action(
                id=uuid.uuid4(),
                case_id=team.case.id if row.case == "first" else second.id,
                title=row.title,
                owner_id=owner.id,
                agency_id=owner.agency_id,
                due_date=today + timedelta(days=row.due),
                outcome_area=row.area,
                status=row.status,
                professionals_only=row.professionals_only,
                created_by_id=team.chair.id,
            )
            session.add(action)
            ids[token(row.title)] = str(action.id)

    made: list[httpx.AsyncClient] = []
    signed: dict[str, httpx.AsyncClient] = {}

    async def signed_in(role: str) -> httpx.AsyncClient:
        if role not in signed:
            if not signed:
                http = client
            else:
                transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 52000 + len(made)))
                http = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
                made.append(http)
            await sign_in(http, team.roles[role])
            signed[role] = http
        return signed[role]

    yield Plan(team, runtime, second, ids, signed_in, signed)
    for each in made:
        await each.aclose()


# --- reading pages ----------------------------------------------------------------------------


def page_rows(body: str) -> list[tuple[str, str]]:
    """The plan table's rows as (title, the row's HTML), in order."""
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    rows = []
    for chunk in tbody.split("<tr")[1:]:
        found = re.search(r'<a href="/actions/[0-9a-f-]+">(.*?)</a>', chunk)
        assert found, chunk
        rows.append((html.unescape(found.group(1)), chunk))
    return rows


def titles_on(body: str) -> list[str]:
    return [title for title, _ in page_rows(body)]


def tokens_on(body: str) -> set[str]:
    return {token(title) for title in titles_on(body)}


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def neutralised(title: str) -> str:
    return "'" + title if title.startswith(("=", "+", "-", "@")) else title


async def get_ok(http: httpx.AsyncClient, path: str, **params: str) -> httpx.Response:
    response = await http.get(path, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text[:500]}"
    return response


async def submit(http: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form as a browser does: form-encoded, with the hidden CSRF field."""
    value = http.cookies.get("csrftoken")
    assert value
    return await http.post(path, data={**fields, "_csrf_token": value})


# --- the case's action plan -------------------------------------------------------------------

FIRST_CASE = {"ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL"}


def plan_filters(plan: Plan) -> list[tuple[dict[str, str], set[str]]]:
    """Each filter as the member uses it, and the actions it shows."""
    lead_agency = str(plan.team.lead.agency_id)
    return [
        ({}, {"ALPHA", "BRAVO", "ECHO", "FOXTROT", "HOTEL"}),
        ({"state": "open"}, {"ALPHA", "BRAVO", "ECHO", "FOXTROT", "HOTEL"}),
        ({"state": "closed"}, {"CHARLIE", "DELTA", "GOLF"}),
        ({"state": "all"}, FIRST_CASE),
        ({"overdue": "true"}, {"ALPHA", "FOXTROT"}),
        ({"state": "all", "overdue": "true"}, {"ALPHA", "FOXTROT"}),
        ({"mine": "true"}, {"ALPHA", "ECHO"}),
        ({"state": "all", "mine": "true"}, {"ALPHA", "CHARLIE", "ECHO", "GOLF"}),
        ({"agency": lead_agency}, {"BRAVO", "FOXTROT"}),
        ({"state": "closed", "agency": lead_agency}, {"DELTA"}),
        ({"area": "staying_safe"}, {"BRAVO", "ECHO"}),
        ({"state": "all", "area": "being_healthy"}, {"ALPHA", "CHARLIE", "HOTEL"}),
        ({"state": "all", "area": "being_healthy", "mine": "true", "overdue": "true"}, {"ALPHA"}),
    ]


async def test_each_filter_includes_and_excludes_the_right_actions(plan: Plan) -> None:
    member = await plan.signed_in("member")
    for params, expected in plan_filters(plan):
        body = (await get_ok(member, plan.base, **params)).text
        assert tokens_on(body) == expected, params
        for absent in set(TOKENS) - expected:
            assert absent not in body, (params, absent)


async def test_the_filter_form_as_a_browser_submits_it(plan: Plan) -> None:
    """The form sends every field, empty ones too ("Every agency", "Every area")."""
    member = await plan.signed_in("member")
    body = (await get_ok(member, plan.base, state="all", agency="", area="")).text
    assert tokens_on(body) == FIRST_CASE
    csv_text = (await get_ok(member, plan.base + ".csv", state="all", agency="", area="")).text
    assert len(csv_rows(csv_text)) == 1 + len(FIRST_CASE)


async def test_overdue_rows_are_unmistakable(plan: Plan) -> None:
    member = await plan.signed_in("member")
    body = (await get_ok(member, plan.base, state="all")).text
    for title, row in page_rows(body):
        overdue = token(title) in {"ALPHA", "FOXTROT"}
        assert ("row--overdue" in row) is overdue, title
        assert ("tag--overdue" in row) is overdue, title
    # A closed action past its date is not overdue.
    charlie = next(row for title, row in page_rows(body) if title.startswith("CHARLIE"))
    assert "tag--done" in charlie


async def test_the_csv_has_the_same_rows_as_the_page(plan: Plan) -> None:
    member = await plan.signed_in("member")
    for params, _ in plan_filters(plan):
        page = await get_ok(member, plan.base, **params)
        export = await get_ok(member, plan.base + ".csv", **params)
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
        rows = csv_rows(export.text)
        assert rows[0][:6] == ["action", "owner", "agency", "outcome area", "due date", "status"], rows[0]
        assert [r[0] for r in rows[1:]] == [neutralised(t) for t in titles_on(page.text)], params

    rows = csv_rows((await get_ok(member, plan.base + ".csv", state="all")).text)
    by_title = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    formula = by_title["'" + FORMULA]
    assert formula["owner"] == plan.team.lead.name
    assert formula["status"] == "blocked"
    assert formula["overdue"] == "yes"
    assert FORMULA not in by_title
    assert not any(cell.startswith("=") for r in rows for cell in r)
    alpha = by_title["ALPHA visit the GP"]
    assert alpha["agency"] == "School"
    assert alpha["due date"] == (today_local() - timedelta(days=3)).isoformat()
    assert by_title["CHARLIE enrol at nursery"]["overdue"] == ""


async def test_the_family_never_sees_a_professionals_only_action(plan: Plan) -> None:
    family = await plan.signed_in("family")
    for params in ({}, {"state": "all"}, {"area": "staying_safe"}, {"mine": "true"}):
        body = (await get_ok(family, plan.base, **params)).text
        assert "ECHO" not in body, params
        export = (await get_ok(family, plan.base + ".csv", **params)).text
        assert "ECHO" not in export, params
    everything = (await get_ok(family, plan.base, state="all")).text
    assert tokens_on(everything) == FIRST_CASE - {"ECHO"}
    assert (await family.get(f"/actions/{plan.ids['ECHO']}")).status_code == 404


async def test_only_the_team_sees_the_plan(plan: Plan) -> None:
    outsider = await plan.signed_in("outsider")
    for path in (plan.base, plan.base + ".csv", f"/actions/{plan.ids['ALPHA']}"):
        response = await outsider.get(path)
        assert response.status_code == 404, path
        assert "ALPHA" not in response.text


async def test_the_export_is_audited(plan: Plan) -> None:
    member = await plan.signed_in("member")
    await get_ok(member, plan.base + ".csv", state="all")
    async with plan.runtime.sessionmaker() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.verb == "action_plan.export"))).all()
    assert len(events) == 1
    assert events[0].actor_id == plan.team.member.id
    assert events[0].case_id == plan.team.case.id


# --- my actions -------------------------------------------------------------------------------


async def test_my_actions_across_cases(plan: Plan) -> None:
    member = await plan.signed_in("member")
    body = (await get_ok(member, "/actions")).text
    assert tokens_on(body) == {"ALPHA", "ECHO", "KILO", "LIMA"}
    for absent in ("BRAVO", "CHARLIE", "GOLF", "MIKE", "HOTEL"):
        assert absent not in body
    overdue = (await get_ok(member, "/actions", overdue="true")).text
    assert tokens_on(overdue) == {"ALPHA", "LIMA"}
    for title, row in page_rows(overdue):
        assert "tag--overdue" in row, title


async def test_my_actions_never_show_the_family_a_professionals_only_action(plan: Plan) -> None:
    """An action under a professionals-only item may still be given to the family member (the
    meeting API allows any team member as owner); its title must not reach them."""
    async with plan.runtime.sessionmaker() as session, session.begin():
        session.add(
            Action(
                case_id=plan.team.case.id,
                title="INDIA confidential referral",
                owner_id=plan.team.family.id,
                agency_id=plan.team.family.agency_id,
                due_date=today_local() + timedelta(days=3),
                outcome_area="staying_safe",
                professionals_only=True,
            )
        )
    family = await plan.signed_in("family")
    mine = (await get_ok(family, "/actions")).text
    assert "HOTEL" in mine
    assert "INDIA" not in mine
    home = (await get_ok(family, "/")).text
    assert "INDIA" not in home


# --- the action page --------------------------------------------------------------------------


async def test_the_action_page_offers_each_role_only_its_forms(plan: Plan) -> None:
    alpha = f"/actions/{plan.ids['ALPHA']}"  # owned by the member, pending, overdue
    owner = (await get_ok(await plan.signed_in("member"), alpha)).text
    assert 'value="accepted"' in owner
    assert 'value="declined"' in owner
    assert "Change the due date" not in owner
    assert 'value="cancelled"' not in owner
    assert "tag--overdue" in owner

    for manager in ("chair", "lead"):
        body = (await get_ok(await plan.signed_in(manager), alpha)).text
        assert "Change the due date" in body, manager
        assert 'value="owner"' in body, manager
        assert 'value="cancelled"' in body, manager
        assert 'value="accepted"' not in body, manager
        assert 'value="snooze"' not in body, manager

    # The member looks at someone else's action: no forms at all.
    bravo = (await get_ok(await plan.signed_in("member"), f"/actions/{plan.ids['BRAVO']}")).text
    assert "BRAVO safety plan" in bravo
    for form in ('value="accepted"', "Change the due date", 'value="note"', 'value="done"', 'value="snooze"'):
        assert form not in bravo, form
    assert 'method="post" action="/actions/' not in bravo


async def test_a_form_post_changes_the_action_and_shows_it_in_the_history(plan: Plan) -> None:
    action_id = plan.ids["ALPHA"]
    path = f"/actions/{action_id}"
    member = await plan.signed_in("member")

    refused = await submit(member, path, {"change": "declined", "reason": ""})
    assert refused.status_code == 422, refused.text
    assert "reason" in refused.text.lower()

    accepted = await submit(member, path, {"change": "accepted", "reason": ""})
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == path
    noted = await submit(member, path, {"change": "note", "progress_note": "Phoned the surgery PROGRESS-42"})
    assert noted.status_code == 303, noted.text

    chair = await plan.signed_in("chair")
    new_due = today_local() + timedelta(days=21)
    moved = await submit(chair, path, {"change": "due_date", "due_date": new_due.isoformat(), "reason": "Clinic full"})
    assert moved.status_code == 303, moved.text

    shown = (await member.get(f"/api/actions/{action_id}")).json()
    assert shown["acceptance"] == "accepted"
    assert shown["due_date"] == new_due.isoformat()
    assert [e["kind"] for e in shown["history"]] == ["accepted", "progress_note", "due_date"]

    body = (await get_ok(member, path)).text
    history = body.split('id="history-heading"', 1)[1]
    assert "PROGRESS-42" in history
    assert "Clinic full" in history
    assert plan.team.member.name in history
    assert plan.team.chair.name in history
    assert len(re.findall(r"<time datetime=", history)) == 3
    assert 'value="accepted"' not in body  # answered already
    assert "tag--overdue" not in body.split('id="update-heading"', 1)[0]

    # Without the CSRF field the post is refused and nothing changes.
    forged = await member.post(path, data={"change": "done"})
    assert forged.status_code == 403, forged.text
    assert (await member.get(f"/api/actions/{action_id}")).json()["status"] == "open"


async def test_a_plain_member_cannot_change_by_posting_the_form(plan: Plan) -> None:
    member = await plan.signed_in("member")
    response = await submit(member, f"/actions/{plan.ids['BRAVO']}", {"change": "done"})
    assert response.status_code == 403, response.text
    assert (await member.get(f"/api/actions/{plan.ids['BRAVO']}")).json()["status"] == "in_progress"


# --- notifications ------------------------------------------------------------------------------


async def test_notifications_page_and_mark_all_read(plan: Plan) -> None:
    member = await plan.signed_in("member")
    declined = await member.patch(
        f"/api/actions/{plan.ids['ALPHA']}",
        json={"acceptance": "declined", "reason": "Not our remit"},
        headers=csrf(member),
    )
    assert declined.status_code == 200, declined.text
    blocked = await member.patch(
        f"/api/actions/{plan.ids['ECHO']}",
        json={"status": "blocked", "reason": "Waiting for the police"},
        headers=csrf(member),
    )
    assert blocked.status_code == 200, blocked.text

    chair = await plan.signed_in("chair")
    assert (await get_ok(chair, "/api/notifications")).json()["unread"] == 2
    body = (await get_ok(chair, "/notifications")).text
    assert "Action declined: ALPHA visit the GP" in body
    assert "Action blocked: ECHO police check" in body
    assert "Not our remit" in body
    assert f'href="/actions/{plan.ids["ALPHA"]}"' in body
    assert "Mark all as read" in body
    assert body.count("tag--brand") == 2  # both new

    marked = await submit(chair, "/notifications/read", {})
    assert marked.status_code == 303, marked.text
    inbox = (await get_ok(chair, "/api/notifications")).json()
    assert inbox["unread"] == 0
    assert len(inbox["items"]) == 2
    assert all(item["read"] for item in inbox["items"])
    assert "tag--brand" not in (await get_ok(chair, "/notifications")).text
    # Someone else's inbox is untouched.
    lead = await plan.signed_in("lead")
    assert (await get_ok(lead, "/api/notifications")).json()["unread"] == 2


async def test_an_empty_inbox(plan: Plan) -> None:
    member = await plan.signed_in("member")
    body = (await get_ok(member, "/notifications")).text
    assert "Nothing yet" in body
    assert "Mark all as read" not in body
