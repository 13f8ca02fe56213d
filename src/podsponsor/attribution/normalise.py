"""The rules every conversion passes, whatever brought it in, turning `ConversionData` into column values.

Money is exact: the amount arrives as a decimal string (or Decimal) in currency units and is stored as integer
hundredths of that unit, rounded half up, never through a float. The address and user agent are kept only as keyed
hashes (the same hashes the prefix redirect and vanity clicks keep, so they can be matched), with the user agent's
device family and the address's registry country beside them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from podsponsor.attribution.exceptions import InvalidConversion
from podsponsor.attribution.models import CONVERSION_KINDS
from podsponsor.attribution.schemas import ConversionData, SourceLike
from podsponsor.attribution.ua import ua_family
from podsponsor.hashing import hash_address, hash_text
from podsponsor.measurement.geo import country
from podsponsor.sales.schemas import COUNTRIES

MAX_VALUE_CENTS: Final = 10**15  # as for deals: far beyond any order, well inside BIGINT
ORDER_ID_MAX: Final = 200
PROMO_CODE_MAX: Final = 100
PROMO_CODES_MAX: Final = 20
LANDING_URL_MAX: Final = 4096
REFERRER_MAX: Final = 2048
# Capped as the vanity redirect caps it before hashing, so the same browser hashes the same on both.
USER_AGENT_MAX: Final = 1024
UTM_KEYS_MAX: Final = 20
UTM_KEY_MAX: Final = 50
UTM_VALUE_MAX: Final = 200
GROUND_TRUTHS: Final = ("promo_code", "household", "organic")
CENT: Final = Decimal(100)


class BadValue(ValueError):
    """A value that is not what its field needs; the message is the reason."""


def cents(raw: Decimal | str | int) -> int:
    """An amount in currency units as integer cents, exact: "409.94" → 40994, "0.005" → 1 (half up)."""
    if isinstance(raw, bool) or not isinstance(raw, Decimal | str | int):
        raise BadValue('give the amount as a decimal string, e.g. "19.99"')
    try:
        amount = Decimal(raw.strip() if isinstance(raw, str) else raw)
    except InvalidOperation:
        raise BadValue("not a number") from None
    if not amount.is_finite():
        raise BadValue("not a finite number")
    if amount < 0:
        raise BadValue("must not be negative")
    if amount * CENT >= MAX_VALUE_CENTS:
        raise BadValue("too large")
    return int((amount * CENT).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def currency_code(raw: str) -> str:
    code = raw.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise BadValue("an ISO 4217 code of three letters, e.g. USD")
    return code


def promo_codes(raw: Iterable[str]) -> list[str]:
    """Upper-cased as IO promo codes are, blanks and repeats dropped. A code longer than any IO's cannot be one of
    ours and is dropped rather than refusing the order."""
    kept: dict[str, None] = {}
    for code in raw:
        cleaned = code.strip().upper() if isinstance(code, str) else ""
        if cleaned and len(cleaned) <= PROMO_CODE_MAX:
            kept[cleaned] = None
    return list(kept)[:PROMO_CODES_MAX]


def utm_of(url: str | None, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `utm_*` parameters of a landing URL (names in lower case, the first of a repeated one), then those given
    apart from the URL (a platform's own attribution fields) for the names the URL does not set."""
    tags: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    if url:
        try:
            pairs = parse_qsl(urlsplit(url).query)
        except ValueError:
            pairs = []
    for name, value in [*pairs, *(given or {}).items()]:
        key = name.strip().lower()
        if key.startswith("utm_") and len(key) <= UTM_KEY_MAX and key not in tags and value:
            tags[key] = value[:UTM_VALUE_MAX]
        if len(tags) >= UTM_KEYS_MAX:
            break
    return tags


def usable_address(raw: str | None) -> str | None:
    """A client address worth hashing: a public one. Platforms send placeholders ("0.0.0.0") and, misconfigured,
    their own proxies' private addresses; hashed, those would make one household of every order."""
    if not raw:
        return None
    try:
        parsed = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return str(parsed) if parsed.is_global else None


def conversion_values(source: SourceLike, data: ConversionData, now: datetime) -> dict[str, Any]:
    """The `conversions` row for `data`, or InvalidConversion naming every field that is wrong."""
    errors: list[dict[str, Any]] = []

    def check(name: str, value: Any, convert: Any) -> Any:
        if value is None:
            return None
        try:
            return convert(value)
        except BadValue as exc:
            shown = value if isinstance(value, str | int | Decimal) else None
            errors.append({"field": data.field_name(name), "value": _shown(shown), "reason": str(exc)})
            return None

    value_cents = check("value", data.value, cents)
    currency = check("currency", data.currency, currency_code)
    if value_cents is not None and currency is None and data.currency is None:
        errors.append({"field": data.field_name("currency"), "value": None, "reason": "required with a value"})
    order_id = check("order_id", data.order_id, _order_id)
    kind = check("kind", data.kind, _kind)
    ground_truth = check("ground_truth", data.ground_truth, _ground_truth)
    if errors:
        raise InvalidConversion(f"{len(errors)} field(s) of the conversion are not valid", errors=errors)
    address = usable_address(data.ip)
    agent = data.user_agent.strip()[:USER_AGENT_MAX] if data.user_agent and data.user_agent.strip() else None
    landing = data.landing_url.strip() if data.landing_url and data.landing_url.strip() else None
    referrer = data.referrer.strip() if data.referrer and data.referrer.strip() else None
    return {
        "tenant_id": source.tenant_id,
        "source_id": source.id,
        "sponsor_id": source.sponsor_id,
        "kind": kind or "purchase",
        "order_id": order_id,
        "occurred_at": _aware(data.occurred_at) if data.occurred_at else now,
        "value_cents": value_cents,
        "currency": currency,
        "promo_codes": promo_codes(data.promo_codes),
        "landing_url": landing[:LANDING_URL_MAX] if landing else None,
        "utm": utm_of(landing, data.utm),
        "referrer": referrer[:REFERRER_MAX] if referrer else None,
        "ip_hash": hash_address(address) if address else None,
        "ua_hash": hash_text(agent) if agent else None,
        "ua_family": ua_family(agent),
        "country": (country(address) if address else None) or _country(data.country),
        "ground_truth": ground_truth,
    }


def _order_id(raw: Any) -> str | None:
    text = str(raw).strip()
    if len(text) > ORDER_ID_MAX:
        raise BadValue(f"at most {ORDER_ID_MAX} characters")
    return text or None


def _kind(raw: str) -> str:
    if raw not in CONVERSION_KINDS:
        raise BadValue(f"one of {', '.join(CONVERSION_KINDS)}")
    return raw


def _ground_truth(raw: str) -> str:
    if raw not in GROUND_TRUTHS:
        raise BadValue(f"one of {', '.join(GROUND_TRUTHS)}")
    return raw


def _country(raw: str | None) -> str | None:
    """A country the platform states (a billing address), when it is an assigned ISO code: platforms use codes
    such as XK that are not, and a country is not worth refusing an order over."""
    code = raw.strip().upper() if raw else None
    return code if code in COUNTRIES else None


def _aware(at: datetime) -> datetime:
    """A time without a zone is taken as UTC (WooCommerce's `_gmt` fields are written so)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _shown(value: str | int | Decimal | None) -> str | int | None:
    if value is None:
        return None
    return value if isinstance(value, int) else str(value)[:200]
