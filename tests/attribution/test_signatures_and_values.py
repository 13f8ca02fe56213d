"""The pieces every intake path shares, without HTTP: signature checks at their edges, exact money, UTM tags, usable
addresses, promo codes, and the encryption of a source's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from podsponsor.attribution import secrets
from podsponsor.attribution.exceptions import InvalidConversion, PayloadInvalid, SignatureInvalid
from podsponsor.attribution.normalise import BadValue, cents, conversion_values, promo_codes, usable_address, utm_of
from podsponsor.attribution.platforms import is_woocommerce_ping, stripe_event
from podsponsor.attribution.schemas import ConversionData, SourceRef
from podsponsor.attribution.signatures import (
    stripe_signature_parts,
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
)
from podsponsor.config import Settings, get_settings, reset_settings
from tests.attribution.world import SHOPPER_IP, dumps, keyed, stripe_checkout_completed

SECRET = "whsec_test_secret_value"
BODY = b'{"id": 1, "total_price": "10.00"}'
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SOURCE = SourceRef(uuid.uuid4(), uuid.uuid4(), "api", uuid.uuid4(), True, None)


def b64mac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def stripe_header(secret: str, body: bytes, at: datetime, *more: str) -> dict[str, str]:
    timestamp = int(at.timestamp())
    v1 = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"stripe-signature": ",".join((f"t={timestamp}", f"v1={v1}", *more))}


def test_shopify_and_woocommerce_check_the_base64_mac_of_the_exact_body() -> None:
    verify_shopify(SECRET, BODY, {"x-shopify-hmac-sha256": b64mac(SECRET, BODY)})
    verify_woocommerce(SECRET, BODY, {"x-wc-webhook-signature": f" {b64mac(SECRET, BODY)} "})
    for headers in (
        {},
        {"x-shopify-hmac-sha256": ""},
        {"x-shopify-hmac-sha256": b64mac(SECRET, BODY + b" ")},
        {"x-shopify-hmac-sha256": b64mac("other", BODY)},
        {"x-shopify-hmac-sha256": hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()},
        {"x-shopify-hmac-sha256": "ünïcode"},
        {"x-wc-webhook-signature": b64mac(SECRET, BODY)},  # the other platform's header
    ):
        with pytest.raises(SignatureInvalid):
            verify_shopify(SECRET, BODY, headers)


@pytest.mark.parametrize("offset", [0, 299, -299, 300, -300])
def test_a_stripe_signature_within_300_seconds_either_way_is_accepted(offset: int) -> None:
    # Refusal raises SignatureInvalid; acceptance returns nothing.
    assert verify_stripe(SECRET, BODY, stripe_header(SECRET, BODY, NOW + timedelta(seconds=offset)), NOW) is None


@pytest.mark.parametrize("offset", [301, -301, 86400])
def test_a_stripe_signature_further_off_is_refused_even_when_it_matches(offset: int) -> None:
    with pytest.raises(SignatureInvalid, match="timestamp"):
        verify_stripe(SECRET, BODY, stripe_header(SECRET, BODY, NOW + timedelta(seconds=offset)), NOW)


def test_any_one_matching_v1_signature_is_enough_and_other_schemes_are_ignored() -> None:
    good = stripe_header(SECRET, BODY, NOW)["stripe-signature"]
    timestamp, signatures = stripe_signature_parts(good)
    assert timestamp == str(int(NOW.timestamp())) and len(signatures) == 1
    stale = "v1=" + "0" * 64
    verify_stripe(SECRET, BODY, {"stripe-signature": f"{stale},{good},v0=ignored"}, NOW)
    only_v0 = good.replace("v1=", "v0=")
    for header in (only_v0, f"t={timestamp}", stale, good.replace(f"t={timestamp}", "t=-5"), "garbage"):
        with pytest.raises(SignatureInvalid):
            verify_stripe(SECRET, BODY, {"stripe-signature": header}, NOW)
    with pytest.raises(SignatureInvalid):
        verify_stripe("whsec_other", BODY, {"stripe-signature": good}, NOW)
    moved = good.replace(f"t={timestamp}", f"t={int(timestamp) + 1}")
    with pytest.raises(SignatureInvalid):  # the timestamp is signed too: moving it breaks the signature
        verify_stripe(SECRET, BODY, {"stripe-signature": moved}, NOW)


@pytest.mark.parametrize(
    ("body", "headers", "ping"),
    [
        (b"webhook_id=31", {}, True),
        (b"webhook_id=31", {"x-wc-webhook-signature": "abc"}, False),
        (b"webhook_id=31&x=1", {}, False),
        (b"webhook_id=abc", {}, False),
        (b'{"webhook_id": 31}', {}, False),
        (b"", {}, False),
    ],
)
def test_only_woocommerces_own_ping_is_a_ping(body: bytes, headers: dict[str, str], ping: bool) -> None:
    assert is_woocommerce_ping(body, headers) is ping


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("409.94", 40994),
        ("0", 0),
        ("0.00", 0),
        ("-0.00", 0),
        ("19.995", 2000),
        ("19.994", 1999),
        ("0.005", 1),
        ("1e2", 10000),
        (" 7.5 ", 750),
        (Decimal("1.10"), 110),
        (12, 1200),
        ("9999999999999.99", 999999999999999),
    ],
)
def test_amounts_become_exact_cents(raw: Any, expected: int) -> None:
    assert cents(raw) == expected


@pytest.mark.parametrize(
    "raw", ["-1.00", "NaN", "Infinity", "-Infinity", "abc", "", "1,00", "10000000000000", 1.5, True, None]
)
def test_amounts_that_are_not_money_are_refused(raw: Any) -> None:
    with pytest.raises(BadValue):
        cents(raw)


def test_utm_tags_come_from_the_landing_url_then_from_what_is_given_apart() -> None:
    assert utm_of("https://shop.example.com/?UTM_Source=podcast&utm_source=other&ref=x&utm_medium=") == {
        "utm_source": "podcast"
    }
    assert utm_of("/products/x?utm_campaign=IO-7", {"utm_campaign": "no", "utm_term": "sleep", "gclid": "g"}) == {
        "utm_campaign": "IO-7",
        "utm_term": "sleep",
    }
    assert utm_of("http://[::1/broken?utm_source=x") == {}
    assert utm_of(None) == {}


@pytest.mark.parametrize(
    ("raw", "usable"),
    [
        ("81.2.69.160", "81.2.69.160"),
        (" 81.2.69.160 ", "81.2.69.160"),
        ("::ffff:81.2.69.160", "81.2.69.160"),
        ("2a00:1450:4009:81f::200e", "2a00:1450:4009:81f::200e"),
        ("0.0.0.0", None),  # noqa: S104 - Shopify's placeholder address, not a socket binding
        ("127.0.0.1", None),
        ("10.1.2.3", None),
        ("192.168.0.9", None),
        ("", None),
        (None, None),
        ("not an address", None),
    ],
)
def test_only_public_addresses_are_worth_a_household(raw: str | None, usable: str | None) -> None:
    assert usable_address(raw) == usable


def test_promo_codes_are_upper_cased_once_each() -> None:
    assert promo_codes(["tenoff", " TenOff ", "", "x" * 101, "spring10"]) == ["TENOFF", "SPRING10"]


def test_a_conversion_names_every_bad_field_in_the_callers_own_words(settings: Settings) -> None:
    data = ConversionData(
        order_id="1" * 201,
        value="-3",
        currency="dollars",
        kind="refund",
        fields={"value": "total", "order_id": "id"},
    )
    with pytest.raises(InvalidConversion) as caught:
        conversion_values(SOURCE, data, NOW)
    assert {e["field"] for e in caught.value.errors or []} == {"total", "currency", "id", "kind"}
    with pytest.raises(InvalidConversion) as caught:
        conversion_values(SOURCE, ConversionData(order_id="1", value="5.00"), NOW)
    assert [e["field"] for e in caught.value.errors or []] == ["currency"]


def test_a_conversion_keeps_hashes_never_the_address_or_user_agent(settings: Settings) -> None:
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/125.0 " + "x" * 2000
    data = ConversionData(
        order_id=" A-1 ",
        occurred_at=datetime(2026, 11, 1, 9, 30),
        value="12.34",
        currency="eur",
        ip="2a00:1450:4009:81f::200e",
        user_agent=agent,
    )
    values = conversion_values(SOURCE, data, NOW)
    assert values["order_id"] == "A-1"
    assert values["occurred_at"] == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert (values["value_cents"], values["currency"]) == (1234, "EUR")
    assert values["ip_hash"] == keyed("2a00:1450:4009:81f::")  # the household's /64
    assert values["ua_hash"] == keyed(agent[:1024])
    assert values["ua_family"] == "Windows"
    assert agent not in str(values) and "2a00" not in str(values)
    assert conversion_values(SOURCE, ConversionData(order_id=None), NOW)["occurred_at"] == NOW


@pytest.mark.parametrize(
    ("ip", "stated", "country"),
    [
        (SHOPPER_IP, "US", "GB"),  # the address's registry country comes first
        ("10.0.0.1", "us", "US"),  # no usable address: the country the platform states
        (None, "XK", None),  # a code ISO has not assigned is not kept
        (None, None, None),
    ],
)
def test_the_country_is_the_addresses_else_the_stated_one(
    settings: Settings, ip: str | None, stated: str | None, country: str | None
) -> None:
    assert conversion_values(SOURCE, ConversionData(order_id="1", ip=ip, country=stated), NOW)["country"] == country


def test_stripe_reads_an_event_and_names_what_it_cannot() -> None:
    event = stripe_checkout_completed(amount_total=1999, currency="jpy")
    parsed = stripe_event(dumps(event))
    assert parsed.conversion is not None
    assert (parsed.event_id, parsed.conversion.value, parsed.conversion.currency) == (event["id"], Decimal(1999), "jpy")
    broken = stripe_checkout_completed(amount_total="19.99")  # type: ignore[arg-type]
    with pytest.raises(PayloadInvalid) as caught:
        stripe_event(dumps(broken))
    assert [e["field"] for e in caught.value.errors or []] == ["data.object.amount_total"]
    with pytest.raises(PayloadInvalid):
        stripe_event(dumps({**event, "id": None}))


def test_a_secret_is_encrypted_and_unreadable_under_another_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = secrets.encrypt_secret("shpss_secret")
    assert "shpss_secret" not in stored
    assert stored != secrets.encrypt_secret("shpss_secret")  # a fresh nonce each time
    assert secrets.decrypt_secret(stored) == "shpss_secret"
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt_secret(stored[:-4] + "AAAA")
    monkeypatch.setenv("SECRET_KEY", "another-deployment-key-0123456789")
    reset_settings()
    try:
        with pytest.raises(secrets.SecretUnreadable):
            secrets.decrypt_secret(stored)
    finally:
        monkeypatch.undo()
        reset_settings()
    assert get_settings().signing_key() == settings.signing_key()
    assert secrets.decrypt_secret(stored) == "shpss_secret"
