"""Partnership insights on a scripted set of meetings and actions, with the exact numbers:
attendance per agency, speaking time and shares, agenda items where an agency was present but
not heard, actions agreed, done on time (on the local date), overdue and declined; the period's
edges in local time; one case's figures for its team; who may read them; and that nothing in any
copy (API, page, CSV) names or identifies a child, a family, a case or a person."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from server.actions.models import Action, ActionEvent
from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.cases.models import Case, CaseMember
from server.live.events import NoPublisher
from server.meetings.models import AgendaItem, Attendance, Meeting, Turn
from server.minutes.models import MinutesReview
from server.people import service as people
from server.people.models import Sector, User
from server.platform.runtime import Runtime
from server.reports.models import Report
from tests.html_forms import post_form
from tests.support import PASSWORD, SYSTEM, Team, csrf, sign_in

PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}
CHILD = "Zara Quintessa-Marlow"
REFERENCE = "REF-QZX-77"
FAMILY_AGENCY = "Quintessa-Marlow family"
SECRET_TITLES = ("SECRET-ITEM-ALPHA", "SECRET-ACTION-BRAVO", "SECRET-MEETING-CHARLIE")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Scene:
    team: Team
    other_case: Case
    other_family: User


class Builder:
    def __init__(self, session: Any) -> None:
        self.session = session

    def meeting(self, case: Case, chair: User, ended: str, status: str = "ended", kind: str = "tac") -> Meeting:
        end = at(ended)
        meeting = Meeting(
            case_id=case.id,
            title=SECRET_TITLES[2],
            kind=kind,
            scheduled_at=end - timedelta(hours=1),
            chair_id=chair.id,
            status=status,
            started_at=end - timedelta(hours=1) if status == "ended" else None,
            ended_at=end if status == "ended" else None,
        )
        self.session.add(meeting)
        return meeting

    def item(
        self, meeting: Meeting, position: int, *, opened: bool = True, professionals_only: bool = False
    ) -> AgendaItem:
        item = AgendaItem(
            id=uuid.uuid4(),
            meeting_id=meeting.id,
            position=position,
            title=SECRET_TITLES[0],
            professionals_only=professionals_only,
            opened_at=meeting.scheduled_at if opened else None,
        )
        self.session.add(item)
        return item

    def attend(self, meeting: Meeting, *people_: User) -> None:
        for person in people_:
            self.session.add(
                Attendance(
                    meeting_id=meeting.id, user_id=person.id, agency_id=person.agency_id, joined_at=meeting.scheduled_at
                )
            )

    def turn(self, meeting: Meeting, person: User, item: AgendaItem | None, seconds: int) -> None:
        start = meeting.scheduled_at + timedelta(minutes=5)
        self.session.add(
            Turn(
                meeting_id=meeting.id,
                user_id=person.id,
                agency_id=person.agency_id,
                agenda_item_id=item.id if item else None,
                started_at=start,
                ended_at=start + timedelta(seconds=seconds),
            )
        )

    def minutes(self, meeting: Meeting, approved: str | None = None) -> None:
        assert meeting.ended_at is not None
        self.session.add(
            MinutesReview(meeting_id=meeting.id, status="approved" if approved else "draft",
                          draft_until=meeting.ended_at.date() + timedelta(days=7), drafted_at=meeting.ended_at,
                          approved_at=at(approved) if approved else None)
        )  # fmt: skip

    def report(self, meeting: Meeting, person: User, submitted: str) -> None:
        self.session.add(
            Report(meeting_id=meeting.id, agency_id=person.agency_id, author_id=person.id, text=SECRET_TITLES[0],
                   submitted_at=at(submitted))
        )  # fmt: skip

    def action(
        self,
        case: Case,
        owner: User,
        created: str,
        due: str,
        status: str = "open",
        closed: str | None = None,
        declined_by: User | None = None,
    ) -> Action:
        action = Action(
            id=uuid.uuid4(),
            case_id=case.id,
            title=SECRET_TITLES[1],
            owner_id=owner.id,
            agency_id=owner.agency_id,
            due_date=date.fromisoformat(due),
            outcome_area="staying_safe",
            status=status,
            created_at=at(created),
            updated_at=at(created),
            closed_at=at(closed) if closed else None,
        )
        self.session.add(action)
        if declined_by is not None:
            self.session.add(ActionEvent(action_id=action.id, actor_id=declined_by.id, kind="declined", note="no"))
        return action


async def scripted(runtime: Runtime, team: Team) -> Scene:
    """The scene the numbers below are worked out from (see each figure's comment)."""
    chair, lead, member, family, police = team.chair, team.lead, team.member, team.family, team.outsider
    async with runtime.sessionmaker() as s:
        qm = await people.create_agency(s, SYSTEM, FAMILY_AGENCY, Sector.FAMILY)
        other_family = await people.create_user(
            s, SYSTEM, people.NewUser("kelly.qm@test.example", "Kelly Quintessa-Marlow", qm.id, PASSWORD)
        )
        other = await cases.create_case(
            s, Actor(chair.id), chair, reference=REFERENCE, display_name=CHILD, lead_professional_id=chair.id
        )
        by_chair = Caller(s, chair, SYSTEM, runtime.settings, NoPublisher())
        await cases.add_member(by_chair, other.id, police.id, "professional")
        await cases.add_member(by_chair, other.id, other_family.id, "family")
        await s.execute(update(CaseMember).values(added_at=at("2025-12-01T09:00:00")))
        b = Builder(s)
        case = team.case
        # M1, 10 March: chair (Partnership), lead (Health) and the Smith family attend; the
        # member (School) does not. I1 open: lead 120 s, family 60 s. I2 professionals only:
        # lead 30 s. I4 open: lead 10 s. I3 never opened.
        m1 = b.meeting(case, chair, "2026-03-10T11:00:00")
        await s.flush()
        i1, i2, i3, i4 = (
            b.item(m1, 0),
            b.item(m1, 1, professionals_only=True),
            b.item(m1, 2, opened=False),
            b.item(m1, 3),
        )
        b.attend(m1, chair, lead, family)
        b.turn(m1, lead, i1, 120)
        b.turn(m1, family, i1, 60)
        b.turn(m1, lead, i2, 30)
        b.turn(m1, lead, i4, 10)
        # M2, 20 May: chair, lead, member attend; the family does not. J1: member 90 s and 30 s,
        # chair 45 s; the lead is present and not heard.
        m2 = b.meeting(case, chair, "2026-05-20T14:00:00")
        await s.flush()
        j1 = b.item(m2, 0)
        b.attend(m2, chair, lead, member)
        b.turn(m2, member, j1, 90)
        b.turn(m2, member, j1, 30)
        b.turn(m2, chair, j1, 45)
        # Outside the period: M3 in July; M5 ends at 00:30 on 1 July in London (23:30 UTC on
        # 30 June); M4 is scheduled, not held.
        for ended in ("2026-07-15T10:00:00", "2026-06-30T23:30:00"):
            outside = b.meeting(case, chair, ended)
            await s.flush()
            k = b.item(outside, 0)
            b.attend(outside, chair, lead, member, family)
            b.turn(outside, chair, k, 500)
            b.minutes(outside)  # a draft long past its limit, but outside the period
        b.meeting(case, chair, "2026-04-01T10:00:00", status="scheduled", kind="other")
        # N1, 2 April, the other case: chair, police, the other family. K1: family 200 s, police 100 s.
        n1 = b.meeting(other, chair, "2026-04-02T10:00:00")
        await s.flush()
        k1 = b.item(n1, 0)
        b.attend(n1, chair, police, other_family)
        b.turn(n1, other_family, k1, 200)
        b.turn(n1, police, k1, 100)
        # N2, 10 May, the other case: nobody joined (everyone on the team was invited).
        n2 = b.meeting(other, chair, "2026-05-10T10:00:00")
        await s.flush()
        # Minutes, 15 working days after the meeting: M1's (Tue 10 March) by Tue 31 March,
        # approved at 23:30 that day in London: in time; M2's approved on 30 June: late; N1's
        # still a draft, long past its limit: late; N2's approved the next day: in time.
        b.minutes(m1, "2026-03-31T22:30:00")
        b.minutes(m2, "2026-06-30T10:00:00")
        b.minutes(n1)
        b.minutes(n2, "2026-05-11T09:00:00")
        # Reports: due 2 working days before the day they are shared, itself 2 before a TAC
        # meeting. M1 (Tue 10 March): due Wed 4 March; M2 (Wed 20 May): due Thu 14 May; N1 (Thu
        # 2 April): due Fri 27 March. Expected of the agencies with a professional on the team.
        b.report(m1, lead, "2026-03-04T23:30:00")  # on time (23:30 in London, winter)
        b.report(m2, lead, "2026-05-10T10:00:00")  # on time
        b.report(m2, member, "2026-05-14T23:30:00")  # late: 00:30 on 15 May in London
        b.report(n1, police, "2026-03-27T10:00:00")  # on time
        b.report(n1, other_family, "2026-03-20T10:00:00")  # the family's view: not expected, not counted
        # Actions.
        b.action(
            case, member, "2026-03-10T11:00:00", "2026-03-31", "done", closed="2026-03-31T23:30:00"
        )  # late: 1 April in London
        b.action(case, member, "2026-03-10T11:00:00", "2026-04-10", "done", closed="2026-04-09T10:00:00")  # on time
        b.action(case, member, "2026-05-20T14:00:00", "2026-06-01")  # overdue
        b.action(case, lead, "2026-05-20T14:00:00", "2099-06-01", "in_progress")  # not yet due
        b.action(case, lead, "2026-05-20T14:00:00", "2026-05-30", "blocked")  # overdue
        b.action(other, police, "2026-04-02T10:00:00", "2026-04-30", "cancelled")
        b.action(other, police, "2026-04-02T10:00:00", "2026-04-20", declined_by=police)  # declined, overdue
        b.action(case, member, "2026-08-01T10:00:00", "2026-08-20", declined_by=member)  # outside the period
        b.action(case, family, "2026-03-10T11:00:00", "2026-03-20", "done", closed="2026-03-19T10:00:00")  # family's
        # declined by the member (School), then given to the lead (Health), done on time
        b.action(
            case, lead, "2026-05-20T14:00:00", "2026-06-15", "done", closed="2026-06-10T10:00:00", declined_by=member
        )
        await s.commit()
        assert i3 is not None
    return Scene(team, other, other_family)


def by_name(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["agency"]["name"]: {k: v for k, v in row.items() if k != "agency"} for row in answer["agencies"]}


def figures(
    invited: int,
    attended: int,
    reports: tuple[int, int],
    seconds: int,
    share: float | None,
    unheard: int,
    *actions: int,
) -> dict[str, Any]:
    assigned, on_time, overdue, declined = actions or (0, 0, 0, 0)
    return {
        "meetings_invited": invited,
        "meetings_attended": attended,
        "reports_expected": reports[0],
        "reports_on_time": reports[1],
        "speaking_seconds": seconds,
        "speaking_share": share,
        "items_present_not_heard": unheard,
        "actions_assigned": assigned,
        "actions_done_on_time": on_time,
        "actions_overdue": overdue,
        "actions_declined": declined,
    }


async def test_the_partnership_figures_are_exact(client: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    await scripted(runtime, team)
    await sign_in(client, team.admin)
    response = await client.get("/api/insights", params=PERIOD)
    assert response.status_code == 200, response.text
    answer = response.json()
    # Speaking in the period: Health 160, School 120, Partnership 45, Police 100, families 260: 685 s.
    assert by_name(answer) == {
        # M1, M2, N1; not heard on I1, I2, I4 (M1) and K1 (N1)
        # M1, M2, N1, N2 (absent: nobody joined it); not heard on I1, I2, I4 (M1) and K1 (N1);
        # a chair alone owes no report
        "Partnership": figures(4, 3, (0, 0), 45, 0.0657, 4),
        # M1, M2; both reports on time; not heard on J1; actions: 3 agreed, 1 on time, 1 overdue (blocked)
        "Health visiting": figures(2, 2, (2, 2), 160, 0.2336, 1, 3, 1, 1, 0),
        # M1 (absent), M2; no report for M1, M2's late; actions: 3 agreed, 1 on time (the other done
        # late in London), 1 overdue, 1 declined (later given to Health)
        "School": figures(2, 1, (2, 0), 120, 0.1752, 0, 3, 1, 1, 1),
        # N1, N2 (absent); N1's report on time, none for N2; actions: 2 agreed, none on time,
        # 1 overdue, 1 declined
        "Police": figures(2, 1, (2, 1), 100, 0.146, 0, 2, 0, 1, 1),
    }
    # the family's share of the 685 s is 260 s; the Smith family was present and not heard on I4
    # (I2 is for professionals only, so it does not count for the family)
    assert answer["family"] == {"speaking_share": 0.3796, "items_present_not_heard": 1}
    # TAC reviews due 6 weeks after each TAC meeting: M1's (Tue 21 April) met late by M2 on 20
    # May; N1's (Thu 14 May) met by N2 on 10 May; N2's (Sun 21 June: Fri 19 June) overdue; M2's
    # (1 July) is outside the period
    assert answer["timescales"] == {"met": 1, "met_late": 1, "overdue": 1}
    assert answer["minutes"] == {"approved_within_15_working_days": 2, "late": 2, "pending": 0}
    assert list(answer) == ["agencies", "family", "timescales", "minutes"]
    assert [row["agency"]["name"] for row in answer["agencies"]] == [
        "Health visiting",
        "Partnership",
        "Police",
        "School",
    ]


async def test_one_cases_figures_for_its_team(client: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    await scripted(runtime, team)
    await sign_in(client, team.member)
    answer = (await client.get(f"/api/cases/{team.case.id}/insights", params=PERIOD)).json()
    # M1 and M2 only; speaking 160 + 120 + 45 + 60 = 385 s
    assert by_name(answer) == {
        "Partnership": figures(2, 2, (0, 0), 45, 0.1169, 3),
        "Health visiting": figures(2, 2, (2, 2), 160, 0.4156, 1, 3, 1, 1, 0),
        "School": figures(2, 1, (2, 0), 120, 0.3117, 0, 3, 1, 1, 1),
    }
    assert answer["family"] == {"speaking_share": 0.1558, "items_present_not_heard": 1}
    assert answer["timescales"] == {"met": 0, "met_late": 1, "overdue": 0}
    assert answer["minutes"] == {"approved_within_15_working_days": 1, "late": 1, "pending": 0}
    # not on that case's team: as if it did not exist, administrators included
    assert (await client.get(f"/api/cases/{uuid.uuid4()}/insights")).status_code == 404
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver.local")
    async with other:
        for person in (team.outsider, team.admin):
            other.cookies.clear()
            await sign_in(other, person)
            assert (await other.get(f"/api/cases/{team.case.id}/insights")).status_code == 404


async def test_who_may_read_the_partnership_figures(client: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    await sign_in(client, team.member)
    refused = await client.get("/api/insights")
    assert refused.status_code == 403
    assert refused.json()["code"] == "insights_not_allowed"
    assert (await client.get("/insights")).status_code == 403
    assert (await client.get("/insights/export.csv")).status_code == 403
    assert 'href="/insights"' not in (await client.get("/")).text

    admin = httpx.AsyncClient(transport=client._transport, base_url="http://testserver.local")
    async with admin:
        await sign_in(admin, team.admin)
        given = await admin.patch(f"/api/users/{team.member.id}", json={"can_see_insights": True}, headers=csrf(admin))
        assert given.status_code == 200, given.text
        assert given.json()["can_see_insights"] is True
        # a family member's account cannot be given them
        family = await admin.patch(f"/api/users/{team.family.id}", json={"can_see_insights": True}, headers=csrf(admin))
        assert family.status_code == 422
        assert family.json()["code"] == "insights_not_for_family"
        created = await admin.post(
            "/api/users",
            json={
                "email": "manager@test.example",
                "name": "Pat Manager",
                "agency_id": str(team.admin.agency_id),
                "password": PASSWORD,
                "can_see_insights": True,
            },
            headers=csrf(admin),
        )
        assert created.status_code == 201, created.text
        assert created.json()["can_see_insights"] is True
        # the person page sets and clears it
        page = await admin.get(f"/admin/people/{team.lead.id}")
        assert 'name="can_see_insights"' in page.text
        form = {"name": team.lead.name, "email": team.lead.email, "agency_id": str(team.lead.agency_id)}
        saved = await post_form(admin, f"/admin/people/{team.lead.id}", {**form, "can_see_insights": "true"})
        assert saved.status_code == 303
        users = {u["id"]: u for u in (await admin.get("/api/users")).json()}
        assert users[str(team.lead.id)]["can_see_insights"] is True
        await post_form(admin, f"/admin/people/{team.lead.id}", form)
        users = {u["id"]: u for u in (await admin.get("/api/users")).json()}
        assert users[str(team.lead.id)]["can_see_insights"] is False

    allowed = await client.get("/api/insights")
    assert allowed.status_code == 200
    assert (await client.get("/insights")).status_code == 200
    assert 'href="/insights"' in (await client.get("/")).text
    async with runtime.sessionmaker() as s:
        verbs = (await s.scalars(select(AuditEvent.verb).where(AuditEvent.actor_id == team.member.id))).all()
    assert "insights.view" in verbs


async def test_a_wrong_period_is_refused_with_a_reason(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    reversed_ = await client.get("/api/insights", params={"from": "2026-06-30", "to": "2026-01-01"})
    assert reversed_.status_code == 422
    assert reversed_.json()["field"] == "to"
    assert (await client.get("/api/insights", params={"from": "30/06/2026"})).status_code == 400
    page = await client.get("/insights", params={"from": "yesterday", "to": "2026-01-01"})
    assert page.status_code == 400
    assert "Enter the first day as a date" in page.text
    assert 'aria-invalid="true"' in page.text
    assert (await client.get("/insights", params={"from": "x" * 5000})).status_code == 400


async def test_the_page_and_the_csv(client: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    await scripted(runtime, team)
    await sign_in(client, team.admin)
    page = await client.get("/insights", params=PERIOD)
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 9
    assert html.count("<table") == 9
    assert html.count('role="img"') == 9
    # every chart says its numbers in words and has its title
    assert "Meetings attended, of those invited" in html
    assert "School: 1 of 2 (50%)" in html
    assert "Family: 38%" in html
    exported = await client.get("/insights/export.csv", params=PERIOD)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "partnership-insights-2026-01-01-to-2026-06-30.csv" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    school = next(r for r in rows if r["agency"] == "School")
    assert (school["meetings_invited"], school["actions_declined"], school["speaking_share"]) == ("2", "1", "0.1752")
    family = next(r for r in rows if r["agency"].startswith("Family"))
    assert "School: 0 of 2 (0%)" in html  # reports on time
    assert "Met late: 1 of 3 (33%)" in html
    assert "Approved in time: 2 of 4 (50%)" in html
    assert "Minutes approved in time" in html
    assert (family["agency"], family["meetings_invited"], family["meetings_attended"]) == (
        "Family (all families together)",
        "4",
        "2",
    )
    assert list(csv.reader(io.StringIO(exported.text)))[-2:] == [
        ["minutes", "approved_within_15_working_days", "late", "draft_within_limit"],
        ["meetings ended in the period", "2", "2", "0"],
    ]
    async with runtime.sessionmaker() as s:
        verbs = (await s.scalars(select(AuditEvent.verb).where(AuditEvent.actor_id == team.admin.id))).all()
    assert {"insights.view", "insights.export"} <= set(verbs)


async def test_nothing_identifies_a_child(client: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    """Every copy of the figures is searched for every name, reference, title and id of the
    scene: the children's, the families' (their agencies too), the cases', every person's."""
    scene = await scripted(runtime, team)
    async with runtime.sessionmaker() as s:
        people_ = (await s.scalars(select(User))).all()
        case_ids = (await s.scalars(select(Case.id))).all()
        meeting_ids = (await s.scalars(select(Meeting.id))).all()
    forbidden = {
        CHILD,
        "Quintessa",
        "Marlow",
        REFERENCE,
        team.case.display_name,
        team.case.reference,
        "Smith",
        FAMILY_AGENCY,
        *SECRET_TITLES,
        *(str(i) for i in (*case_ids, *meeting_ids)),
    }
    copies: dict[str, str] = {}
    await sign_in(client, team.admin)
    copies["api"] = (await client.get("/api/insights", params=PERIOD)).text
    copies["page"] = (await client.get("/insights", params=PERIOD)).text
    copies["csv"] = (await client.get("/insights/export.csv", params=PERIOD)).text
    member = httpx.AsyncClient(transport=client._transport, base_url="http://testserver.local")
    async with member:
        await sign_in(member, team.member)
        copies["case api"] = (await member.get(f"/api/cases/{team.case.id}/insights", params=PERIOD)).text
    for where, text_ in copies.items():
        viewer = team.member if where == "case api" else team.admin
        names = {p.name for p in people_ if p.id != viewer.id} | {p.email for p in people_ if p.id != viewer.id}
        names |= {str(p.id) for p in people_ if p.id != viewer.id}  # a page names its reader
        found = sorted(word for word in forbidden | names if word in text_)
        assert not found, f"{where} names {found}"
    # the figures are there: the test cannot pass by showing nothing
    assert "Police" in copies["api"]
    assert "Police" in copies["page"]
    assert "Police" in copies["csv"]
    assert scene.other_family.name not in copies["page"]
