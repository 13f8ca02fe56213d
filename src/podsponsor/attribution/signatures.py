"""Webhook signatures, checked over the raw request body exactly as each platform documents them, in constant time.

- Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, body)).
- WooCommerce: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, body)).
- Stripe: `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]`, each v1 = hex(HMAC-SHA256(secret, "<t>." + body));
  one matching v1 is enough (Stripe sends two while a secret is being rolled), and `t` must be within
  `STRIPE_TOLERANCE_SECONDS` of now, either way, so a captured delivery cannot be replayed later.

Each check raises `SignatureInvalid` with the reason, which the source's health shows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from podsponsor.attribution.exceptions import SignatureInvalid
from podsponsor.attribution.secrets import SecretUnreadable, decrypt_secret

STRIPE_TOLERANCE_SECONDS: Final = 300
SHOPIFY_HEADER: Final = "X-Shopify-Hmac-Sha256"
WOOCOMMERCE_HEADER: Final = "X-WC-Webhook-Signature"
STRIPE_HEADER: Final = "Stripe-Signature"


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _same(expected: str, given: str) -> bool:
    # Header values are Latin-1 text; bytes compare in constant time whatever characters they hold.
    return hmac.compare_digest(expected.encode("ascii"), given.strip().encode("latin-1", errors="replace"))


def _base64_signed(secret: str, body: bytes, headers: Mapping[str, str], header: str) -> None:
    given = headers.get(header.lower())
    if not given:
        raise SignatureInvalid(f"the {header} header is missing")
    if not _same(base64.b64encode(_mac(secret, body)).decode("ascii"), given):
        raise SignatureInvalid(f"the {header} header does not match the body signed with the source's secret")


def verify_shopify(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    _base64_signed(secret, body, headers, SHOPIFY_HEADER)


def verify_woocommerce(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    _base64_signed(secret, body, headers, WOOCOMMERCE_HEADER)


def stripe_signature_parts(header: str) -> tuple[str | None, list[str]]:
    """The timestamp (as sent) and the v1 signatures of a `Stripe-Signature` header; other schemes are ignored."""
    timestamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if key == "t" and timestamp is None:
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def verify_stripe(
    secret: str, body: bytes, headers: Mapping[str, str], now: datetime, tolerance: int = STRIPE_TOLERANCE_SECONDS
) -> None:
    header = headers.get(STRIPE_HEADER.lower())
    if not header:
        raise SignatureInvalid(f"the {STRIPE_HEADER} header is missing")
    timestamp, signatures = stripe_signature_parts(header)
    if timestamp is None or not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureInvalid(f"the {STRIPE_HEADER} header has no timestamp (t=…)")
    if not signatures:
        raise SignatureInvalid(f"the {STRIPE_HEADER} header has no v1 signature")
    expected = _mac(secret, timestamp.encode("ascii") + b"." + body).hex()
    # Every signature is compared, so the time taken does not say which of them came close.
    matches = [_same(expected, signature) for signature in signatures]
    if not any(matches):
        raise SignatureInvalid(f"no v1 signature of the {STRIPE_HEADER} header matches the body")
    drift = now.timestamp() - int(timestamp)
    if abs(drift) > tolerance:
        raise SignatureInvalid(
            f"the {STRIPE_HEADER} timestamp is {abs(drift):.0f} s {'old' if drift > 0 else 'in the future'}; "
            f"at most {tolerance} s either way is accepted"
        )


Verify = Callable[[str, bytes, Mapping[str, str], datetime], None]
VERIFIERS: Final[dict[str, Verify]] = {
    "shopify": lambda secret, body, headers, _now: verify_shopify(secret, body, headers),
    "woocommerce": lambda secret, body, headers, _now: verify_woocommerce(secret, body, headers),
    "stripe": verify_stripe,
}


def verify_delivery(
    kind: str, secret_encrypted: str | None, body: bytes, headers: Mapping[str, str], now: datetime
) -> None:
    """Checks a delivery to a `kind` source with the source's stored secret; SignatureInvalid says why not."""
    if secret_encrypted is None:
        raise SignatureInvalid("the source has no secret yet: set the platform's signing secret in podsponsor")
    try:
        secret = decrypt_secret(secret_encrypted)
    except SecretUnreadable:
        raise SignatureInvalid(
            "the source's secret cannot be read with this deployment's SECRET_KEY: set the secret again"
        ) from None
    VERIFIERS[kind](secret, body, headers, now)
