"""The HTML pages as a person uses them: signing in through the form, the home and case pages,
scheduling a meeting and building its agenda, administration, errors, and what every page
must get right (security headers, one heading, labelled controls, no inline script)."""

from __future__ import annotations

import uuid
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import httpx
import pytest
from httpx import AsyncClient

from server.people.models import User
from tests.support import PASSWORD, Team

NEW_PASSWORD = "a perfectly fine passphrase"


# --- reading pages --------------------------------------------------------------------------


class Page(HTMLParser):
    """What the checks need from a page: headings, controls, labels, ids, scripts, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.h1 = 0
        self.controls: list[tuple[str, dict[str, str | None]]] = []
        self.labels_for: set[str] = set()
        self.ids: list[str] = []
        self.inline_scripts: list[str] = []
        self.style_tags = 0
        self.style_attributes: list[str] = []
        self.event_handlers: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self._script: dict[str, str | None] | None = None
        self._script_text = ""
        self._text: list[str] = []
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h1":
            self.h1 += 1
        if tag in ("input", "select", "textarea"):
            self.controls.append((tag, a))
        if tag == "label" and a.get("for"):
            self.labels_for.add(a["for"] or "")
        if a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "form":
            self.forms.append(a)
        if tag == "script":
            self._script, self._script_text = a, ""
        if tag == "style":
            self.style_tags += 1
        if "style" in a:
            self.style_attributes.append(tag)
        self.event_handlers += [f"{tag}[{k}]" for k in a if k.startswith("on")]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if not self._script.get("src") or self._script_text.strip():
                self.inline_scripts.append(self._script_text.strip()[:80])
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text += data
        else:
            self._text.append(data)


def check_page(response: httpx.Response, where: str) -> Page:
    """Everything every HTML page must get right."""
    assert response.headers["content-type"].startswith("text/html"), where
    check_security_headers(response, where)
    page = Page(response.text)
    assert page.h1 == 1, f"{where}: {page.h1} <h1> elements"
    for tag, attrs in page.controls:
        if tag == "input" and attrs.get("type") in ("hidden", "submit", "button", "image"):
            continue
        control_id = attrs.get("id")
        assert control_id, f"{where}: <{tag} name={attrs.get('name')!r}> has no id for a label"
        assert control_id in page.labels_for, f"{where}: <{tag} id={control_id!r}> has no label"
    assert not page.inline_scripts, f"{where}: inline scripts {page.inline_scripts}"
    assert not page.style_tags, f"{where}: <style> elements break the CSP"
    assert not page.style_attributes, f"{where}: style= attributes on {page.style_attributes}"
    assert not page.event_handlers, f"{where}: inline handlers {page.event_handlers}"
    for form in page.forms:
        if (form.get("method") or "get").lower() == "post":
            assert form.get("action"), f"{where}: a form posts nowhere"
    return page


def check_security_headers(response: httpx.Response, where: str) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp, f"{where}: CSP {csp!r}"
    assert "unsafe-inline" not in csp, f"{where}: CSP {csp!r}"
    assert "unsafe-eval" not in csp, f"{where}: CSP {csp!r}"
    assert "frame-ancestors 'none'" in csp, f"{where}: CSP {csp!r}"
    assert headers.get("x-frame-options", "").upper() == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ), where


def token(client: AsyncClient) -> str:
    value = client.cookies.get("csrftoken")
    assert value, "no csrftoken cookie yet: fetch a page first"
    return value


async def submit(client: AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form as a browser does: form-encoded, with the hidden CSRF field."""
    if not client.cookies.get("csrftoken"):
        await client.get("/sign-in")
    return await client.post(path, data={**fields, "_csrf_token": token(client)})


async def sign_in_form(client: AsyncClient, user: User | str, password: str = PASSWORD) -> None:
    email = user if isinstance(user, str) else user.email
    page = await client.get("/sign-in")
    assert page.status_code == 200
    response = await submit(client, "/sign-in", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"


async def get_ok(client: AsyncClient, path: str) -> Page:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return check_page(response, path)


# --- signing in -----------------------------------------------------------------------------


async def test_signed_out_home_redirects_to_sign_in(client: AsyncClient, team: Team) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/"
    check_security_headers(response, "redirect")

    response = await client.get(f"/cases/{team.case.id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/sign-in?next=/cases/{team.case.id}"


async def test_sign_in_page(client: AsyncClient, runtime: object) -> None:
    page = await get_ok(client, "/sign-in")
    assert "Sign in" in page.text
    names = {attrs.get("name") for _, attrs in page.controls}
    assert {"email", "password", "_csrf_token"} <= names


async def test_sign_in_through_the_form(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    response = await submit(client, "/sign-in", {"email": team.member.email, "password": PASSWORD})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("rt_session=")]
    assert len(cookies) == 1
    attributes = [p.strip().lower() for p in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert client.cookies.get("rt_session")

    home = await get_ok(client, "/")
    assert "Mo Member" in home.text


async def test_sign_in_goes_back_to_the_page_asked_for(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    target = f"/cases/{team.case.id}"
    response = await submit(client, "/sign-in", {"email": team.chair.email, "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == target


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"])
async def test_sign_in_never_redirects_off_site(client: AsyncClient, team: Team, target: str) -> None:
    await client.get("/sign-in")
    response = await submit(client, "/sign-in", {"email": team.chair.email, "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_wrong_password_re_renders_the_form(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    response = await submit(client, "/sign-in", {"email": team.member.email, "password": "not the right one"})
    assert response.status_code in (400, 401, 422)
    page = check_page(response, "failed sign-in")
    assert "The e-mail address or password is not right." in page.text
    assert "rt_session" not in client.cookies
    # The address typed is kept.
    emails = [a.get("value") for _, a in page.controls if a.get("name") == "email"]
    assert emails == [team.member.email]


async def test_sign_out_through_the_form(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.member)
    response = await submit(client, "/sign-out", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert (await client.get("/")).status_code == 303


# --- home and case pages --------------------------------------------------------------------


async def test_home_shows_my_case_and_next_meeting(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.family)
    home = await get_ok(client, "/")
    assert "Child T." in home.text
    assert "TAC meeting" in home.text

    await sign_in_form(client, team.outsider)
    home = await get_ok(client, "/")
    assert "Child T." not in home.text
    assert "TAC meeting" not in home.text


async def test_case_page_shows_team_and_lead(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.member)
    page = await get_ok(client, f"/cases/{team.case.id}")
    text = page.text
    assert "Child T." in text
    assert "T-1" in text
    for name in ("Chris Chair", "Mo Member", "Lee Lead", "Fran Smith"):
        assert name in text
    assert "Olly Outsider" not in text
    assert "Lead professional Lee Lead, Health visiting" in text
    assert "TAC meeting" in text


async def test_outsider_gets_404_pages(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.outsider)
    for hidden, missing in (
        (f"/cases/{team.case.id}", f"/cases/{uuid.uuid4()}"),
        (f"/meetings/{team.meeting.id}", f"/meetings/{uuid.uuid4()}"),
        (f"/cases/{team.case.id}/meetings/new", f"/cases/{uuid.uuid4()}/meetings/new"),
    ):
        response = await client.get(hidden)
        assert response.status_code == 404, hidden
        page = check_page(response, hidden)
        assert "Child T." not in page.text
        assert "TAC meeting" not in page.text
        other = await client.get(missing)
        assert other.status_code == 404
        assert other.text == response.text


async def test_unknown_page_is_an_html_404(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.member)
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    check_page(response, "/no/such/page")


# --- scheduling a meeting and its agenda ----------------------------------------------------


async def test_chair_schedules_a_meeting_and_builds_the_agenda(client: AsyncClient, team: Team, app: object) -> None:
    await sign_in_form(client, team.chair)
    case_page = await get_ok(client, f"/cases/{team.case.id}")
    assert "Schedule a meeting" in case_page.text
    form = await get_ok(client, f"/cases/{team.case.id}/meetings/new")
    assert {a.get("name") for _, a in form.controls} >= {"title", "kind", "scheduled_at"}

    response = await submit(
        client,
        f"/cases/{team.case.id}/meetings",
        {
            "title": "Core group review",
            "kind": "core_group",
            "scheduled_at": "2031-06-15T14:30",
            "chair_id": str(team.chair.id),
            "location": "Room 4",
            "turn_limit_minutes": "3",
        },
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/meetings/")
    meeting_id = uuid.UUID(location.rsplit("/", 1)[1])

    page = await get_ok(client, location)
    assert "Core group review" in page.text
    assert "Room 4" in page.text
    assert "Meeting scheduled." in page.text  # the flash, once

    meetings = (await client.get(f"/api/cases/{team.case.id}/meetings")).json()
    scheduled = next(m for m in meetings if m["id"] == str(meeting_id))
    when = datetime.fromisoformat(scheduled["scheduled_at"])
    assert when == datetime(2031, 6, 15, 14, 30, tzinfo=ZoneInfo("Europe/London"))
    assert scheduled["turn_limit_seconds"] == 180
    assert scheduled["kind"] == "core_group"

    for title, private in (("Police intelligence update", True), ("Views of the family", False)):
        fields = {"title": title}
        if private:
            fields["professionals_only"] = "true"
        added = await submit(client, f"/meetings/{meeting_id}/agenda", fields)
        assert added.status_code == 303, added.text
        assert added.headers["location"] == f"/meetings/{meeting_id}"

    chair_page = await get_ok(client, location)
    assert "Police intelligence update" in chair_page.text
    assert "Views of the family" in chair_page.text

    for who, sees_private in ((team.member, True), (team.lead, True), (team.family, False)):
        await sign_in_form(client, who)
        page = await get_ok(client, location)
        assert "Views of the family" in page.text, who.name
        assert ("Police intelligence update" in page.text) is sees_private, who.name
        if not sees_private:
            assert "Police intelligence update" not in (await client.get(location)).text


async def test_schedule_form_errors_re_render_with_422(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.chair)
    path = f"/cases/{team.case.id}/meetings"
    good = {
        "title": "Review",
        "kind": "tac",
        "scheduled_at": "2031-06-15T14:30",
        "chair_id": str(team.chair.id),
    }
    for change, message in (
        ({"scheduled_at": ""}, "Enter the date and time of the meeting."),
        ({"scheduled_at": "tomorrow-ish"}, "Enter the date and time of the meeting."),
        ({"title": "  "}, "Enter a title for the meeting."),
        ({"chair_id": str(team.family.id)}, "The chair must be a professional"),
        ({"turn_limit_minutes": "many"}, "Enter the time for each turn as a whole number of minutes, from 1 to 60."),
        ({"turn_limit_minutes": "600"}, "Enter the time for each turn as a whole number of minutes, from 1 to 60."),
        ({"title": "T" * 201}, "Keep the title to 200 characters or fewer (this has 201)."),
        ({"scheduled_at": "2020-03-02T10:00"}, "That date and time have passed."),
    ):
        response = await submit(client, path, {**good, **change})
        assert response.status_code == 422, (change, response.status_code)
        page = check_page(response, f"schedule form error {change}")
        assert message in page.text, (change, page.text[:500])
        titles = [a.get("value") for _, a in page.controls if a.get("name") == "title"]
        assert titles == [change.get("title", good["title"]).strip() or None]  # what was typed is kept
    meetings = (await client.get(f"/api/cases/{team.case.id}/meetings")).json()
    assert len(meetings) == 1


async def test_member_cannot_schedule_or_add_items(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.member)
    assert (await client.get(f"/cases/{team.case.id}/meetings/new")).status_code == 403
    response = await submit(
        client,
        f"/cases/{team.case.id}/meetings",
        {
            "title": "Mine",
            "kind": "tac",
            "scheduled_at": "2031-06-15T14:30",
            "chair_id": str(team.member.id),
        },
    )
    assert response.status_code == 403
    check_page(response, "403 on schedule")
    response = await submit(client, f"/meetings/{team.meeting.id}/agenda", {"title": "Sneaky"})
    assert response.status_code == 403
    page = await get_ok(client, f"/meetings/{team.meeting.id}")
    assert "Sneaky" not in page.text


async def test_agenda_form_error_re_renders(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.chair)
    response = await submit(client, f"/meetings/{team.meeting.id}/agenda", {"title": "   "})
    assert response.status_code == 422
    page = check_page(response, "agenda form error")
    assert "Enter the agenda item" in page.text


# --- administration -------------------------------------------------------------------------


async def test_admin_page_is_for_admins_only(client: AsyncClient, team: Team) -> None:
    for who in (team.chair, team.member, team.family):
        await sign_in_form(client, who)
        response = await client.get("/admin")
        assert response.status_code == 403, who.name
        check_page(response, "/admin as non-admin")
        response = await submit(client, "/admin/agencies", {"agency_name": "Rogue agency", "agency_sector": "health"})
        assert response.status_code == 403
        response = await submit(
            client,
            "/admin/users",
            {"name": "Rogue", "email": "rogue@test.example", "agency_id": str(team.member.agency_id)},
        )
        assert response.status_code == 403
    await sign_in_form(client, team.admin)
    page = await get_ok(client, "/admin")
    assert "Administration" in page.text
    assert "Rogue" not in page.text


async def test_admin_adds_an_agency_and_a_user(client: AsyncClient, team: Team, app: object) -> None:
    await sign_in_form(client, team.admin)
    response = await submit(
        client, "/admin/agencies", {"agency_name": "Youth Offending Team", "agency_sector": "police"}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin"
    page = await get_ok(client, "/admin")
    assert "Youth Offending Team" in page.text
    assert "Agency Youth Offending Team added." in page.text

    agencies = {a["name"]: a for a in (await client.get("/api/agencies")).json()}
    yot = agencies["Youth Offending Team"]
    assert yot["sector"] == "police"

    response = await submit(
        client,
        "/admin/users",
        {
            "name": "Yusuf Officer",
            "email": "yusuf@test.example",
            "agency_id": yot["id"],
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303, response.text
    page = await get_ok(client, "/admin")
    assert "Yusuf Officer" in page.text
    assert "yusuf@test.example" in page.text
    users = {u["email"]: u for u in (await client.get("/api/users")).json()}
    assert users["yusuf@test.example"]["is_admin"] is False

    transport = httpx.ASGITransport(app=app, client=("198.51.100.30", 40000))  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://testserver.local") as other:
        await sign_in_form(other, "yusuf@test.example", NEW_PASSWORD)
        assert "Yusuf Officer" in (await get_ok(other, "/")).text


async def test_admin_form_errors_re_render_with_422(client: AsyncClient, team: Team) -> None:
    await sign_in_form(client, team.admin)
    for path, fields, message in (
        ("/admin/agencies", {"agency_name": "", "agency_sector": "health"}, "Enter the agency"),
        ("/admin/agencies", {"agency_name": "Astrologers", "agency_sector": "stars"}, "Choose a sector"),
        ("/admin/agencies", {"agency_name": "School", "agency_sector": "education"}, "already exists"),
        (
            "/admin/users",
            {"name": "Pat", "email": "pat@test.example", "agency_id": "", "password": ""},
            "Choose an agency from the list.",
        ),
        (
            "/admin/users",
            {
                "name": "Pat",
                "email": "pat@test.example",
                "agency_id": str(team.member.agency_id),
                "password": "short",
            },
            "Use at least 12 characters.",
        ),
        (
            "/admin/users",
            {
                "name": "Pat",
                "email": "not an address",
                "agency_id": str(team.member.agency_id),
                "password": NEW_PASSWORD,
            },
            "Enter an e-mail address",
        ),
        (
            "/admin/users",
            {
                "name": "Pat",
                "email": team.member.email,
                "agency_id": str(team.member.agency_id),
                "password": NEW_PASSWORD,
            },
            "already has an account",
        ),
    ):
        response = await submit(client, path, fields)
        assert response.status_code == 422, (fields, response.status_code)
        page = check_page(response, f"{path} error")
        assert message in page.text, (fields, page.text[:400])
    emails = [u["email"] for u in (await client.get("/api/users")).json()]
    assert "pat@test.example" not in emails


# --- every page -----------------------------------------------------------------------------


async def every_page(client: AsyncClient, team: Team) -> list[tuple[str, Page]]:
    """Each page each kind of person sees, checked for what every page must get right."""
    pages = [("/sign-in", check_page(await client.get("/sign-in"), "/sign-in"))]
    visits = {
        team.admin: ("/", "/actions", "/admin", "/cases/new", f"/cases/{team.case.id}"),
        team.chair: (
            "/",
            "/actions",
            "/cases/new",
            f"/cases/{team.case.id}",
            f"/cases/{team.case.id}/meetings/new",
            f"/meetings/{team.meeting.id}",
        ),
        team.family: ("/", "/actions", f"/cases/{team.case.id}", f"/meetings/{team.meeting.id}"),
    }
    for who, paths in visits.items():
        await sign_in_form(client, who)
        pages += [(f"{path} as {who.name}", await get_ok(client, path)) for path in paths]
    response = await client.get("/cases/new")
    assert response.status_code == 403
    pages.append(("/cases/new as family", check_page(response, "/cases/new as family")))
    return pages


async def test_every_page_has_one_h1_labels_and_headers(client: AsyncClient, team: Team) -> None:
    assert len(await every_page(client, team)) == 17


async def test_ids_are_unique_on_every_page(client: AsyncClient, team: Team) -> None:
    """A repeated id sends a <label for> (and an error summary link) to the wrong control."""
    problems = []
    for where, page in await every_page(client, team):
        duplicates = sorted({i for i in page.ids if page.ids.count(i) > 1})
        if duplicates:
            problems.append(f"{where}: {duplicates}")
    assert not problems, problems
