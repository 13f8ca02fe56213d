"""Outbound webhook signatures, as the Standard Webhooks specification defines them.

An endpoint's secret is `whsec_` followed by its key in base64. Each request carries `webhook-id` (the message id,
the same on every attempt so receivers can drop duplicates), `webhook-timestamp` (unix seconds when sent, so
receivers can refuse old replays) and `webhook-signature`: `v1,` + base64 of HMAC-SHA256 under the key of
`{id}.{timestamp}.{body}`, the body being the exact bytes sent. Any of the specification's libraries verifies it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Final

from podsponsor.sealing import seal, unseal

SECRET_PREFIX: Final = "whsec_"
# 256 random bits; the specification asks for 24 to 64 bytes.
KEY_BYTES: Final = 32
SEALING_LABEL: Final = b"podsponsor events: outbound webhook endpoint signing secrets v1"
SIGNATURE_VERSION: Final = "v1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The key bytes of a `whsec_…` secret."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def seal_secret(secret: str) -> str:
    return seal(SEALING_LABEL, secret)


def unseal_secret(stored: str) -> str:
    return unseal(SEALING_LABEL, stored)
