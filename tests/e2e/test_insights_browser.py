"""The insights page in Chromium, as an administrator would show it at a board meeting: on the
scripted meetings of tests/test_insights.py, at 1280, 768 and 390 px, every chart is drawn with
its table beside (or under) it, nothing is wider than the window, axe finds no WCAG 2.2 AA
violation and the Content-Security-Policy refuses nothing. With ROUNDTABLE_SCREENSHOTS=folder
the page is also saved there at each width, to be looked at."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser

from server.platform.runtime import Runtime
from tests.e2e.test_accessibility import WIDTHS, check, signed_in
from tests.support import Team
from tests.test_insights import PERIOD, scripted

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


async def test_the_insights_page_reads_at_every_width(
    browser: Browser, server_url: str, runtime: Runtime, team: Team
) -> None:
    await scripted(runtime, team)
    context = await signed_in(browser, server_url, team, "admin", WIDTHS[0])
    shots = os.environ.get("ROUNDTABLE_SCREENSHOTS")
    try:
        page = await context.new_page()
        await page.goto(f"/insights?from={PERIOD['from']}&to={PERIOD['to']}")
        assert await page.locator("svg.chart").count() == 9
        found = await check(page, "the insights page")
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 900})
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{overflow} px wider than the window at {width} px"
            box = await page.locator("#chart-attendance").bounding_box()
            assert box is not None
            assert box["width"] >= min(width - 80, 300), f"the chart is {box['width']} px wide at {width} px"
            if shots:
                await asyncio.to_thread(Path(shots).mkdir, parents=True, exist_ok=True)
                await page.screenshot(path=f"{shots}/insights-{width}.png", full_page=True)
        assert not found, "\n".join(found)
    finally:
        await context.close()
