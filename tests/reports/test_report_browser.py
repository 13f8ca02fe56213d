"""Campaign reports in real Chromium: a seller opens the Report section from the campaign's delivery page, creates a
share link and copies it; the sponsor opens it without signing in and sees the report with its charts drawn by the
page's own chart library; no console error or content-security-policy violation on the way."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from podsponsor.db.engine import Database
from tests.bookings.booking_world import email_of
from tests.factories.identity import make_tenant
from tests.reports.world import report_world
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401  (the system Chromium)
from tests.web.test_browser import chromium, page, problems, sign_in  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser

# Collects what the browser refused under the policy; init scripts run outside the page's policy.
WATCH_POLICY = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


async def test_a_seller_shares_the_report_and_the_sponsor_opens_it(
    db: Database,
    server: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    world = await report_world(tenant)
    await page.context.add_init_script(WATCH_POLICY)
    await sign_in(page, server, email_of(tenant, "sales"))

    await page.goto(f"{server}/campaigns/{world.campaign_id}/delivery")
    section = page.get_by_role("region", name="Report")
    await expect(section.get_by_role("button", name="Create a share link")).to_be_visible()
    await expect(section.get_by_role("link", name="PDF")).to_have_attribute(
        "href", f"/api/v1/reports/campaigns/{world.campaign_id}?format=pdf"
    )
    await section.get_by_label("For whom").fill("Sleepwell marketing")
    await section.get_by_label("Expires after (days)").fill("10")
    await section.get_by_role("button", name="Create a share link").click()

    await expect(page.get_by_role("heading", name="Share link for Sleepwell marketing")).to_be_visible()
    link = page.get_by_label("The share link")
    url = await link.input_value()
    assert url.startswith(f"{server}/shared/campaigns/")
    await page.get_by_role("button", name="Copy").click()
    await expect(page.locator("[data-copy-status]")).not_to_be_empty()
    await expect(page.locator("figure[data-chart-state=drawn]")).to_have_count(3)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "report-seller.png", full_page=True)

    sponsor = await page.context.browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[union-attr]
    await sponsor.add_init_script(WATCH_POLICY)
    shared = await sponsor.new_page()
    shared.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    shared.on("pageerror", lambda error: problems.append(error.message))
    response = await shared.goto(url)
    assert response is not None and response.status == 200
    await expect(shared.get_by_role("heading", level=1)).to_have_text(world.campaign_name)
    figures = shared.locator("figure[data-chart]")
    await expect(figures).to_have_count(3)
    await expect(shared.locator("figure[data-chart-state=drawn]")).to_have_count(3)
    for chart_id in ("pacing-chart", "attribution-chart", "models-chart"):
        drawn = shared.locator(f"#{chart_id} .vega-embed svg")
        await expect(drawn).to_be_visible()
        assert await drawn.locator("path, rect").count() > 3, chart_id
    await expect(shared.get_by_role("link", name="PDF")).to_be_visible()
    assert await shared.get_by_role("navigation").count() == 0
    assert await shared.evaluate("window.violations") == []
    await shared.screenshot(path=SCREENSHOTS / "report-shared.png", full_page=True)
    await sponsor.close()

    assert await page.evaluate("window.violations") == []
    assert problems == []
