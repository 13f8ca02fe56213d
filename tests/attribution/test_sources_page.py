"""The conversion sources page over HTTP as a browser sends it: the navigation entry, every source with its address
and health (after a refused and an accepted webhook), pixel snippets, adding a source (its secret shown once),
rotating a secret, pausing; who sees and does what; and the sponsor page's conversion tracking section."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from podsponsor.attribution.pixel import purchase_call, snippet
from podsponsor.attribution.secrets import decrypt_secret
from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.world import WOO_ORDER, add_source, add_sponsor, as_owner, source_row, woocommerce_headers
from tests.bookings.booking_world import email_of, signed_in
from tests.factories.identity import PASSWORD, Tenant, make_tenant
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args, csrf_of  # noqa: F401
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)

_SECRET = re.compile(r'id="revealed-secret" type="text" readonly value="([^"]+)"')
_TEXTAREAS = re.compile(r'<textarea class="copy-field" readonly rows="\d+" aria-label="([^"]+)">([^<]*)</textarea>')


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


def row_of(markup: str, source: dict[str, Any]) -> str:
    """The table row of one source, as text without markup."""
    found = re.search(rf'<tr id="source-{source["id"]}">(.*?)</tr>', markup, re.S)
    assert found, f"no row for {source['name']}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def textareas(markup: str) -> dict[str, str]:
    return {label: html.unescape(text) for label, text in _TEXTAREAS.findall(markup)}


def form_post(client: httpx.Client, page_url: str, action: str, fields: dict[str, str]) -> httpx.Response:
    token = csrf_of(client.get(page_url))
    return client.post(action, data={"csrf_token": token, **fields})


def test_the_conversions_entry_is_in_the_navigation_of_readers_while_attribution_is_on(server: str) -> None:
    fresh = make_tenant(server, roles=("owner", "creator", "advertiser"))
    for role, shown in (("owner", True), ("advertiser", True), ("creator", False)):
        with signed_in(server, fresh, role) as client:
            assert ('href="/conversion-sources"' in client.get("/").text) is shown, role
    with signed_in(server, fresh, "creator") as client:
        assert client.get("/conversion-sources").status_code == 403
    with fresh.client() as owner:
        assert owner.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": False}).status_code == 200
    with signed_in(server, fresh) as client:
        assert 'href="/conversion-sources"' not in client.get("/").text
        assert client.get("/conversion-sources").status_code == 404
    with httpx.Client(base_url=server, headers={"Accept": "text/html"}) as anonymous:
        assert anonymous.get("/conversion-sources").headers["location"] == "/login?next=/conversion-sources"


def test_the_page_shows_each_sources_address_and_health_after_a_failure_and_a_success(
    server: str, tenant: Tenant, database: DatabaseUrls
) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
        store = add_source(api, sponsor, "woocommerce", name="Main store")
        pixel = add_source(api, sponsor, "pixel", name="Site pixel")
        quiet = add_source(api, sponsor, "api", name="Back office")
        sponsor_name = api.get(f"/api/v1/sponsors/{sponsor}").json()["name"]
    secret = store["secret"]["value"]
    body = WOO_ORDER.read_bytes()
    with httpx.Client(base_url=server, timeout=30) as shop:
        wrong = shop.post(
            f"/hooks/woocommerce/{store['token']}", content=body, headers=woocommerce_headers("x" * 43, body)
        )
        assert wrong.status_code == 401
        right = shop.post(
            f"/hooks/woocommerce/{store['token']}", content=body, headers=woocommerce_headers(secret, body)
        )
        assert right.status_code == 201, right.text
    health = source_row(database, store)
    with signed_in(server, tenant, "sales") as client:
        listing = client.get("/conversion-sources", params={"sponsor_id": sponsor})
    assert listing.status_code == 200
    assert f"{server}/hooks/woocommerce/{store['token']}" in listing.text
    store_row = row_of(listing.text, store)
    last_event = health["last_event_at"].strftime("%Y-%m-%d %H:%M UTC")
    last_failure = health["last_failure_at"].strftime("%Y-%m-%d %H:%M UTC")
    assert store_row == (
        f"Main store WooCommerce (order webhooks) {sponsor_name} "
        f"{server}/hooks/woocommerce/{store['token']} the webhook address to give the platform "
        f"{last_event} 1 1 {last_failure} "
        "the X-WC-Webhook-Signature header does not match the body signed with the source's secret "
        "— Active Pause New secret"
    )
    assert row_of(listing.text, quiet).endswith("— 0 — None — Active Pause")
    assert f"{server}/api/v1/conversions" in row_of(listing.text, quiet)
    assert f"{server}/px?s={pixel['token']}" in row_of(listing.text, pixel)
    shown = textareas(listing.text)
    assert shown["Pixel snippet of Site pixel"] == snippet(server, pixel["token"])
    assert shown["Purchase call for the order confirmation page"] == purchase_call()
    assert secret not in listing.text


def test_adding_a_source_shows_a_generated_secret_once(server: str, tenant: Tenant, database: DatabaseUrls) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
    with signed_in(server, tenant, "sales") as client:
        added = form_post(
            client,
            "/conversion-sources",
            "/conversion-sources",
            {"sponsor_id": sponsor, "kind": "woocommerce", "name": "EU store"},
        )
        assert added.status_code == 200, added.text
        secret = _SECRET.search(added.text)
        assert secret, "the new secret is shown"
        [row] = as_owner(database, "SELECT * FROM conversion_sources WHERE sponsor_id = %s", sponsor)
        assert decrypt_secret(row["secret_encrypted"]) == secret.group(1)
        assert f"{server}/hooks/woocommerce/{row['token']}" in added.text
        again = client.get("/conversion-sources", params={"sponsor_id": sponsor})
        assert secret.group(1) not in again.text
        assert "EU store" in again.text


def test_adding_a_pixel_redirects_to_it_and_bad_input_is_shown_beside_its_field(
    server: str, tenant: Tenant, database: DatabaseUrls
) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
    with signed_in(server, tenant) as client:
        added = form_post(
            client,
            "/conversion-sources",
            "/conversion-sources",
            {"sponsor_id": sponsor, "kind": "pixel", "name": "Pixel"},
        )
        assert added.status_code == 303
        [row] = as_owner(database, "SELECT * FROM conversion_sources WHERE sponsor_id = %s", sponsor)
        assert added.headers["location"] == f"/conversion-sources?sponsor_id={sponsor}#source-{row['id']}"
        shown = client.get(added.headers["location"])
        assert "Pixel is added." in shown.text
        assert textareas(shown.text)["Pixel snippet of Pixel"] == snippet(server, row["token"])
        missing = form_post(
            client, "/conversion-sources", "/conversion-sources", {"sponsor_id": sponsor, "kind": "pixel"}
        )
        assert missing.status_code == 422
        assert '<p class="field-error" id="name-error">Fill this in.</p>' in missing.text
        stripe = form_post(
            client,
            "/conversion-sources",
            "/conversion-sources",
            {"sponsor_id": sponsor, "kind": "stripe", "name": "Checkout", "secret": "sk_live_not_a_signing_secret"},
        )
        assert stripe.status_code == 422
        assert "starts with &#39;whsec_&#39;" in stripe.text
        elsewhere = form_post(
            client,
            "/conversion-sources",
            "/conversion-sources",
            {"sponsor_id": "00000000-0000-4000-8000-000000000000", "kind": "pixel", "name": "Lost"},
        )
        assert elsewhere.status_code == 422
        assert '<p class="field-error" id="sponsor_id-error">No such sponsor</p>' in elsewhere.text
        no_token = client.post("/conversion-sources", data={"sponsor_id": sponsor, "kind": "api", "name": "X"})
        assert no_token.status_code == 403
    assert len(as_owner(database, "SELECT * FROM conversion_sources WHERE sponsor_id = %s", sponsor)) == 1


def test_rotating_pausing_and_resuming(server: str, tenant: Tenant, database: DatabaseUrls) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
        woo = add_source(api, sponsor, "woocommerce")
        shopify = add_source(api, sponsor, "shopify", secret="shpss_" + "1f" * 20)
        pixel = add_source(api, sponsor, "pixel")
    listing = f"/conversion-sources?sponsor_id={sponsor}"
    with signed_in(server, tenant, "sales") as client:
        rotated = form_post(client, listing, f"/conversion-sources/{woo['id']}/rotate", {})
        assert rotated.status_code == 200
        fresh = _SECRET.search(rotated.text)
        assert fresh and fresh.group(1) != woo["secret"]["value"]
        assert decrypt_secret(source_row(database, woo)["secret_encrypted"]) == fresh.group(1)

        unset = form_post(client, listing, f"/conversion-sources/{shopify['id']}/rotate", {"secret": ""})
        assert unset.status_code == 303
        assert "Shopify gives the signing secret: paste it here" in client.get(unset.headers["location"]).text
        pasted = form_post(
            client, listing, f"/conversion-sources/{shopify['id']}/rotate", {"secret": "shpss_" + "2e" * 20}
        )
        assert pasted.status_code == 200
        assert decrypt_secret(source_row(database, shopify)["secret_encrypted"]) == "shpss_" + "2e" * 20

        listed = client.get(listing).text
        assert f'action="/conversion-sources/{pixel["id"]}/rotate"' not in listed
        no_secret = form_post(client, listing, f"/conversion-sources/{pixel['id']}/rotate", {})
        assert "A pixel source has no webhook secret" in client.get(no_secret.headers["location"]).text

        paused = form_post(client, listing, f"/conversion-sources/{pixel['id']}/active", {"active": "false"})
        assert paused.status_code == 303
        assert source_row(database, pixel)["active"] is False
        after = client.get(paused.headers["location"]).text
        assert "paused: it takes nothing in" in after
        assert row_of(after, pixel).endswith("Paused Resume")
        resumed = form_post(client, listing, f"/conversion-sources/{pixel['id']}/active", {"active": "true"})
        assert resumed.status_code == 303
        assert source_row(database, pixel)["active"] is True


def test_advertisers_see_their_own_sources_without_forms_and_other_workspaces_nothing(
    server: str, tenant: Tenant, database: DatabaseUrls
) -> None:
    with tenant.client("advertiser") as advertiser:
        [own] = advertiser.get("/api/v1/sponsors").json()["items"]
    with tenant.client() as api:
        theirs = add_source(api, own["id"], "pixel", name="Advertiser pixel")
        others = add_source(api, add_sponsor(api), "pixel", name="Someone else's pixel")
    with signed_in(server, tenant, "advertiser") as client:
        listing = client.get("/conversion-sources")
        assert listing.status_code == 200
        assert "Advertiser pixel" in listing.text and "Someone else&#39;s pixel" not in listing.text
        assert textareas(listing.text)["Pixel snippet of Advertiser pixel"] == snippet(server, theirs["token"])
        assert 'method="post" action="/conversion-sources"' not in listing.text and "/active" not in listing.text
        token = csrf_of(listing)
        refused = client.post(
            f"/conversion-sources/{theirs['id']}/active", data={"csrf_token": token, "active": "false"}
        )
        assert refused.status_code == 403
    rival = make_tenant(server)
    with signed_in(server, rival) as client:
        token = csrf_of(client.get("/conversion-sources"))
        assert theirs["token"] not in client.get("/conversion-sources").text
        lost = client.post(f"/conversion-sources/{others['id']}/active", data={"csrf_token": token, "active": "false"})
        assert lost.status_code == 404
    assert source_row(database, others)["active"] is True


def test_the_sponsor_page_offers_its_pixel_snippet(server: str, tenant: Tenant) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
        pixel = add_source(api, sponsor, "pixel", name="Storefront pixel")
        add_source(api, sponsor, "csv")
        bare = add_sponsor(api)
    with signed_in(server, tenant, "sales") as client:
        sponsor_page = client.get(f"/sponsors/{sponsor}")
        assert sponsor_page.status_code == 200
        assert "Conversion tracking" in sponsor_page.text
        assert f'hx-get="/sponsors/{sponsor}/conversion-tracking"' in sponsor_page.text
        section = client.get(f"/sponsors/{sponsor}/conversion-tracking")
        assert section.status_code == 200
        assert textareas(section.text)["Pixel snippet of Storefront pixel"] == snippet(server, pixel["token"])
        assert "(1 other than pixels)" in section.text
        empty = client.get(f"/sponsors/{bare}/conversion-tracking")
        assert "No pixel for" in empty.text and f'href="/conversion-sources?sponsor_id={bare}#add"' in empty.text
    with signed_in(server, tenant, "advertiser") as client:
        assert client.get(f"/sponsors/{sponsor}/conversion-tracking").status_code == 404
    with signed_in(server, tenant, "creator") as client:
        # Creators read sponsors but not attribution: no section, and the section's address is refused.
        assert "Conversion tracking" not in client.get(f"/sponsors/{sponsor}").text
        assert client.get(f"/sponsors/{sponsor}/conversion-tracking").status_code == 403


@pytest.mark.browser
async def test_in_chromium_a_seller_adds_a_pixel_and_finds_its_snippet_on_the_sponsor_page(
    server: str,
    tenant: Tenant,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
        name = api.get(f"/api/v1/sponsors/{sponsor}").json()["name"]
    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(email_of(tenant, "sales"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversions").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Conversion sources")
    await page.get_by_label("Sponsor", exact=True).last.select_option(label=name)
    await page.get_by_label("Kind").select_option("pixel")
    await page.get_by_label("Name").fill("Storefront pixel")
    await page.get_by_role("button", name="Add the source").click()
    await expect(page.get_by_role("status")).to_have_text("Storefront pixel is added.")
    snippet_box = page.get_by_label("Pixel snippet of Storefront pixel")
    await expect(snippet_box).to_contain_text("/px.js?s=")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "conversion-sources.png", full_page=True)

    await page.goto(f"{server}/sponsors/{sponsor}")
    section = page.locator("#conversion-tracking")
    await expect(section.get_by_label("Pixel snippet of Storefront pixel")).to_contain_text("<noscript><img src=")
    await page.screenshot(path=SCREENSHOTS / "sponsor-conversion-tracking.png", full_page=True)
    assert problems == []
