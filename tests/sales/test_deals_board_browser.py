"""The deal board in real Chromium: a seller opens it from the nav, moves one deal with its button and drags
another to a later stage; a drop where the deal may not go does nothing; no console errors on the way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.factories.identity import PASSWORD, make_tenant
from tests.sales.test_deals_api import add_deal, add_sponsor

# The web tests' launch settings (the system Chromium) live in their conftest, which reaches only tests/web.
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser


async def test_a_seller_moves_deals_by_button_and_by_drag(server: str, page: Page, problems: list[str]) -> None:  # noqa: F811
    tenant = make_tenant(server, roles=("owner", "sales"))
    soon = datetime.now(UTC).date() + timedelta(days=20)
    later = soon + timedelta(days=45)
    with tenant.client("sales") as api:
        coffee = add_sponsor(api, name=f"Brightside Coffee {uuid.uuid4().hex[:4]}")
        mattress = add_sponsor(api, name=f"Nightfall Mattress {uuid.uuid4().hex[:4]}")
        seller = tenant.user_ids["sales"]
        by_button = add_deal(
            api, coffee["id"], name="Spring host reads", value_cents=1_200_000, expected_close=soon.isoformat()
        )
        by_drag = add_deal(
            api,
            mattress["id"],
            name="Summer takeover",
            stage="qualified",
            value_cents=800_000,
            seller_id=seller,
            expected_close=later.isoformat(),
        )
        held = add_deal(
            api, coffee["id"], name="Holiday flight", stage="negotiation", value_cents=2_500_000, probability=0.6
        )
        add_deal(api, mattress["id"], name="Back to school", stage="won", value_cents=400_000)
        add_deal(api, mattress["id"], name="Podcast week", stage="lost", value_cents=300_000)

    # Tall enough that a dragged card and its target column are on screen together (a drop needs both).
    await page.set_viewport_size({"width": 1280, "height": 1200})
    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(f"sales-{tenant.slug.removeprefix('net-')}@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals").click()
    await expect(page).to_have_url(f"{server}/deals")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Deals")

    def in_column(stage: str, deal_id: str):  # type: ignore[no-untyped-def]
        return page.locator(f"section.deal-column--{stage} #deal-{deal_id}")

    await expect(in_column("lead", by_button["id"])).to_be_visible()
    await expect(in_column("lead", by_button["id"])).to_contain_text("12,000.00 USD")
    await expect(in_column("lead", by_button["id"])).to_contain_text("1,200.00 USD")  # weighted at 10 %
    await expect(page.locator("figure#deal-forecast-chart svg")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "deals-board.png", full_page=True)

    await page.get_by_role("button", name="Move Spring host reads to Qualified").click()
    await expect(in_column("qualified", by_button["id"])).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Spring host reads moved from Lead to Qualified.")
    await expect(page).to_have_url(f"{server}/deals")
    await expect(in_column("qualified", by_button["id"])).to_be_focused()

    # The board's script binds drag-and-drop once loaded; on a busy machine the page may still be fetching it.
    await page.wait_for_load_state("networkidle")
    await in_column("qualified", by_drag["id"]).drag_to(page.locator("section.deal-column--won"))
    await expect(in_column("won", by_drag["id"])).to_be_visible(timeout=20_000)
    await expect(page.get_by_role("status")).to_have_text("Summer takeover moved from Qualified to Won.")
    # A won deal is closed to a seller: its card no longer drags.
    await expect(in_column("won", by_drag["id"])).not_to_have_attribute("draggable", "true")

    # Three stages back is not a move a deal may make: the drop is not accepted and nothing is posted.
    await in_column("negotiation", held["id"]).drag_to(page.locator("section.deal-column--lead"))
    await page.wait_for_timeout(500)
    await expect(in_column("negotiation", held["id"])).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Summer takeover moved from Qualified to Won.")
    await page.screenshot(path=SCREENSHOTS / "deals-board-moved.png", full_page=True)

    with tenant.client("sales") as api:
        button_deal = api.get(f"/api/v1/deals/{by_button['id']}").json()
        drag_deal = api.get(f"/api/v1/deals/{by_drag['id']}").json()
    assert [(h["from_stage"], h["to_stage"]) for h in button_deal["history"]] == [(None, "lead"), ("lead", "qualified")]
    assert [(h["from_stage"], h["to_stage"]) for h in drag_deal["history"]] == [
        (None, "qualified"),
        ("qualified", "won"),
    ]
    with tenant.client("sales") as api:
        assert len(api.get(f"/api/v1/deals/{held['id']}").json()["history"]) == 1
    assert problems == []
