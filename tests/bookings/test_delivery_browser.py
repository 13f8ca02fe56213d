"""Delivery in real Chromium: an IO's page loads its delivery section with the pacing chart (delivered, expected and
the goal), the campaign's delivery is one link away, and a seller settles a makegood by credit through its form; no
console error on the way (the pages run under a CSP without inline script)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.async_api import Page, expect

from podsponsor.bookings import delivery
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from tests.bookings.booking_world import email_of
from tests.bookings.delivery_world import book, downloads, io_row, rows, show
from tests.factories.identity import make_tenant
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401
from tests.web.test_browser import chromium, page, problems, sign_in  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=9)


async def test_a_seller_reads_an_ios_pacing_and_settles_a_makegood_by_credit(
    db: Database,
    server: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    tenant_id = uuid.UUID(tenant.id)
    on = await show(tenant_id, [START, TODAY - timedelta(days=20)], title="Night Shift Stories")
    live = await book(tenant_id, on, START, START + timedelta(days=29), placed=[0], goal=3000)
    for offset, count in ((0, 300), (2, 150), (4, 200), (7, 100), (9, 50)):
        await downloads(tenant_id, on, 0, START + timedelta(days=offset), count)
    short = await book(tenant_id, on, TODAY - timedelta(days=20), TODAY - timedelta(days=11), placed=[1], goal=1000)
    await downloads(tenant_id, on, 1, TODAY - timedelta(days=20), 700)
    async with tenant_transaction(tenant_id) as session:  # the hourly refresh, its clock set to judge the past flight
        await delivery.refresh_tenant(session, tenant_id, now=datetime.combine(TODAY, time(12), tzinfo=UTC))
    live_number = (await io_row(tenant_id, live.io)).number
    short_number = (await io_row(tenant_id, short.io)).number

    await sign_in(page, server, email_of(tenant, "sales"))
    await page.goto(f"{server}/io/{live.io}")
    section = page.get_by_role("region", name="Delivery", exact=True)
    await expect(section.locator("[data-pacing-status]")).to_have_text("Behind")  # 800 of 1,000 expected by today
    await expect(section.locator("[data-pacing]")).to_have_text("80.0 %")
    await expect(section.locator("[data-delivered]")).to_have_text("800 of 3,000")
    chart = section.locator("#io-pacing svg")
    await expect(chart).to_be_visible()
    await expect(chart.locator(".chart-legend-item text")).to_have_text(["Delivered", "Expected", "Goal"])
    await expect(chart.locator("path.chart-line")).to_have_count(3)
    await section.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "io-delivery.png", full_page=True)

    await section.get_by_role("link", name=re.compile("Delivery of the whole campaign")).click()
    await expect(page).to_have_url(f"{server}/campaigns/{live.campaign}/delivery")
    await expect(page.locator(f'tr[data-io="{live_number}"]')).to_contain_text("80.0 %")
    await expect(page.locator("#campaign-delivery svg")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "campaign-delivery.png", full_page=True)

    await page.goto(f"{server}/io")
    await page.get_by_role("link", name="Makegoods").click()
    await expect(page).to_have_url(f"{server}/makegoods")
    owed = page.locator(f'article[data-makegood="{short_number}"]')
    await expect(owed.locator("[data-shortfall]")).to_have_text("300 impressions")
    await expect(owed.get_by_label("Credit amount (USD)")).to_have_value("7.50")
    await owed.get_by_label("A credit").check()
    await owed.get_by_label("Credit amount (USD)").fill("7.5x")
    await owed.get_by_role("button", name="Settle").click()
    owed = page.locator(f'article[data-makegood="{short_number}"]')
    await expect(owed.locator(".field-error")).to_contain_text("Give an amount such as 125.50")
    await expect(owed.get_by_label("A credit")).to_be_checked()
    await owed.get_by_label("Credit amount (USD)").fill("6.25")
    await owed.get_by_label("Internal note").fill("Agreed with the agency")
    await page.screenshot(path=SCREENSHOTS / "makegoods-open.png", full_page=True)
    await owed.get_by_role("button", name="Settle").click()

    await expect(page).to_have_url(f"{server}/makegoods?state=settled")
    await expect(page.get_by_role("status")).to_have_text(
        f"The makegood of {short_number} is settled by a credit of 6.25 USD."
    )
    settled = page.locator(f'tr[data-makegood="{short_number}"]')
    await expect(settled.locator("[data-settlement]")).to_have_text("A credit of 6.25 USD")
    await expect(page.locator('[data-count="open"]')).to_have_text("0")
    await page.screenshot(path=SCREENSHOTS / "makegoods-settled.png", full_page=True)
    [makegood] = await rows(tenant_id, "SELECT credit_cents, note FROM makegoods WHERE io_id = :io", io=short.io)
    assert (makegood.credit_cents, makegood.note) == (625, "Agreed with the agency")
    # The refused form is answered 422 by design, which Chromium reports on the console; nothing else may be there.
    refused = f"status of 422 (Unprocessable Entity) at {server}/makegoods/"
    assert [problem for problem in problems if refused not in problem] == []
