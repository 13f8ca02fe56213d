"""Shop webhooks over real HTTP: Shopify, WooCommerce and Stripe deliveries signed the way each platform documents it
over the shared sample payloads; what is stored (once), what is refused (with nothing stored), and the source's health.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from podsponsor.attribution.models import Conversion, ConversionDelivery, ConversionSource
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from tests.attribution.world import (
    IPHONE,
    SHOPIFY_ORDER,
    SHOPIFY_ORDERS,
    SHOPPER_IP,
    WOO_ORDER,
    add_source,
    add_sponsor,
    as_owner,
    conversions,
    deliveries,
    dumps,
    hook_path,
    keyed,
    shopify_headers,
    source_row,
    stripe_checkout_completed,
    stripe_headers,
    woocommerce_headers,
)
from tests.factories.identity import Tenant, make_tenant

SHOPIFY_SECRET = "shpss_" + "5f" * 29
STRIPE_SECRET = "whsec_" + "Xq7" * 11
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def shop(server: str) -> Tenant:
    return make_tenant(server, name="Conversions Network")


@pytest.fixture(scope="module")
def rival(server: str) -> Tenant:
    return make_tenant(server, name="Rival Network")


@pytest.fixture
def anon(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def source_of(tenant: Tenant, kind: str, **fields: Any) -> dict[str, Any]:
    with tenant.client() as api:
        return add_source(api, add_sponsor(api), kind, **fields)


def shopify_order(**changes: Any) -> dict[str, Any]:
    """The bare order object, as Shopify's orders/create sends it (the sample file wraps it in {"order": …})."""
    order = json.loads(SHOPIFY_ORDER.read_text())["order"]
    order.update(changes)
    return dict(order)


def woo_order(**changes: Any) -> dict[str, Any]:
    order = json.loads(WOO_ORDER.read_text())
    order.update(changes)
    return dict(order)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return dict(response.json())


# Shopify


def test_a_signed_shopify_sample_order_becomes_one_conversion(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = SHOPIFY_ORDER.read_bytes()  # the file as it is, signed over its exact bytes
    response = anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body))
    assert response.status_code == 201, response.text
    [stored] = conversions(database, source)
    assert response.json() == {"status": "stored", "conversion_id": str(stored["id"])}
    assert (stored["order_id"], stored["value_cents"], stored["currency"]) == ("450789469", 40994, "USD")
    assert stored["promo_codes"] == ["TENOFF"]
    assert stored["landing_url"] == "http://www.example.com?source=abc"
    assert stored["utm"] == {}
    assert stored["referrer"] == "http://www.otherexample.com"
    assert stored["occurred_at"] == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    # The sample's address is the placeholder 0.0.0.0: no household is made of it. The billing country stands in.
    assert (stored["ip_hash"], stored["ua_hash"], stored["ua_family"], stored["country"]) == (None, None, None, "US")
    assert (str(stored["tenant_id"]), str(stored["sponsor_id"])) == (shop.id, source["sponsor_id"])
    [delivery] = deliveries(database, source)
    assert (delivery["outcome"], delivery["conversion_id"], delivery["topic"]) == (
        "stored",
        stored["id"],
        "orders/create",
    )
    health = source_row(database, source)
    assert (health["events_received"], health["signature_failures"]) == (1, 0)
    assert health["last_event_at"] is not None


def test_a_shopify_order_keeps_its_landing_utm_and_only_hashes_of_the_shopper(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    landing = "/products/mattress?utm_source=podcast&utm_medium=audio&utm_campaign=IO-2026-0042&utm_content=acme&ref=x"
    order = shopify_order(
        landing_site=landing,
        browser_ip=SHOPPER_IP,
        client_details={"browser_ip": SHOPPER_IP, "user_agent": IPHONE},
        discount_codes=[{"code": "tenoff", "amount": "10.00"}, {"code": " TenOff ", "amount": "0.00"}],
        total_price="19.995",
    )
    body = dumps(order)
    assert anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)).status_code == 201
    [stored] = conversions(database, source)
    assert stored["utm"] == {
        "utm_source": "podcast",
        "utm_medium": "audio",
        "utm_campaign": "IO-2026-0042",
        "utm_content": "acme",
    }
    assert stored["landing_url"] == landing
    assert stored["value_cents"] == 2000  # 19.995 rounded half up, exactly
    assert stored["promo_codes"] == ["TENOFF"]
    assert (stored["ip_hash"], stored["ua_hash"]) == (keyed(SHOPPER_IP), keyed(IPHONE))
    assert (stored["ua_family"], stored["country"]) == ("iOS", "GB")
    assert SHOPPER_IP not in " ".join(str(value) for value in stored.values())


def test_an_order_without_discount_codes_has_none(anon: httpx.Client, database: DatabaseUrls, shop: Tenant) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(json.loads(SHOPIFY_ORDERS.read_text())["orders"][0])
    assert anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)).status_code == 201
    [stored] = conversions(database, source)
    assert (stored["value_cents"], stored["promo_codes"]) == (59894, [])


def test_a_bad_or_missing_signature_is_401_stores_nothing_and_is_counted(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order())
    signed = shopify_headers(SHOPIFY_SECRET, body)
    missing = {k: v for k, v in signed.items() if k != "X-Shopify-Hmac-Sha256"}
    attempts = [
        (body, shopify_headers("not-the-secret", body)),  # signed with another secret
        (body, missing),
        (body.replace(b"409.94", b"0.01"), signed),  # the body changed after signing
        (body, {**signed, "X-Shopify-Hmac-Sha256": signed["X-Shopify-Hmac-Sha256"].lower()}),
    ]
    for content, headers in attempts:
        problem = assert_problem(anon.post(hook_path(source), content=content, headers=headers), 401)
        assert problem["type"].endswith("/webhook-signature-invalid")
    assert conversions(database, source) == []
    assert deliveries(database, source) == []
    health = source_row(database, source)
    assert (health["signature_failures"], health["events_received"], health["last_event_at"]) == (4, 0, None)
    assert health["last_failure_at"] is not None
    assert "X-Shopify-Hmac-Sha256" in health["last_failure_reason"]
    # The failures counted did not make the source look changed.
    assert health["updated_at"] == health["created_at"]


def test_a_repeated_delivery_takes_effect_once(anon: httpx.Client, database: DatabaseUrls, shop: Tenant) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order())
    headers = shopify_headers(SHOPIFY_SECRET, body)
    first = anon.post(hook_path(source), content=body, headers=headers)
    again = anon.post(hook_path(source), content=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"status": "duplicate"}
    assert len(conversions(database, source)) == 1
    assert len(deliveries(database, source)) == 1
    assert source_row(database, source)["events_received"] == 2


async def _post_at_once(server: str, path: str, requests: list[tuple[bytes, dict[str, str]]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        return list(await asyncio.gather(*(client.post(path, content=b, headers=h) for b, h in requests)))


async def test_ten_concurrent_copies_of_one_delivery_store_one_conversion(
    server: str, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order(id=int(time.time() * 1000)))
    headers = shopify_headers(SHOPIFY_SECRET, body)
    responses = await _post_at_once(server, hook_path(source), [(body, headers)] * 10)
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert sorted(r.json()["status"] for r in responses) == ["duplicate"] * 9 + ["stored"]
    assert len(conversions(database, source)) == 1
    assert len(deliveries(database, source)) == 1
    assert source_row(database, source)["events_received"] == 10


async def test_ten_concurrent_events_announcing_one_order_store_one_conversion(
    server: str, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order())
    requests = [(body, shopify_headers(SHOPIFY_SECRET, body)) for _ in range(10)]  # a webhook id each
    responses = await _post_at_once(server, hook_path(source), requests)
    assert sorted(r.json()["status"] for r in responses) == ["duplicate_order"] * 9 + ["stored"]
    [stored] = conversions(database, source)
    assert {r.json()["conversion_id"] for r in responses} == {str(stored["id"])}
    assert sorted(d["outcome"] for d in deliveries(database, source)) == ["duplicate_order"] * 9 + ["stored"]


def test_the_same_order_from_two_events_is_one_conversion(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order())
    created = anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body))
    paid = anon.post(
        hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body, topic="orders/paid")
    )
    assert (created.status_code, paid.status_code) == (201, 200)
    assert paid.json() == {"status": "duplicate_order", "conversion_id": created.json()["conversion_id"]}
    assert len(conversions(database, source)) == 1
    assert [(d["topic"], d["outcome"]) for d in deliveries(database, source)] == [
        ("orders/create", "stored"),
        ("orders/paid", "duplicate_order"),
    ]


def test_a_topic_that_is_not_an_order_is_acknowledged_and_ignored(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps({"id": 632910392, "title": "IPod Nano - 8GB"})
    response = anon.post(
        hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body, topic="products/create")
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "topic products/create does not announce a purchase"}
    assert conversions(database, source) == []
    assert [d["outcome"] for d in deliveries(database, source)] == ["ignored"]


def test_a_signed_payload_that_cannot_be_read_is_422_naming_the_field_and_can_be_retried(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    cases = [
        (b"<order/>", "body"),
        (dumps([1, 2]), "body"),
        (dumps(shopify_order(total_price="-10.00")), "total_price"),
        (dumps(shopify_order(total_price="NaN")), "total_price"),
        (dumps(shopify_order(currency="US Dollar")), "currency"),
        (dumps(shopify_order(id=None)), "id"),
        (dumps(shopify_order(created_at="last Tuesday")), "created_at"),
        (dumps(shopify_order(discount_codes="TENOFF")), "discount_codes"),
    ]
    webhook_id = str(uuid.uuid4())
    for body, field in cases:
        response = anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body, webhook_id))
        problem = assert_problem(response, 422)
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert conversions(database, source) == []
    assert deliveries(database, source) == []
    health = source_row(database, source)
    assert (health["signature_failures"], health["events_received"]) == (0, 0)
    assert "discount_codes" in health["last_failure_reason"]
    # The platform retries the same event; once the payload reads, it is taken in.
    body = dumps(shopify_order())
    response = anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body, webhook_id))
    assert response.status_code == 201
    no_id = {k: v for k, v in shopify_headers(SHOPIFY_SECRET, body).items() if k != "X-Shopify-Webhook-Id"}
    problem = assert_problem(anon.post(hook_path(source), content=body, headers=no_id), 422)
    assert [e["field"] for e in problem["errors"]] == ["X-Shopify-Webhook-Id"]


def test_unknown_inactive_and_other_kind_endpoints_are_404_and_store_nothing(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order())
    headers = shopify_headers(SHOPIFY_SECRET, body)
    for path in (
        "/hooks/shopify/" + "A" * 32,
        "/hooks/shopify/short",
        f"/hooks/stripe/{source['token']}",
        f"/hooks/woocommerce/{source['token']}",
    ):
        problem = assert_problem(anon.post(path, content=body, headers=headers), 404)
        assert "Conversions Network" not in json.dumps(problem)
    with shop.client() as api:
        assert api.patch(f"/api/v1/conversion-sources/{source['id']}", json={"active": False}).status_code == 200
        assert_problem(anon.post(hook_path(source), content=body, headers=headers), 404)
        assert api.patch(f"/api/v1/conversion-sources/{source['id']}", json={"active": True}).status_code == 200
    assert conversions(database, source) == []
    assert source_row(database, source)["signature_failures"] == 0
    assert anon.post(hook_path(source), content=body, headers=headers).status_code == 201


def test_a_body_over_one_megabyte_is_413(anon: httpx.Client, database: DatabaseUrls, shop: Tenant) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order(note="x" * (1024 * 1024)))
    assert_problem(anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)), 413)
    assert conversions(database, source) == []


def test_a_source_without_a_secret_refuses_every_delivery(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify")
    assert source["secret"] == {"set": False, "value": None}
    body = dumps(shopify_order())
    problem = assert_problem(anon.post(hook_path(source), content=body, headers=shopify_headers("", body)), 401)
    assert "no secret" in problem["detail"]
    assert source_row(database, source)["signature_failures"] == 1


def test_a_secret_this_deployment_cannot_read_refuses_deliveries_and_says_why(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    # As if written under another SECRET_KEY: a Fernet token this deployment's key does not open.
    foreign = "gAAAAABnXk" + "A" * 90
    as_owner(database, "UPDATE conversion_sources SET secret_encrypted = %s WHERE id = %s", foreign, source["id"])
    body = dumps(shopify_order())
    problem = assert_problem(
        anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)), 401
    )
    assert "SECRET_KEY" in problem["detail"]
    assert conversions(database, source) == []
    assert "SECRET_KEY" in source_row(database, source)["last_failure_reason"]


# WooCommerce


def test_a_signed_woocommerce_sample_order_becomes_one_conversion(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "woocommerce")
    secret = source["secret"]["value"]
    body = WOO_ORDER.read_bytes()
    response = anon.post(hook_path(source), content=body, headers=woocommerce_headers(secret, body))
    assert response.status_code == 201, response.text
    [stored] = conversions(database, source)
    assert (stored["order_id"], stored["value_cents"], stored["currency"], stored["promo_codes"]) == (
        "727",
        2935,
        "USD",
        [],
    )
    assert stored["occurred_at"] == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)  # date_created_gmt, read as UTC
    assert (stored["ip_hash"], stored["ua_hash"], stored["country"]) == (None, None, "US")


def test_a_woocommerce_order_with_a_coupon_and_order_attribution(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "woocommerce")
    secret = source["secret"]["value"]
    android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
    order = woo_order(
        coupon_lines=[{"id": 1, "code": "tenoff", "discount": "10.00", "discount_tax": "0.00", "meta_data": []}],
        customer_ip_address=SHOPPER_IP,
        customer_user_agent=android,
        meta_data=[
            {
                "id": 1,
                "key": "_wc_order_attribution_session_entry",
                "value": "https://shop.example.com/?utm_source=podcast",
            },
            {"id": 2, "key": "_wc_order_attribution_utm_campaign", "value": "IO-2026-0042"},
            {"id": 3, "key": "_wc_order_attribution_utm_source", "value": "newsletter"},
            {"id": 4, "key": "_wc_order_attribution_referrer", "value": "https://podcasts.example/ep-12"},
        ],
    )
    body = dumps(order)
    assert anon.post(hook_path(source), content=body, headers=woocommerce_headers(secret, body)).status_code == 201
    [stored] = conversions(database, source)
    assert stored["promo_codes"] == ["TENOFF"]
    assert stored["landing_url"] == "https://shop.example.com/?utm_source=podcast"
    # The landing URL's own tag wins over the same tag in the order meta.
    assert stored["utm"] == {"utm_source": "podcast", "utm_campaign": "IO-2026-0042"}
    assert stored["referrer"] == "https://podcasts.example/ep-12"
    assert (stored["ip_hash"], stored["ua_family"], stored["country"]) == (keyed(SHOPPER_IP), "Android", "GB")


def test_the_woocommerce_ping_is_200_and_stores_nothing(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "woocommerce")
    ping = anon.post(
        hook_path(source),
        content=b"webhook_id=31",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce/8.9.1 Hookshot"},
    )
    assert ping.status_code == 200
    assert ping.json() == {"status": "ping"}
    assert conversions(database, source) == deliveries(database, source) == []
    health = source_row(database, source)
    assert (health["events_received"], health["signature_failures"]) == (0, 0)
    # Anything else unsigned is refused.
    unsigned = anon.post(hook_path(source), content=dumps(woo_order()), headers={"Content-Type": "application/json"})
    assert_problem(unsigned, 401)
    assert_problem(anon.post(f"/hooks/woocommerce/{'B' * 32}", content=b"webhook_id=31"), 404)


def test_an_unpaid_woocommerce_order_waits_for_the_update_that_makes_it_a_purchase(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "woocommerce")
    secret = source["secret"]["value"]
    pending = dumps(woo_order(status="pending"))
    response = anon.post(hook_path(source), content=pending, headers=woocommerce_headers(secret, pending))
    assert response.json() == {"status": "ignored", "reason": "order status pending is not a purchase"}
    assert conversions(database, source) == []
    paid = dumps(woo_order(status="processing"))
    updated = anon.post(
        hook_path(source), content=paid, headers=woocommerce_headers(secret, paid, topic="order.updated")
    )
    assert updated.status_code == 201
    assert len(conversions(database, source)) == 1


# Stripe


def test_a_signed_stripe_checkout_becomes_one_conversion(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "stripe", secret=STRIPE_SECRET)
    event = stripe_checkout_completed(
        amount_total=4999,
        discounts=[{"coupon": None, "promotion_code": {"id": "promo_1", "object": "promotion_code", "code": "tenoff"}}],
        metadata={"promo_code": "SPRING, tenoff", "landing_url": "https://shop.example.com/?utm_source=podcast"},
    )
    body = dumps(event)
    response = anon.post(hook_path(source), content=body, headers=stripe_headers(STRIPE_SECRET, body))
    assert response.status_code == 201, response.text
    [stored] = conversions(database, source)
    checkout = event["data"]["object"]
    assert (stored["order_id"], stored["value_cents"], stored["currency"]) == (checkout["id"], 4999, "USD")
    assert stored["promo_codes"] == ["TENOFF", "SPRING"]
    assert stored["utm"] == {"utm_source": "podcast"}
    assert stored["occurred_at"] == datetime.fromtimestamp(event["created"], UTC)
    assert stored["country"] == "GB"  # the customer's address: a checkout carries no client address
    [delivery] = deliveries(database, source)
    assert (delivery["event_id"], delivery["topic"]) == (event["id"], "checkout.session.completed")


@pytest.mark.parametrize(
    ("currency", "amount_total", "cents"),
    [("jpy", 5000, 500000), ("kwd", 1235, 124), ("eur", 1, 1), ("usd", 0, 0)],
)
def test_stripe_amounts_are_minor_units_of_their_currency(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant, currency: str, amount_total: int, cents: int
) -> None:
    source = source_of(shop, "stripe", secret=STRIPE_SECRET)
    body = dumps(stripe_checkout_completed(amount_total=amount_total, currency=currency))
    assert anon.post(hook_path(source), content=body, headers=stripe_headers(STRIPE_SECRET, body)).status_code == 201
    [stored] = conversions(database, source)
    assert (stored["value_cents"], stored["currency"]) == (cents, currency.upper())


def test_a_stripe_signature_more_than_300_seconds_off_is_401(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "stripe", secret=STRIPE_SECRET)
    body = dumps(stripe_checkout_completed())
    now = int(time.time())
    for at in (now - 330, now + 330):
        problem = assert_problem(
            anon.post(hook_path(source), content=body, headers=stripe_headers(STRIPE_SECRET, body, at=at)), 401
        )
        assert "timestamp" in problem["detail"]
    for header in ("", f"t={now}", f"t={now},v0=abc", f"v1={'0' * 64}", f"t=soon,v1={'0' * 64}"):
        assert_problem(anon.post(hook_path(source), content=body, headers={"Stripe-Signature": header}), 401)
    assert conversions(database, source) == []
    assert source_row(database, source)["signature_failures"] == 7
    # Within the tolerance, and with a second, stale v1 beside the right one (a secret being rolled): accepted.
    rolled = stripe_headers(STRIPE_SECRET, body, at=now - 240, extra=(f"v1={'ab' * 32}",))
    assert anon.post(hook_path(source), content=body, headers=rolled).status_code == 201


def test_other_stripe_events_are_acknowledged_and_ignored(
    anon: httpx.Client, database: DatabaseUrls, shop: Tenant
) -> None:
    source = source_of(shop, "stripe", secret=STRIPE_SECRET)
    event = {**stripe_checkout_completed(), "type": "payment_intent.succeeded"}
    body = dumps(event)
    response = anon.post(hook_path(source), content=body, headers=stripe_headers(STRIPE_SECRET, body))
    assert response.json() == {
        "status": "ignored",
        "reason": "event type payment_intent.succeeded does not announce a purchase",
    }
    again = anon.post(hook_path(source), content=body, headers=stripe_headers(STRIPE_SECRET, body))
    assert again.json() == {"status": "duplicate"}
    assert conversions(database, source) == []
    assert [(d["event_id"], d["outcome"]) for d in deliveries(database, source)] == [(event["id"], "ignored")]


def test_a_repeated_stripe_event_takes_effect_once(anon: httpx.Client, database: DatabaseUrls, shop: Tenant) -> None:
    source = source_of(shop, "stripe", secret=STRIPE_SECRET)
    body = dumps(stripe_checkout_completed())
    statuses = [
        anon.post(hook_path(source), content=body, headers=stripe_headers(STRIPE_SECRET, body)).json()["status"]
        for _ in range(3)
    ]
    assert statuses == ["stored", "duplicate", "duplicate"]
    assert len(conversions(database, source)) == 1


# Workspaces, secrets, the flag


@pytest.fixture(scope="module")
def two_shops(server: str, shop: Tenant, rival: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    """A source in each workspace, each with one order taken in."""
    sources = (source_of(shop, "shopify", secret=SHOPIFY_SECRET), source_of(rival, "shopify", secret=SHOPIFY_SECRET))
    body = dumps(shopify_order())
    with httpx.Client(base_url=server, timeout=30) as client:
        for source in sources:
            response = client.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body))
            assert response.status_code == 201, response.text
    return sources


async def test_one_workspace_sees_nothing_of_anothers_sources_deliveries_or_conversions(
    db: Database, shop: Tenant, rival: Tenant, two_shops: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    source_id = uuid.UUID(two_shops[0]["id"])
    async with tenant_transaction(uuid.UUID(shop.id)) as session:
        own = (await session.scalars(select(Conversion).where(Conversion.source_id == source_id))).all()
    async with tenant_transaction(uuid.UUID(rival.id)) as session:
        theirs = (await session.scalars(select(Conversion).where(Conversion.source_id == source_id))).all()
        visible_tenants = {
            *(await session.scalars(select(Conversion.tenant_id))).all(),
            *(await session.scalars(select(ConversionSource.tenant_id))).all(),
            *(await session.scalars(select(ConversionDelivery.tenant_id))).all(),
        }
    assert len(own) == 1
    assert theirs == []
    assert visible_tenants == {uuid.UUID(rival.id)}


def test_one_workspace_cannot_reach_anothers_sources_over_the_api(
    database: DatabaseUrls, rival: Tenant, two_shops: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    theirs, own = two_shops
    with rival.client() as api:
        assert_problem(api.get(f"/api/v1/conversion-sources/{theirs['id']}"), 404)
        assert_problem(api.patch(f"/api/v1/conversion-sources/{theirs['id']}", json={"active": False}), 404)
        assert_problem(api.post(f"/api/v1/conversion-sources/{theirs['id']}/rotate-secret"), 404)
        assert_problem(api.delete(f"/api/v1/conversion-sources/{theirs['id']}"), 404)
        listed = {s["id"] for s in api.get("/api/v1/conversion-sources", params={"limit": 200}).json()["items"]}
    assert own["id"] in listed and theirs["id"] not in listed
    # Each token reached its own workspace's source: one conversion each, in its own workspace.
    assert [str(c["tenant_id"]) for c in conversions(database, own)] == [rival.id]
    assert [c["source_id"] for c in conversions(database, theirs)] == [uuid.UUID(theirs["id"])]
    assert source_row(database, theirs)["active"] is True


def test_webhooks_of_a_workspace_with_attribution_off_are_404(
    anon: httpx.Client, database: DatabaseUrls, server: str
) -> None:
    tenant = make_tenant(server)
    source = source_of(tenant, "shopify", secret=SHOPIFY_SECRET)
    body = dumps(shopify_order())
    with tenant.client() as owner:
        assert owner.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": False}).status_code == 200
        try:
            assert_problem(
                anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)), 404
            )
            assert_problem(owner.get("/api/v1/conversion-sources"), 404)
        finally:
            owner.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": None})
    assert conversions(database, source) == []
    assert anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)).status_code == 201


def test_a_rotated_secret_replaces_the_old_one(anon: httpx.Client, database: DatabaseUrls, shop: Tenant) -> None:
    source = source_of(shop, "woocommerce")
    old = source["secret"]["value"]
    with shop.client() as api:
        rotated = api.post(f"/api/v1/conversion-sources/{source['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]["value"]
    assert new and new != old
    body = dumps(woo_order())
    assert_problem(anon.post(hook_path(source), content=body, headers=woocommerce_headers(old, body)), 401)
    assert anon.post(hook_path(source), content=body, headers=woocommerce_headers(new, body)).status_code == 201


def test_the_signature_covers_the_raw_bytes_as_sent(anon: httpx.Client, database: DatabaseUrls, shop: Tenant) -> None:
    """The signature covers the raw bytes: the same order written differently is verified as sent."""
    source = source_of(shop, "shopify", secret=SHOPIFY_SECRET)
    order = shopify_order()
    body = json.dumps(dict(reversed(list(order.items()))), indent=2).encode()
    assert anon.post(hook_path(source), content=body, headers=shopify_headers(SHOPIFY_SECRET, body)).status_code == 201
    assert conversions(database, source)[0]["order_id"] == "450789469"
    tampered = copy.deepcopy(order)
    tampered["total_price"] = "1.00"
    assert_problem(
        anon.post(hook_path(source), content=dumps(tampered), headers=shopify_headers(SHOPIFY_SECRET, body)), 401
    )
