"""Conversion sources made through the API, webhook bodies signed the way each platform documents it, and reads of
what was stored (as the owner role, past row-level security)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.conftest import TEST_SECRET

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "webhooks"
SHOPIFY_ORDER = SAMPLES / "shopify" / "order.json"
SHOPIFY_ORDERS = SAMPLES / "shopify" / "orders.json"
WOO_ORDER = SAMPLES / "woocommerce" / "order_v3_retrieve_example.json"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1"
SHOPPER_IP = "81.2.69.160"  # a public address the registry data places in GB


def keyed(value: str) -> str:
    """The product's keyed hash, computed here from its documented definition (HMAC-SHA-256 under SECRET_KEY)."""
    return hmac.new(TEST_SECRET.encode(), value.encode(), hashlib.sha256).hexdigest()


def add_sponsor(api: httpx.Client) -> str:
    response = api.post("/api/v1/sponsors", json={"name": f"Shop {uuid.uuid4().hex[:8]}", "industry": "retail"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def add_source(api: httpx.Client, sponsor_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    body = {"sponsor_id": sponsor_id, "kind": kind, "name": f"{kind} {uuid.uuid4().hex[:6]}", **fields}
    response = api.post("/api/v1/conversion-sources", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def hook_path(source: dict[str, Any]) -> str:
    return f"/hooks/{source['kind']}/{source['token']}"


def shopify_headers(
    secret: str, body: bytes, webhook_id: str | None = None, topic: str = "orders/create"
) -> dict[str, str]:
    """Shopify: X-Shopify-Hmac-Sha256 = base64 of the HMAC-SHA256 digest of the raw body under the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-API-Version": "2024-07",
    }


def woocommerce_headers(
    secret: str, body: bytes, delivery_id: str | None = None, topic: str = "order.created"
) -> dict[str, str]:
    """WooCommerce: X-WC-Webhook-Signature = base64 of the HMAC-SHA256 digest of the payload under the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-WC-Webhook-ID": "31",
        "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
    }


def stripe_headers(secret: str, body: bytes, at: int | None = None, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the whsec_ secret>`."""
    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "Stripe-Signature": ",".join((f"t={timestamp}", *extra, f"v1={signature}")),
    }


def stripe_checkout_completed(
    *,
    session_id: str | None = None,
    event_id: str | None = None,
    amount_total: int = 4999,
    currency: str = "usd",
    **session: Any,
) -> dict[str, Any]:
    """A `checkout.session.completed` event in the shape Stripe documents (API version 2024-06-20)."""
    created = int(time.time()) - 5
    checkout = {
        "id": session_id or f"cs_test_{uuid.uuid4().hex}",
        "object": "checkout.session",
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "client_reference_id": None,
        "created": created - 120,
        "currency": currency,
        "customer": None,
        "customer_details": {
            "address": {"city": "Leeds", "country": "GB", "line1": None, "postal_code": "LS1", "state": None},
            "email": "shopper@example.com",
            "name": "Sam Shopper",
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "discounts": [],
        "livemode": False,
        "metadata": {},
        "mode": "payment",
        "payment_status": "paid",
        "status": "complete",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        **session,
    }
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {"object": checkout},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
    }


def as_owner(database: DatabaseUrls, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(libpq_conninfo(database.owner), row_factory=dict_row) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def conversions(database: DatabaseUrls, source: dict[str, Any]) -> list[dict[str, Any]]:
    return as_owner(database, "SELECT * FROM conversions WHERE source_id = %s ORDER BY created_at", source["id"])


def deliveries(database: DatabaseUrls, source: dict[str, Any]) -> list[dict[str, Any]]:
    return as_owner(
        database, "SELECT * FROM conversion_deliveries WHERE source_id = %s ORDER BY received_at", source["id"]
    )


def source_row(database: DatabaseUrls, source: dict[str, Any]) -> dict[str, Any]:
    [row] = as_owner(database, "SELECT * FROM conversion_sources WHERE id = %s", source["id"])
    return row


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()
