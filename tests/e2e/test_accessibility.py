"""Accessibility that cannot regress: axe-core (4.12, vendored in the pinned axe-playwright-python
wheel, so nothing is fetched at test time) runs in Chromium over every page the app routes, as
each kind of person sees it (chair, professional, parent, administrator, and signed out), at
1280, 768 and 390 px wide; the room also with every folded form opened; a form showing its
errors too. Any WCAG 2.0, 2.1 or 2.2 A or AA violation fails the test, named with the elements
it was found on; so does any inline style or script the Content-Security-Policy refuses.

The pages are found from the app's routes (tests/pages_support.py), so a new page is checked the
day it is added."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from litestar import Litestar
from playwright.async_api import Browser, BrowserContext, Page

from server.platform.runtime import Runtime
from tests.pages_support import every_kind_of_thing, paths_of
from tests.support import PASSWORD, Team

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = (1280, 768, 390)
PEOPLE = ("chair", "member", "family", "admin", "anonymous")
AXE = Axe()


# Every Content-Security-Policy refusal (an inline style or script) is noted by the page itself.
NOTE_CSP = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.sourceFile || ""}:${e.lineNumber}`);
});"""


async def signed_in(browser: Browser, base: str, team: Team, role: str, width: int) -> BrowserContext:
    context = await browser.new_context(viewport={"width": width, "height": 900}, base_url=base)
    await context.add_init_script(NOTE_CSP)
    page = await context.new_page()
    await page.goto("/sign-in")
    if role != "anonymous":
        token = next(c["value"] for c in await context.cookies() if c["name"] == "csrftoken")
        answer = await context.request.post(
            "/api/session",
            data={"email": team.roles[role].email, "password": PASSWORD},
            headers={"x-csrftoken": token},
        )
        assert answer.ok, await answer.text()
    await page.close()
    return context


def problems(where: str, results: dict[str, Any]) -> list[str]:
    found = []
    for violation in results["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        found.append(f"{where}: {violation['id']} ({violation['impact']}) — {violation['help']}: {targets}")
    return found


RUN = "(options) => axe.run(document, options)"
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}


async def check(page: Page, where: str) -> list[str]:
    """axe at every width, on the page as loaded (axe is injected once per page)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.axe_script)
    found = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        results = await page.evaluate(
            RUN, {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
        )
        found += problems(f"{where} at {width} px", results)
    refused = await page.evaluate("window.__csp || []")
    return found + [f"{where}: the CSP refused {what}" for what in refused]


@pytest.fixture
async def ids(runtime: Runtime, team: Team) -> dict[str, list[str]]:
    return await every_kind_of_thing(runtime, team)


@pytest.mark.parametrize("role", PEOPLE)
async def test_every_page_meets_wcag_2_2_aa(
    app: Litestar,
    browser: Browser,
    server_url: str,
    team: Team,
    ids: dict[str, list[str]],
    role: str,
) -> None:
    context = await signed_in(browser, server_url, team, role, WIDTHS[0])
    found: list[str] = []
    checked = 0
    try:
        page = await context.new_page()
        for _, path in paths_of(app, "GET", ids, api=False):
            probe = await context.request.get(path)  # downloads (CSV, PDF) are not pages
            moved = probe.url != f"{server_url}{path}"  # sent to sign in, or elsewhere: checked there
            if moved or probe.status != 200 or "text/html" not in probe.headers["content-type"]:
                continue
            await page.goto(path)
            where = f"{role} on {path}"
            checked += 1
            found += await check(page, where)
            if "/room" in path:  # the room with every folded form opened
                opened = await page.evaluate(
                    "() => { const all = document.querySelectorAll('details'); all.forEach(d => d.open = true); "
                    "return all.length; }"
                )
                if opened:
                    found += await check(page, f"{where} (its {opened} folded parts opened)")
                await page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        if role == "chair":  # a form showing its errors beside the fields
            await page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            await page.goto(f"/cases/{team.case.id}/meetings/new")
            await page.fill("#title", "")
            await page.fill("#scheduled_at", "2020-03-02T10:00")
            await page.get_by_role("button", name="Schedule the meeting").click()
            await page.wait_for_selector("[data-error-summary]")
            found += await check(page, f"{role} on the schedule form with its errors")
    finally:
        await context.close()
    assert checked >= (2 if role == "anonymous" else 5), f"only {checked} pages for {role}"
    assert not found, "\n".join(found)
