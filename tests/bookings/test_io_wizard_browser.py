"""The booking wizard in real Chromium: from the navigation to a booked IO, with the show's ad units and episodes
loaded on choosing it, the CPM prefilled from the rate card, a promo code and vanity slug generated, and no console
error (the page runs under a CSP without inline script)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from tests.bookings.booking_world import FLIGHT_START, add_deal, add_show, email_of
from tests.factories.identity import PASSWORD, make_tenant
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser


async def test_a_seller_books_an_io_through_the_wizard(server: str, page: Page, problems: list[str]) -> None:  # noqa: F811
    tenant = make_tenant(server, roles=("owner", "sales"))
    tag = uuid.uuid4().hex[:6]
    with tenant.client() as owner:
        show = add_show(owner, title=f"Night Shift Stories {tag}")
        deal = add_deal(owner, name=f"Brew Hub {tag}")

    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(email_of(tenant, "sales"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Bookings").click()
    await expect(page).to_have_url(f"{server}/io")
    await page.get_by_role("link", name="Book an IO").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Book an insertion order")

    await page.get_by_label("Deal", exact=True).select_option(deal.campaign_id)
    await page.get_by_label("Show", exact=True).select_option(show.id)
    ad_unit = page.get_by_label("Ad unit")
    await expect(ad_unit).to_contain_text("Mid-roll :60 host read · 25.00 CPM")
    # The show's re-render must have settled (htmx wires the new fields after its swap) before the next choice.
    await page.wait_for_load_state("networkidle")
    await page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")
    await ad_unit.select_option(show.mid)
    await expect(page.get_by_label("CPM", exact=True)).to_have_value("25.00")
    await expect(page.get_by_text("rate card 25.00 USD")).to_be_visible()
    await expect(page.get_by_label("Deal", exact=True)).to_have_value(deal.campaign_id)

    await page.get_by_label("In these episodes").check()
    await expect(page.locator("#episode-choices")).to_be_enabled()
    await page.get_by_label("Episode 5").check()
    await page.get_by_label("Episode 3").check()
    await page.get_by_label("Flight starts").fill(FLIGHT_START.isoformat())
    await page.get_by_label("Flight ends").fill((FLIGHT_START + timedelta(days=40)).isoformat())
    await page.get_by_label("Impression goal").fill("45000")
    await page.get_by_role("textbox", name="Talking points").fill("Free delivery on the first order.")
    await page.get_by_role("textbox", name="Landing page").fill("https://brewhub.example/listeners")

    await page.get_by_role("button", name="Generate a code").click()
    await expect(page.get_by_role("textbox", name="Promo code")).to_have_value(re.compile(r"^[A-HJKMNP-Z2-9]{4,20}$"))
    await page.get_by_role("button", name="Generate a slug").click()
    await expect(page.get_by_role("textbox", name="Vanity URL slug")).to_have_value(re.compile(rf"^brew-hub-{tag}"))
    # What was typed before the round trips is still there.
    await expect(page.get_by_label("Impression goal")).to_have_value("45000")
    await expect(page.get_by_label("Episode 5")).to_be_checked()
    promo_code = await page.get_by_role("textbox", name="Promo code").input_value()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "io-wizard.png", full_page=True)

    await page.get_by_role("button", name="Book the IO").click()
    await expect(page).to_have_url(re.compile(rf"{re.escape(server)}/io/[0-9a-f-]{{36}}$"))
    await expect(page.get_by_role("status")).to_contain_text("is booked.")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"IO-\d{4}-\d{4}"))
    await expect(page.locator("[data-status]")).to_have_text("Scheduled")
    await expect(page.locator("[data-promo-code]")).to_have_text(promo_code)
    await expect(page.locator("[data-pricing]")).to_contain_text("25.00 USD CPM")
    episodes = page.get_by_role("region", name="Episodes").get_by_role("row")
    await expect(episodes.nth(1)).to_contain_text("Episode 5")  # earliest release first
    await expect(episodes.nth(2)).to_contain_text("Episode 3")
    await page.screenshot(path=SCREENSHOTS / "io-detail.png", full_page=True)

    await page.get_by_role("link", name="Back to IOs").click()
    await expect(page.get_by_role("link", name=re.compile(r"IO-\d{4}-\d{4}"))).to_have_count(1)
    assert problems == []
