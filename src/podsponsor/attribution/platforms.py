"""What each platform's webhook says, read as documented: its event id, its topic, and the conversion it announces.

Called only for a delivery whose signature was verified. Anything that cannot be read is a `PayloadInvalid` naming
the platform's own field (or header); an event that is not a purchase is a `PlatformEvent` without a conversion and
with the reason it was ignored. Amounts are read as exact decimals (JSON numbers included); Stripe's are in the
currency's minor units and are scaled by that currency's exponent as Stripe defines it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs

from podsponsor.attribution.exceptions import PayloadInvalid
from podsponsor.attribution.schemas import ConversionData, PlatformEvent

SHOPIFY_ORDER_TOPICS: Final = ("orders/create", "orders/paid")
WOOCOMMERCE_ORDER_TOPICS: Final = ("order.created", "order.updated")
# A WooCommerce order is a purchase once it is paid for or awaits an offline payment; a pending (unpaid), failed,
# cancelled, refunded or draft order is not one yet, and a later order.updated brings it when it becomes one.
WOOCOMMERCE_PURCHASED: Final = ("processing", "completed", "on-hold")
STRIPE_CONVERSION_EVENT: Final = "checkout.session.completed"
# WooCommerce ≥ 8.5 keeps its own order attribution in these order meta keys.
WOO_LANDING: Final = "_wc_order_attribution_session_entry"
WOO_REFERRER: Final = "_wc_order_attribution_referrer"
WOO_UTM_PREFIX: Final = "_wc_order_attribution_utm_"
# Stripe's minor units (stripe.com/docs/currencies): two decimals unless listed here.
STRIPE_ZERO_DECIMAL: Final = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
STRIPE_THREE_DECIMAL: Final = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def _invalid(field: str, reason: str, value: Any = None) -> PayloadInvalid:
    shown = value if isinstance(value, str | int) and not isinstance(value, bool) else None
    if isinstance(shown, str):
        shown = shown[:200]
    return PayloadInvalid(
        f"the webhook's {field} {reason}", errors=[{"field": field, "value": shown, "reason": reason}]
    )


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid("body", f"is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _invalid("body", "is not a JSON object")
    return data


def _object(data: Mapping[str, Any], name: str, path: str) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{path}{name}", "is not an object")
    return value


def _list(data: Mapping[str, Any], name: str, path: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(f"{path}{name}", "is not a list")
    return value


def _text(data: Mapping[str, Any], name: str, path: str = "", *, required: bool = False) -> str | None:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | type(None)):
        raise _invalid(f"{path}{name}", "is not text", value)
    text = str(value).strip() if value is not None else ""
    if required and not text:
        raise _invalid(f"{path}{name}", "is missing")
    return text or None


def _amount(data: Mapping[str, Any], name: str, path: str = "") -> Decimal | str | None:
    value = data.get(name)
    if value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise _invalid(f"{path}{name}", "is not an amount", value)


def _iso_time(data: Mapping[str, Any], name: str, path: str = "") -> datetime | None:
    text = _text(data, name, path)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{path}{name}", "is not an ISO 8601 time", text) from None


def _unix_time(data: Mapping[str, Any], name: str, path: str = "") -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**37:
        raise _invalid(f"{path}{name}", "is not a Unix time", value)
    return datetime.fromtimestamp(value, UTC)


def _codes(items: list[Any], name: str, path: str) -> list[str]:
    return [code for item in items if isinstance(item, dict) and (code := _text(item, name, path))]


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = (headers.get(name.lower()) or "").strip()
        if value:
            return value[:200]
    return None


def _event_id(headers: Mapping[str, str], *names: str) -> str:
    found = _header(headers, *names)
    if found is None:
        raise _invalid(names[0], "header is missing: it identifies the delivery, so a repeat takes effect once")
    return found


def shopify_event(body: bytes, headers: Mapping[str, str]) -> PlatformEvent:
    """An `orders/create` (or `orders/paid`) webhook: the order object is the body."""
    event_id = _event_id(headers, "X-Shopify-Webhook-Id", "X-Shopify-Event-Id")
    topic = _header(headers, "X-Shopify-Topic") or SHOPIFY_ORDER_TOPICS[0]
    if topic not in SHOPIFY_ORDER_TOPICS:
        return PlatformEvent(event_id, topic, None, f"topic {topic} does not announce a purchase")
    order = json_object(body)
    # The order alone is what Shopify sends; the REST API's {"order": {...}} wrapping is read too.
    if set(order) == {"order"} and isinstance(order["order"], dict):
        order = order["order"]
    client = _object(order, "client_details", "")
    billing = _object(order, "billing_address", "")
    shipping = _object(order, "shipping_address", "")
    conversion = ConversionData(
        order_id=_text(order, "id", required=True),
        occurred_at=_iso_time(order, "created_at"),
        value=_amount(order, "total_price"),
        currency=_text(order, "currency"),
        promo_codes=_codes(_list(order, "discount_codes", ""), "code", "discount_codes[]."),
        landing_url=_text(order, "landing_site"),
        referrer=_text(order, "referring_site"),
        ip=_text(order, "browser_ip") or _text(client, "browser_ip", "client_details."),
        user_agent=_text(client, "user_agent", "client_details."),
        country=_text(billing, "country_code", "billing_address.")
        or _text(shipping, "country_code", "shipping_address."),
        fields={"order_id": "id", "occurred_at": "created_at", "value": "total_price"},
    )
    return PlatformEvent(event_id, topic, conversion)


def is_woocommerce_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    """WooCommerce's check when a webhook is saved: `webhook_id=<id>` as a form, unsigned."""
    if headers.get("x-wc-webhook-signature"):
        return False
    try:
        form = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    ids = form.get("webhook_id", [])
    return set(form) == {"webhook_id"} and len(ids) == 1 and ids[0].isdigit()


def woocommerce_event(body: bytes, headers: Mapping[str, str]) -> PlatformEvent:
    """An `order.created` or `order.updated` webhook: the body is the order as the REST API (v3) returns it."""
    event_id = _event_id(headers, "X-WC-Webhook-Delivery-ID")
    topic = _header(headers, "X-WC-Webhook-Topic")
    if topic not in WOOCOMMERCE_ORDER_TOPICS:
        return PlatformEvent(event_id, topic, None, f"topic {topic or '(none)'} does not announce a purchase")
    order = json_object(body)
    status = _text(order, "status")
    if status is not None and status not in WOOCOMMERCE_PURCHASED:
        return PlatformEvent(event_id, topic, None, f"order status {status} is not a purchase")
    meta = _woo_meta(_list(order, "meta_data", ""))
    billing = _object(order, "billing", "")
    utm = {
        key.removeprefix("_wc_order_attribution_"): value
        for key, value in meta.items()
        if key.startswith(WOO_UTM_PREFIX)
    }
    conversion = ConversionData(
        order_id=_text(order, "id", required=True),
        occurred_at=_iso_time(order, "date_created_gmt"),  # no zone given: UTC, as its name says
        value=_amount(order, "total"),
        currency=_text(order, "currency"),
        promo_codes=_codes(_list(order, "coupon_lines", ""), "code", "coupon_lines[]."),
        landing_url=meta.get(WOO_LANDING),
        referrer=meta.get(WOO_REFERRER),
        utm=utm,
        ip=_text(order, "customer_ip_address"),
        user_agent=_text(order, "customer_user_agent"),
        country=_text(billing, "country", "billing."),
        fields={"order_id": "id", "occurred_at": "date_created_gmt", "value": "total"},
    )
    return PlatformEvent(event_id, topic, conversion)


def _woo_meta(items: list[Any]) -> dict[str, str]:
    """The order's text meta values by key (attribution meta only matters; other values may be anything)."""
    meta: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("value"), str):
            meta.setdefault(item["key"], item["value"].strip())
    return meta


def stripe_event(body: bytes) -> PlatformEvent:
    """A Stripe event; `checkout.session.completed` announces a purchase (its Checkout Session), others do not."""
    event = json_object(body)
    event_id = _text(event, "id", required=True) or ""
    kind = _text(event, "type")
    if kind != STRIPE_CONVERSION_EVENT:
        return PlatformEvent(event_id, kind, None, f"event type {kind or '(none)'} does not announce a purchase")
    checkout = _object(_object(event, "data", ""), "object", "data.")
    path = "data.object."
    currency = _text(checkout, "currency", path)
    customer = _object(checkout, "customer_details", path)
    address = _object(customer, "address", f"{path}customer_details.")
    metadata = _string_values(_object(checkout, "metadata", path))
    conversion = ConversionData(
        order_id=_text(checkout, "id", path, required=True),
        occurred_at=_unix_time(event, "created") or _unix_time(checkout, "created", path),
        value=_minor_units(checkout, "amount_total", path, currency),
        currency=currency,
        promo_codes=_stripe_codes(checkout, metadata),
        landing_url=metadata.get("landing_url"),
        utm={key: value for key, value in metadata.items() if key.lower().startswith("utm_")},
        country=_text(address, "country", f"{path}customer_details.address."),
        fields={
            f: f"{path}{name}" for f, name in (("order_id", "id"), ("value", "amount_total"), ("currency", "currency"))
        },
    )
    return PlatformEvent(event_id, kind, conversion)


def _minor_units(data: Mapping[str, Any], name: str, path: str, currency: str | None) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{path}{name}", "is not a whole number of minor units", value)
    code = (currency or "").upper()
    exponent = 0 if code in STRIPE_ZERO_DECIMAL else 3 if code in STRIPE_THREE_DECIMAL else 2
    return Decimal(value).scaleb(-exponent)


def _string_values(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): value.strip() for key, value in data.items() if isinstance(value, str) and value.strip()}


def _stripe_codes(checkout: Mapping[str, Any], metadata: Mapping[str, str]) -> list[str]:
    """The promotion codes a customer typed. A webhook carries only their ids (`promo_…`) unless expanded, so the
    code's text is read where it is present: an expanded promotion code, or `metadata.promo_code` (comma-separated)
    set by the shop when it creates the session."""
    codes: list[str] = []
    discounts = [*_list(checkout, "discounts", "data.object.")]
    breakdown = checkout.get("total_details")
    if isinstance(breakdown, dict) and isinstance(breakdown.get("breakdown"), dict):
        discounts += [d.get("discount") for d in breakdown["breakdown"].get("discounts") or [] if isinstance(d, dict)]
    for discount in discounts:
        promotion = discount.get("promotion_code") if isinstance(discount, dict) else None
        if isinstance(promotion, dict) and isinstance(promotion.get("code"), str):
            codes.append(promotion["code"])
    codes += [code for code in metadata.get("promo_code", "").split(",") if code.strip()]
    return codes


ParseEvent = Callable[[bytes, Mapping[str, str]], PlatformEvent]
PARSERS: Final[dict[str, ParseEvent]] = {
    "shopify": shopify_event,
    "woocommerce": woocommerce_event,
    "stripe": lambda body, _headers: stripe_event(body),
}
