"""The conversion pixel over real HTTP, behind a trusted proxy as deployed: image GETs and sendBeacon POSTs become
pixel events (hashes only) and, for leads and purchases, conversions once per order; anything that cannot be kept
still answers the image (or 204) and keeps nothing; bots leave no trace; the snippet's script works cross-origin in
real Chromium."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Page

from podsponsor.attribution.pixel import snippet
from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.world import IPHONE, SHOPPER_IP, add_source, add_sponsor, as_owner, keyed, source_row
from tests.conftest import ARTIFACTS
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant

# The shared browser fixtures (the system Chromium) live with the web tests.
from tests.web.conftest import browser_type_launch_args  # noqa: F401
from tests.web.test_browser import chromium, page, problems  # noqa: F401

GIF_HEADER = b"GIF89a"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SHOPPER = {"User-Agent": IPHONE, "X-Forwarded-For": SHOPPER_IP}


@pytest.fixture(scope="module")
def proxied(database: DatabaseUrls) -> Iterator[str]:
    """The app behind a trusted proxy (these tests), so X-Forwarded-For names the shopper."""
    env = {**os.environ, "TRUSTED_PROXIES": "127.0.0.1/32"}
    with serve_app(env, ARTIFACTS / "pixel-proxied-server.log") as base:
        yield base


@pytest.fixture(scope="module")
def network(server: str) -> Tenant:
    return make_tenant(server, name="Pixel Network")


@pytest.fixture
def shop(proxied: str) -> Iterator[httpx.Client]:
    """A shopper's browser on the advertiser's site, as the pixel sees it."""
    with httpx.Client(base_url=proxied, timeout=30, headers=SHOPPER) as client:
        yield client


@pytest.fixture
def pixel(network: Tenant) -> dict[str, Any]:
    with network.client() as api:
        return add_source(api, add_sponsor(api), "pixel")


def events_of(database: DatabaseUrls, source: dict[str, Any]) -> list[dict[str, Any]]:
    return as_owner(database, "SELECT * FROM pixel_events WHERE source_id = %s ORDER BY ts", source["id"])


def conversions_of(database: DatabaseUrls, source: dict[str, Any]) -> list[dict[str, Any]]:
    return as_owner(database, "SELECT * FROM conversions WHERE source_id = %s ORDER BY created_at", source["id"])


def all_events(database: DatabaseUrls) -> int:
    return int(as_owner(database, "SELECT count(*) AS n FROM pixel_events")[0]["n"])


def assert_gif(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/gif"
    image = response.content
    # A GIF89a of 1x1 pixels (little-endian width and height), ending with the trailer byte.
    assert (image[:6], image[6:10], image[-1:]) == (GIF_HEADER, b"\x01\x00\x01\x00", b";")
    assert response.headers["cache-control"] == "no-store, max-age=0"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "set-cookie" not in response.headers


def assert_beacon(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert "set-cookie" not in response.headers


def test_an_image_view_is_an_event_of_hashes_and_no_conversion(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]
) -> None:
    visited = "https://shop.example.com/mattress?utm_source=podcast"
    params = {"s": pixel["token"], "e": "view", "u": visited, "r": "https://www.google.com/"}
    assert_gif(shop.get("/px", params=params))
    [event] = events_of(database, pixel)
    assert (event["event"], event["page_url"], event["referrer"]) == ("view", visited, "https://www.google.com/")
    assert (event["ip_hash"], event["ua_hash"], event["ua_family"]) == (keyed(SHOPPER_IP), keyed(IPHONE), "iOS")
    assert (event["value_cents"], event["order_id"], event["conversion_id"]) == (None, None, None)
    assert conversions_of(database, pixel) == []
    health = source_row(database, pixel)
    assert (health["events_received"], health["signature_failures"], health["last_failure_reason"]) == (1, 0, None)
    assert health["last_event_at"] == event["ts"]


def test_the_noscript_image_takes_its_page_from_the_referer(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]
) -> None:
    checkout = "https://shop.example.com/checkout"
    assert_gif(shop.get("/px", params={"s": pixel["token"], "e": "view"}, headers={"Referer": checkout}))
    [event] = events_of(database, pixel)
    assert event["page_url"] == checkout


def test_a_purchase_is_one_conversion_however_often_its_order_is_sent(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]
) -> None:
    params = {"s": pixel["token"], "e": "purchase", "v": "49.99", "c": "usd", "o": "A-1001"}
    params["u"] = "https://shop.example.com/thanks?utm_campaign=IO-2026-0001"
    assert_gif(shop.get("/px", params=params))
    assert_gif(shop.get("/px", params=params))  # the confirmation page reloaded
    [conversion] = conversions_of(database, pixel)
    assert (conversion["kind"], conversion["order_id"], conversion["value_cents"], conversion["currency"]) == (
        "purchase",
        "A-1001",
        4999,
        "USD",
    )
    assert (conversion["ip_hash"], conversion["ua_hash"], conversion["ua_family"], conversion["country"]) == (
        keyed(SHOPPER_IP),
        keyed(IPHONE),
        "iOS",
        "GB",
    )
    assert conversion["utm"] == {"utm_campaign": "IO-2026-0001"}
    assert str(conversion["sponsor_id"]) == pixel["sponsor_id"]
    events = events_of(database, pixel)
    assert [(e["event"], e["value_cents"], e["order_id"]) for e in events] == [("purchase", 4999, "A-1001")] * 2
    assert {e["conversion_id"] for e in events} == {conversion["id"]}
    assert source_row(database, pixel)["events_received"] == 2


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("text/plain;charset=UTF-8", json.dumps),  # what sendBeacon sends for a string
        ("application/json", json.dumps),
        ("text/plain;charset=UTF-8", urlencode),
    ],
    ids=["json-as-text", "json", "form-text"],
)
def test_a_beacon_purchase_keeps_the_landing_page_of_the_visit(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any], content_type: str, encode: Any
) -> None:
    landing = "https://shop.example.com/?utm_source=podcast&utm_medium=audio&utm_content=brew"
    fields = {
        "s": pixel["token"],
        "e": "purchase",
        "v": "19.995",
        "c": "EUR",
        "o": f"B-{uuid.uuid4().hex[:6]}",
        "u": "https://shop.example.com/thanks",
        "l": landing,
        "r": "https://shop.example.com/cart",
    }
    assert_beacon(shop.post("/px", content=encode(fields), headers={"Content-Type": content_type}))
    [conversion] = conversions_of(database, pixel)
    assert (conversion["value_cents"], conversion["currency"], conversion["order_id"]) == (2000, "EUR", fields["o"])
    assert conversion["landing_url"] == landing
    assert conversion["utm"] == {"utm_source": "podcast", "utm_medium": "audio", "utm_content": "brew"}
    assert conversion["referrer"] == "https://shop.example.com/cart"
    [event] = events_of(database, pixel)
    assert (event["page_url"], event["conversion_id"]) == ("https://shop.example.com/thanks", conversion["id"])


def test_a_lead_without_an_order_is_a_lead_conversion_each_time(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]
) -> None:
    body = json.dumps({"s": pixel["token"], "e": "lead"})
    assert_beacon(shop.post("/px", content=body))
    assert_beacon(shop.post("/px", content=body))
    stored = conversions_of(database, pixel)
    assert [(c["kind"], c["order_id"], c["value_cents"]) for c in stored] == [("lead", None, None)] * 2


def test_a_purchase_with_a_bad_value_is_kept_as_an_event_without_it_and_shows_as_a_failure(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]
) -> None:
    assert_gif(shop.get("/px", params={"s": pixel["token"], "e": "purchase", "v": "49,99 €", "c": "EUR", "o": "C-1"}))
    [event] = events_of(database, pixel)
    assert (event["event"], event["value_cents"], event["currency"], event["conversion_id"]) == (
        "purchase",
        None,
        "EUR",
        None,
    )
    assert conversions_of(database, pixel) == []
    health = source_row(database, pixel)
    assert (health["events_received"], health["signature_failures"]) == (1, 0)
    assert health["last_failure_reason"].startswith("pixel purchase kept without a conversion: v='49,99 €'")
    assert "not a number" in health["last_failure_reason"]
    assert health["last_failure_at"] is not None


def test_a_purchase_with_an_amount_but_no_currency_is_not_a_conversion(
    shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]
) -> None:
    assert_gif(shop.get("/px", params={"s": pixel["token"], "e": "purchase", "v": "12.00", "o": "D-1"}))
    [event] = events_of(database, pixel)
    assert (event["value_cents"], event["currency"], event["conversion_id"]) == (1200, None, None)
    assert conversions_of(database, pixel) == []
    assert "c: required with a value" in source_row(database, pixel)["last_failure_reason"]


def test_every_field_has_a_size_limit(shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any]) -> None:
    long_page = "https://shop.example.com/" + "p" * 5000
    params = {"s": pixel["token"], "e": "purchase", "v": "1" * 40, "c": "USD", "o": "o" * 201, "u": long_page}
    params["r"] = "https://r.example/" + "r" * 3000
    assert_gif(shop.get("/px", params=params))
    [event] = events_of(database, pixel)
    assert (event["value_cents"], event["order_id"], event["conversion_id"]) == (None, None, None)
    assert (len(event["page_url"]), len(event["referrer"])) == (4096, 2048)
    reason = source_row(database, pixel)["last_failure_reason"]
    assert f"v='{'1' * 40}': longer than 32 characters" in reason  # the value shown cut to 40
    assert f"o='{'o' * 40}': longer than 200 characters" in reason
    # A NUL (which PostgreSQL text cannot hold) is dropped, not a reason to lose the event.
    assert_gif(shop.get("/px", params={"s": pixel["token"], "e": "view", "u": "https://shop.example.com/a\x00b"}))
    assert events_of(database, pixel)[-1]["page_url"] == "https://shop.example.com/ab"
    # A beacon body past 16 KB is not read at all.
    oversized = json.dumps({"s": pixel["token"], "e": "view", "u": "x" * 17_000})
    assert_beacon(shop.post("/px", content=oversized))
    assert len(events_of(database, pixel)) == 2


def test_anything_that_is_not_an_active_pixel_still_answers_and_keeps_nothing(
    shop: httpx.Client, database: DatabaseUrls, network: Tenant
) -> None:
    with network.client() as api:
        sponsor = add_sponsor(api)
        paused = add_source(api, sponsor, "pixel")
        assert api.patch(f"/api/v1/conversion-sources/{paused['id']}", json={"active": False}).status_code == 200
        store = add_source(api, sponsor, "shopify", secret="shpss_" + "ab" * 20)
        api_source = add_source(api, sponsor, "api")
    before = all_events(database)
    tokens = [
        "A" * 32,  # well formed, unknown
        "not-a-token",
        "",
        paused["token"],
        store["token"],
        api_source["token"],
    ]
    for token in tokens:
        assert_gif(shop.get("/px", params={"s": token, "e": "purchase", "v": "10", "c": "USD", "o": "X-1"}))
        assert_beacon(shop.post("/px", content=json.dumps({"s": token, "e": "lead"})))
    assert_gif(shop.get("/px", params={"s": paused["token"], "e": "signup"}))  # not an event of the pixel
    assert_beacon(shop.post("/px", content=b"\xff\xfe not text"))
    assert_beacon(shop.post("/px", content=b'["s", "e"]'))
    assert all_events(database) == before
    for source in (paused, store, api_source):
        assert conversions_of(database, source) == []
        assert source_row(database, source)["events_received"] == 0


def test_a_workspace_with_attribution_off_keeps_nothing(
    shop: httpx.Client, database: DatabaseUrls, server: str
) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api:
        source = add_source(api, add_sponsor(api), "pixel")
        assert api.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": False}).status_code == 200
    assert_gif(shop.get("/px", params={"s": source["token"], "e": "purchase", "v": "5", "c": "USD", "o": "Z"}))
    assert events_of(database, source) == []
    assert conversions_of(database, source) == []


@pytest.mark.parametrize("user_agent", [BOT, ""], ids=["googlebot", "no-user-agent"])
def test_bots_leave_nothing(shop: httpx.Client, database: DatabaseUrls, pixel: dict[str, Any], user_agent: str) -> None:
    headers = {"User-Agent": user_agent}
    assert_gif(shop.get("/px", params={"s": pixel["token"], "e": "purchase", "v": "5", "c": "USD"}, headers=headers))
    assert_beacon(shop.post("/px", content=json.dumps({"s": pixel["token"], "e": "view"}), headers=headers))
    assert events_of(database, pixel) == []
    assert conversions_of(database, pixel) == []
    assert source_row(database, pixel)["events_received"] == 0


def test_the_beacon_preflight_and_the_script_are_open_to_any_site(shop: httpx.Client) -> None:
    preflight = shop.options(
        "/px",
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    script = shop.get("/px.js", params={"s": "A" * 32})
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "public, max-age=86400"
    assert "sendBeacon" in script.text and "w.podsponsor = function" in script.text
    assert "set-cookie" not in script.headers


# The snippet in a real browser, on the advertiser's own origin.


class ShopSite:
    """The advertiser's site: pages a test sets, on an origin of their own (`localhost`, not the app's address)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://localhost:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def shop_site() -> Iterator[ShopSite]:
    site = ShopSite()
    yield site
    site.stop()


def wait_for(read: Any, count: int) -> list[dict[str, Any]]:
    """Beacons are sent in the background: the rows they make, once there are `count` of them."""
    deadline = time.monotonic() + 10
    while True:
        rows: list[dict[str, Any]] = read()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


@pytest.mark.browser
async def test_the_snippet_sends_views_and_a_purchase_from_another_site(
    server: str,
    network: Tenant,
    database: DatabaseUrls,
    shop_site: ShopSite,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    with network.client() as api:
        source = add_source(api, add_sponsor(api), "pixel")
    tag = snippet(server, source["token"])
    head = '<!doctype html><link rel="icon" href="data:,">'
    shop_site.pages["/"] = f'{head}<title>Shop</title><h1>Mattresses</h1><a href="/thanks">Buy</a>{tag}'
    purchase = "<script>podsponsor('purchase', {value: '349.00', currency: 'USD', order_id: 'W-77'});</script>"
    # The call runs before the async script has loaded: it is queued, then sent.
    shop_site.pages["/thanks"] = f"{head}<title>Thanks</title><h1>Thank you</h1>{tag}{purchase}"
    landing = f"{shop_site.base}/?utm_source=podcast&utm_campaign=IO-2026-0042"
    await page.goto(landing)
    await page.get_by_role("link", name="Buy").click()
    await page.wait_for_url(f"{shop_site.base}/thanks")
    events = wait_for(lambda: events_of(database, source), 3)
    assert sorted(e["event"] for e in events) == ["purchase", "view", "view"]
    [conversion] = wait_for(lambda: conversions_of(database, source), 1)
    assert (conversion["order_id"], conversion["value_cents"], conversion["currency"]) == ("W-77", 34900, "USD")
    assert conversion["landing_url"] == landing
    assert conversion["utm"] == {"utm_source": "podcast", "utm_campaign": "IO-2026-0042"}
    assert conversion["referrer"] == landing  # the page that led to the confirmation
    assert {e["page_url"] for e in events} == {landing, f"{shop_site.base}/thanks"}
    assert problems == []


def test_the_snippet_escapes_its_address() -> None:
    made = snippet('https://pod.example/"><script>', "T" * 32)
    assert '"><script>' not in made
    assert 'src="https://pod.example/&quot;&gt;&lt;script&gt;/px.js?s=' + "T" * 32 + '"' in made
