"""A show's audience in real Chromium: the section loads into the show page, charts daily raw requests beside IAB
downloads and each episode's first 30 days, gives the lifecycle table, and switches period in place."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from tests.factories.identity import PASSWORD, make_tenant
from tests.measurement.test_counting_job import BOT_UA, MONDAY, _count, _hits, _show, at
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser


async def test_the_show_page_charts_downloads_and_episode_pacing(
    db,
    server: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    tenant = make_tenant(server)
    tenant_id = uuid.UUID(tenant.id)
    podcast_id, _ = await _show(tenant_id)
    await _hits(
        tenant_id,
        podcast_id,
        [{"ts": at(MONDAY, 8, i), "ip_hash": f"listener-{i}"} for i in range(5)]
        + [{"ts": at(MONDAY, 9), "user_agent": BOT_UA, "ip_hash": "bot"}, {"ts": at(MONDAY, 9, 5), "method": "HEAD"}],
    )
    await _count(tenant_id, MONDAY)

    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(tenant.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await page.goto(f"{server}/podcasts/{podcast_id}")

    audience = page.locator("#audience")
    await expect(audience.get_by_role("heading", name="Audience")).to_be_visible()
    await expect(audience.locator("[data-total=downloads]")).to_have_text("5")
    await expect(audience.locator("[data-total=raw]")).to_have_text("7")
    daily = audience.locator("figure#daily-downloads")
    await expect(daily.locator("svg")).to_be_visible()
    await expect(daily.locator("svg")).to_contain_text("Raw requests")
    await expect(daily.locator("svg")).to_contain_text("IAB downloads")
    pacing = audience.locator("figure#episode-pacing")
    await expect(pacing.locator("svg")).to_contain_text("Episode one")
    await expect(audience.locator("[data-lifecycle] tbody tr")).to_have_count(1)
    await expect(audience.locator("[data-lifecycle] tbody tr td").nth(4)).to_have_text("5")  # day 7
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await audience.screenshot(path=SCREENSHOTS / "audience-30-days.png")

    await audience.get_by_role("link", name="90 days").click()
    await expect(page.locator("#audience").get_by_role("link", name="90 days")).to_have_attribute(
        "aria-current", "true"
    )
    await expect(page).to_have_url(f"{server}/podcasts/{podcast_id}")  # swapped in place
    await page.locator("#audience summary", has_text="Why raw and IAB numbers differ").click()
    await expect(page.locator("[data-reasons]")).to_contain_text("bot_keyword")
    assert problems == []
