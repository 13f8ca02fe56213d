"""Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) and recovery codes.

These are the parameters every authenticator app assumes when an otpauth URI names none, so any of them works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from typing import Final
from urllib.parse import quote, urlencode

import segno

from podsponsor.hashing import hash_text

DIGITS: Final = 6
PERIOD: Final = 30
# A code of the step before or after the current one is still accepted: phones' clocks drift.
DRIFT_STEPS: Final = 1
SECRET_BYTES: Final = 20  # 160 bits, the length RFC 4226 recommends for HMAC-SHA-1
RECOVERY_CODES: Final = 10
# 4 groups of 4 from 31 unambiguous characters: 79 bits each, so a stolen hash cannot be reversed by guessing.
RECOVERY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_GROUPS: Final = 4
RECOVERY_GROUP_LENGTH: Final = 4
CODE: Final = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """A base32 secret, as authenticator apps take it (no padding)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def step_at(moment: float) -> int:
    return int(moment // PERIOD)


def code_at(secret: str, step: int) -> str:
    """The code for one time step (RFC 4226's HOTP with the step as counter)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, moment: float | None = None) -> int | None:
    """The time step whose code `code` is, within the drift allowed around `moment`; None when it is none of them."""
    code = normalise_code(code)
    if not CODE.match(code):
        return None
    now = step_at(time.time() if moment is None else moment)
    found = None
    # Every candidate is compared, in constant time, so timing says nothing about which step was close.
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    return found


def normalise_code(code: str) -> str:
    """Apps show codes as '123 456'; people paste them with the space."""
    return re.sub(r"[\s-]", "", code)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth URI authenticator apps read from the QR code (Google Authenticator's key URI format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": PERIOD})
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code: attributes only, no style, so the pages' content security policy allows it."""
    return str(
        segno.make(uri, error="m").svg_inline(
            scale=4, dark="#111", light="#fff", title="QR code for your authenticator app", svgclass="qr-code"
        )
    )


def new_recovery_codes() -> list[str]:
    def one() -> str:
        groups = (
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH))
            for _ in range(RECOVERY_GROUPS)
        )
        return "-".join(groups)

    return [one() for _ in range(RECOVERY_CODES)]


def hash_recovery_code(code: str) -> str:
    """Keyed, and blind to case, spaces and dashes, as people type codes back."""
    return hash_text("recovery:" + re.sub(r"[\s-]", "", code).lower())
