"""The campaign attribution page over HTTP and in Chromium: before the first run it says so and offers Recalculate
(which queues the job, with a notice); after a run, the figures with their intervals split into deterministic and
modeled, the models' chart, the lift and the validations; switching models; who sees it; the IO page's link."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.attribution.engine_world import recalc, rows
from tests.attribution.validation_world import ValidationWorld, validation_world
from tests.bookings.booking_world import email_of, signed_in
from tests.factories.identity import PASSWORD, Tenant, make_tenant
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args, csrf_of  # noqa: F401
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


def _advertisers_sponsor(tenant: Tenant) -> uuid.UUID:
    with tenant.client("advertiser") as api:
        return uuid.UUID(api.get("/api/v1/sponsors").json()["items"][0]["id"])


@pytest.fixture(scope="module")
async def world(tenant: Tenant, db: object) -> ValidationWorld:
    return await validation_world(uuid.UUID(tenant.id), sponsor_id=_advertisers_sponsor(tenant))


def _page(client: httpx.Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text[:500]
    return response.text


async def test_before_the_first_run_the_page_offers_to_recalculate(
    server: str, tenant: Tenant, world: ValidationWorld
) -> None:
    path = f"/attribution/campaigns/{world.campaign}"
    with signed_in(server, tenant, "sales") as client:
        markup = _page(client, path)
        assert 'id="not-calculated"' in markup and ">Recalculate</button>" in markup
        answer = client.post(f"{path}/recalculate", data={"csrf_token": csrf_of(client.get(path))})
        assert answer.status_code == 303 and answer.headers["location"] == path
        assert "The recalculation is queued" in _page(client, path)
        again = client.post(f"{path}/recalculate", data={"csrf_token": csrf_of(client.get(path))})
        assert "already waiting" in _page(client, again.headers["location"])
        assert client.post(f"{path}/recalculate", data={"csrf_token": "forged"}).status_code == 403
    jobs = await rows(
        world.tenant,
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE task_name = 'attribution.recalculate' "
        "AND args->>'campaign_id' = :campaign",
        campaign=str(world.campaign),
    )
    assert jobs[0].n == 1


async def test_after_a_run_the_figures_models_lift_and_validations(
    server: str, tenant: Tenant, world: ValidationWorld
) -> None:
    await recalc(world.tenant, world.campaign)
    with tenant.client("sales") as api:
        body = {"campaign_id": str(world.campaign), "model": "linear", "ground_truth": "promo_code"}
        assert api.post("/api/v1/attribution/validate", json=body).status_code == 201
    path = f"/attribution/campaigns/{world.campaign}"
    with signed_in(server, tenant, "advertiser") as client:
        markup = _page(client, path)
        first_touch = _page(client, f"{path}?model=first_touch")
    assert 'data-model="linear"' in markup and 'id="not-calculated"' not in markup
    figures = re.search(r'<table class="table" id="figures">(.*?)</table>', markup, re.S)
    assert figures is not None
    # five promo-code conversions: all deterministic, none modeled
    assert re.search(
        r"Attributed conversions</th><td>5\.0 \([^)]+\)</td><td>5\.0 \([^)]+\)</td><td>0\.0 \(0\.0 to 0\.0\)</td>",
        figures.group(1),
    )
    assert "Revenue (USD)" in figures.group(1) and "Conversion rate" in figures.group(1)
    assert "<svg" in markup and "Attributed conversions per IO, by model" in markup
    assert "First touch" in markup and "Linear (default)" in markup
    assert "a lift of <strong>233.3 %" in markup
    assert "Promo codes" in markup and "80.0 %" in markup
    assert ">Recalculate</button>" not in markup  # advertisers read, they do not run
    assert 'data-model="first_touch"' in first_touch
    with signed_in(server, tenant, "sales") as client:
        assert f'href="/attribution/campaigns/{world.campaign}"' in _page(client, f"/io/{world.first.io}")


def test_who_sees_the_page(server: str, tenant: Tenant, world: ValidationWorld) -> None:
    path = f"/attribution/campaigns/{world.campaign}"
    with signed_in(server, tenant, "creator") as client:
        _page(client, path, 403)
    fresh = make_tenant(server, roles=("owner", "advertiser"))
    with signed_in(server, fresh, "advertiser") as client:
        _page(client, path, 404)
    with signed_in(server, fresh) as client:
        _page(client, path, 404)
        _page(client, "/attribution/campaigns/not-an-id", 404)
    with httpx.Client(base_url=server, headers={"Accept": "text/html"}) as anonymous:
        assert anonymous.get(path).headers["location"] == f"/login?next={path}"


@pytest.mark.browser
async def test_switching_models_in_chromium(
    server: str,
    tenant: Tenant,
    world: ValidationWorld,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    await recalc(world.tenant, world.campaign)
    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(email_of(tenant, "sales"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await page.goto(f"{server}/attribution/campaigns/{world.campaign}")
    await expect(page.locator("[data-model]")).to_have_attribute("data-model", "linear")
    models = page.get_by_role("navigation", name="Attribution model")
    await models.get_by_role("link", name="Time decay").click()
    await expect(page.locator("[data-model]")).to_have_attribute("data-model", "time_decay")
    await expect(page).to_have_url(re.compile(r"\?model=time_decay$"))
    await expect(models.get_by_role("link", name="Time decay")).to_have_attribute("aria-current", "true")
    await expect(page.get_by_role("heading", name="Lift")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "attribution-campaign.png"), full_page=True)
    assert problems == []
