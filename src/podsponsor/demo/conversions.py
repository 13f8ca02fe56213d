"""Conversions for the demo's sponsors with a known ground truth, made without a database from the orders that run or
ran in the listening window and the households their counted downloads reached, so the attribution results tell a
true story: most orders are organic, some came in with an order's promo code, some from a household that heard the
ad (a few of those after visiting its vanity URL). An order's promo-code and household conversions are about its
impressions times its sponsor's industry base rate times the lift of its sponsor and show's hidden true fit
(`fit.py`), so conversions per impression are higher where the show truly suits the sponsor.

Each sponsor gets one conversion source (a Shopify store, a Stripe checkout or a site pixel); its token and secret
are drawn by the loader, never here. Every conversion passes the rules every intake path passes
(`attribution.normalise.conversion_values`), so promo codes typed in lower case are stored as the intake stores
them; only the address hash is set here, since the demo's households are the listening's made-up address hashes.
The same seed, workspace, `now` and inputs always give the same rows.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from podsponsor.attribution.normalise import conversion_values
from podsponsor.attribution.schemas import ConversionData, SourceRef
from podsponsor.attribution.signatures import SHOPIFY_HEADER, STRIPE_HEADER
from podsponsor.attribution.ua import ua_family
from podsponsor.demo.fit import Pair, base_rate, lifts, pair_fits, poisson
from podsponsor.demo.generate import TenantRows
from podsponsor.demo.shows import new_id
from podsponsor.hashing import hash_text

Row = dict[str, Any]

# Shares of the conversions by ground truth, as in life: most orders owe nothing to the podcast.
ORGANIC_SHARE: Final = 0.60
HOUSEHOLD_SHARE: Final = 0.25
PROMO_SHARE: Final = 0.15
# Of a coded order's converting listeners, those who type its code: with a fifth of the orders carrying no code,
# promo codes stay about `PROMO_SHARE` of all conversions.
PROMO_TYPED: Final = 0.5
MIN_ORGANIC: Final = 3  # a shop sells a few orders of its own even when its podcast orders bring in none
VANITY_SHARE: Final = 0.25  # household conversions whose shopper visited the order's vanity URL first
PROMO_FROM_LISTENER: Final = 0.5  # promo-code buyers whose household downloaded the order's episodes
# A household's conversion follows its exposure by hours to a few days: well inside any lookback (at least 7 days).
CONVERT_WITHIN: Final = timedelta(days=6)
PROMO_AFTER_FLIGHT: Final = timedelta(days=14)  # codes are still typed a while after the last episode aired
# Addresses whose downloads show more listeners than this are too crowded to be a household worth matching.
CROWDED_LISTENERS: Final = 6
SOURCE_KINDS: Final = ("shopify", "stripe", "pixel")
SIGNATURE_FAILURES: Final = 2
FAILING_SOURCE: Final = 1  # the second source (a Stripe checkout) shows a couple of refused deliveries
# Shoppers that never listened are drawn from address blocks the listening never draws from (its IPv4 addresses
# start at 24), so an organic order can never share a household with a download.
ORGANIC_FIRST_OCTETS: Final = (5, 12, 14, 23)

# Order values in dollars by the sponsor's industry: a subscription's first month to a mattress.
ORDER_VALUES: Final[dict[str, tuple[int, int]]] = {
    "consumer goods": (25, 90),
    "apparel": (45, 180),
    "beverages": (30, 80),
    "software": (12, 99),
    "web hosting": (35, 150),
    "finance": (40, 120),
    "insurance": (60, 180),
    "meal kits": (60, 140),
    "mattresses": (450, 1400),
    "vpn": (40, 100),
    "education": (30, 160),
    "health": (30, 120),
    "auto": (80, 300),
    "travel": (120, 900),
    "gaming": (20, 70),
    "pets": (30, 110),
    "recruiting": (99, 400),
    "home": (40, 180),
    "streaming": (10, 20),
    "electronics": (60, 350),
    "outdoor gear": (50, 250),
    "food": (30, 90),
}
DEFAULT_VALUES: Final = (30, 180)

# Shop browsers by device family: a listener on an iPhone buys in Safari on that iPhone.
BROWSERS: Final[dict[str, tuple[str, ...]]] = {
    "iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.7 Mobile/15E148 Safari/604.1",
    ),
    "Android": (
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile "
        "Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile "
        "Safari/537.36",
    ),
    "macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15",
    ),
    "Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
        "Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    ),
}
# Shoppers whose podcast app does not tell their system, and shoppers who never listened.
SHOPPER_FAMILIES: Final = ("iOS", "Android", "macOS", "Windows")
SHOPPER_WEIGHTS: Final = (45, 25, 15, 15)
REFERRERS: Final = ("https://www.google.com/", "https://www.instagram.com/", "https://duckduckgo.com/", None, None)
SOURCE_NAMES: Final = {"shopify": "Shopify store", "stripe": "Stripe checkout", "pixel": "Site pixel"}
TOPICS: Final = {"shopify": "orders/create", "stripe": "checkout.session.completed"}


@dataclass(frozen=True)
class BookedIo:
    """An insertion order that runs or ran in the listening window, as conversions need it."""

    id: uuid.UUID
    sponsor_id: uuid.UUID
    podcast_id: uuid.UUID
    campaign_id: uuid.UUID
    promo_code: str | None
    vanity_slug: str | None
    landing_url: str | None
    flight_start: date
    flight_end: date


@dataclass(frozen=True)
class Exposure:
    """A counted download that was an impression of an order: the listener's household, when, and its app."""

    ip_hash: str
    at: datetime
    user_agent: str | None
    country: str | None


@dataclass
class ConversionRows:
    """What the loader inserts: sources (without token and secret), conversions, the webhook deliveries and pixel
    events that brought them in, the vanity visits before some of them, and the sources' creation events."""

    sources: list[Row] = field(default_factory=list)
    conversions: list[Row] = field(default_factory=list)
    deliveries: list[Row] = field(default_factory=list)
    pixel_events: list[Row] = field(default_factory=list)
    clicks: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class Order:
    """One conversion before the intake rules: who bought, when, through what, and why."""

    truth: str
    at: datetime
    ip_hash: str | None
    user_agent: str
    country: str | None
    promo_code: str | None = None
    landing_url: str | None = None
    referrer: str | None = None
    clicked: uuid.UUID | None = None  # the order whose vanity URL the shopper visited first


def generate_conversions(
    rows: TenantRows, seed: int, now: datetime, ios: list[BookedIo], exposures: dict[uuid.UUID, list[Exposure]]
) -> ConversionRows:
    """The conversions of the sponsors of `ios`, from the households `exposures` names per order."""
    rng = random.Random(f"{seed}:{rows.slug}:conversions")  # noqa: S311 - reproducible on purpose
    made = ConversionRows()
    by_sponsor: dict[uuid.UUID, list[BookedIo]] = defaultdict(list)
    for io in sorted(ios, key=lambda io: (io.flight_start, str(io.id))):
        by_sponsor[io.sponsor_id].append(io)
    sponsors = [sponsor for sponsor in rows.sponsors if sponsor["id"] in by_sponsor]
    used: set[str] = set()
    ops = next(user["id"] for user in rows.users if user["role"] == "ops")
    start = datetime.combine(min(io.flight_start for io in ios), time(), tzinfo=UTC) if ios else now
    lift = lifts(pair_fits(rows, seed))
    for index, sponsor in enumerate(sponsors):
        kind = SOURCE_KINDS[index % len(SOURCE_KINDS)]
        orders = [
            order
            for io in by_sponsor[sponsor["id"]]
            for order in _orders_of(rng, io, sponsor, exposures.get(io.id, []), used, now, lift)
        ]
        share = round(len(orders) * ORGANIC_SHARE / (1 - ORGANIC_SHARE) * rng.uniform(0.85, 1.15))
        organic = max(MIN_ORGANIC, share)
        window_start = max(start, now - timedelta(days=35))
        orders += [_organic(rng, sponsor, window_start, now) for _ in range(organic)]
        orders.sort(key=lambda order: order.at)
        source = _source(rng, rows, sponsor, kind, by_sponsor[sponsor["id"]][0])
        made.sources.append(source)
        made.events.append(_created_event(rng, rows.id, source, ops))
        for number, order in enumerate(orders, start=1):
            _add_order(rng, made, source, sponsor, order, number)
        _health(source, made, now, failing=index == FAILING_SOURCE)
    made.clicks.sort(key=lambda click: (click["ts"], str(click["id"])))
    return made


# Orders ---------------------------------------------------------------------------------------------------------------


def _orders_of(
    rng: random.Random,
    io: BookedIo,
    sponsor: Row,
    exposures: list[Exposure],
    used: set[str],
    now: datetime,
    lift: dict[Pair, float],
) -> list[Order]:
    """One order's promo-code and household conversions: Poisson draws around its impressions times the industry's
    base rate times the pair's lift, split so that promo codes are about `PROMO_SHARE` and households about
    `HOUSEHOLD_SHARE` of all (an order without a code gets households only); households converting once each."""
    households = _households(exposures, now)
    expected = len(exposures) * base_rate(str(sponsor["industry"])) * lift[(io.sponsor_id, io.podcast_id)]
    # Without a code to type, the listeners who would have used one buy all the same, and only households tell.
    promo_part = PROMO_TYPED if io.promo_code else 0.0
    promo = poisson(rng, expected * promo_part)
    wanted = poisson(rng, expected * (1 - promo_part))
    orders = []
    candidates = [h for h in households if h not in used]
    rng.shuffle(candidates)
    for household in candidates[:wanted]:
        used.add(household)
        orders.append(_household(rng, io, sponsor, households[household], now))
    listeners = iter(candidates[wanted:])
    for _ in range(promo):
        buyer = next(listeners, None) if rng.random() < PROMO_FROM_LISTENER else None
        if buyer is not None:
            used.add(buyer)
        orders.append(_promo(rng, io, sponsor, households[buyer] if buyer else None, now))
    return orders


def _households(exposures: list[Exposure], now: datetime) -> dict[str, list[Exposure]]:
    """The households an order reached early enough to convert before `now`, without crowded addresses (offices,
    carriers) whose conversions attribution rightly refuses to pin on anyone."""
    grouped: dict[str, list[Exposure]] = defaultdict(list)
    for exposure in exposures:
        if exposure.at < now - timedelta(hours=2):
            grouped[exposure.ip_hash].append(exposure)
    return {
        household: sorted(seen, key=lambda e: e.at)
        for household, seen in sorted(grouped.items())
        if len({e.user_agent for e in seen}) <= CROWDED_LISTENERS
    }


def _household(rng: random.Random, io: BookedIo, sponsor: Row, seen: list[Exposure], now: datetime) -> Order:
    heard = rng.choice(seen)
    at = _after(rng, heard.at, now)
    agent = _browser(rng, heard.user_agent)
    if io.vanity_slug and io.landing_url and rng.random() < VANITY_SHARE:
        return Order(
            "household", at, heard.ip_hash, agent, heard.country, landing_url=_vanity_landing(io), clicked=io.id
        )
    return Order(
        "household", at, heard.ip_hash, agent, heard.country, landing_url=sponsor["website_url"], referrer=_ref(rng)
    )


def _promo(rng: random.Random, io: BookedIo, sponsor: Row, seen: list[Exposure] | None, now: datetime) -> Order:
    code = str(io.promo_code)
    typed = rng.choices((code, code.lower(), f" {code.lower()} ", code.title()), weights=(6, 3, 1, 1))[0]
    if seen:
        heard = rng.choice(seen)
        at, ip_hash, agent, country = (
            _after(rng, heard.at, now),
            heard.ip_hash,
            _browser(rng, heard.user_agent),
            heard.country,
        )
    else:
        first = datetime.combine(io.flight_start, time(), tzinfo=UTC)
        last = min(
            now - timedelta(minutes=10), datetime.combine(io.flight_end, time(), tzinfo=UTC) + PROMO_AFTER_FLIGHT
        )
        at = first + (last - first) * rng.random()
        ip_hash, agent, country = _shopper_hash(rng), _browser(rng, None), "US"
    return Order("promo_code", at, ip_hash, agent, country, typed, sponsor["website_url"], _ref(rng))


def _organic(rng: random.Random, sponsor: Row, start: datetime, now: datetime) -> Order:
    at = start + (now - timedelta(minutes=10) - start) * rng.random()
    # A few shops send no address (a server-side checkout); those cannot be matched to a household either way.
    ip_hash = _shopper_hash(rng) if rng.random() < 0.95 else None
    return Order("organic", at, ip_hash, _browser(rng, None), "US", None, sponsor["website_url"], _ref(rng))


def _after(rng: random.Random, heard: datetime, now: datetime) -> datetime:
    """A moment after an exposure: within `CONVERT_WITHIN`, and before now."""
    latest = min(heard + CONVERT_WITHIN, now - timedelta(minutes=10))
    earliest = heard + timedelta(minutes=5)
    wait: timedelta = (latest - earliest) * rng.random() ** 1.5
    return earliest + wait


def _browser(rng: random.Random, listener_agent: str | None) -> str:
    """The browser a shopper buys in: the same system as the listener's podcast app where it tells one."""
    family = ua_family(listener_agent)
    if family not in BROWSERS:
        family = rng.choices(SHOPPER_FAMILIES, weights=SHOPPER_WEIGHTS)[0]
    return rng.choice(BROWSERS[str(family)])


def _shopper_hash(rng: random.Random) -> str:
    address = f"{rng.choice(ORGANIC_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    # Hashed as the listening hashes its made-up addresses.
    return hashlib.sha256(address.encode()).hexdigest()


def _ref(rng: random.Random) -> str | None:
    return rng.choice(REFERRERS)


def _vanity_landing(io: BookedIo) -> str:
    separator = "&" if "?" in str(io.landing_url) else "?"
    return f"{io.landing_url}{separator}utm_source=podcast&utm_medium=audio&utm_campaign={io.vanity_slug}"


# Rows -----------------------------------------------------------------------------------------------------------------


def _source(rng: random.Random, rows: TenantRows, sponsor: Row, kind: str, first: BookedIo) -> Row:
    created = datetime.combine(first.flight_start, time(), tzinfo=UTC) - timedelta(
        days=rng.randint(5, 20), minutes=rng.randint(0, 600)
    )
    return {
        "tenant_id": rows.id,
        "id": new_id(rng),
        "sponsor_id": sponsor["id"],
        "kind": kind,
        "name": f"{sponsor['name']} {SOURCE_NAMES[kind]}",
        "active": True,
        "events_received": 0,
        "signature_failures": 0,
        "last_event_at": None,
        "last_failure_at": None,
        "last_failure_reason": None,
        "created_at": created,
        "updated_at": created,
    }


def _add_order(rng: random.Random, made: ConversionRows, source: Row, sponsor: Row, order: Order, number: int) -> None:
    kind = source["kind"]
    low, high = ORDER_VALUES.get(sponsor["industry"], DEFAULT_VALUES)
    value = Decimal(rng.randint(low * 100, high * 100)) / 100
    order_id = _order_id(rng, kind, number)
    data = ConversionData(
        order_id=order_id,
        occurred_at=order.at,
        value=value,
        currency="USD",
        promo_codes=[order.promo_code] if order.promo_code else [],
        landing_url=order.landing_url,
        referrer=order.referrer,
        user_agent=order.user_agent,
        country=order.country,
        ground_truth=order.truth,
    )
    ref = SourceRef(source["tenant_id"], source["id"], kind, source["sponsor_id"], True, None)
    conversion = conversion_values(ref, data, order.at)
    received = order.at + timedelta(seconds=rng.uniform(1, 40))
    conversion |= {"id": new_id(rng), "ip_hash": order.ip_hash, "created_at": received}
    made.conversions.append(conversion)
    if kind in TOPICS:
        made.deliveries.append(_delivery(rng, source, conversion, received))
    elif order.ip_hash is not None:
        made.pixel_events += _pixel_events(rng, source, conversion, order)
    if order.clicked is not None:
        made.clicks.append(_click(rng, order.clicked, source, order))


def _order_id(rng: random.Random, kind: str, number: int) -> str:
    if kind == "shopify":
        return str(5_712_000_000_000 + number * 7919 + rng.randrange(7919))
    if kind == "stripe":
        return "cs_live_" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=24))
    return f"{100_000 + number}"


def _delivery(rng: random.Random, source: Row, conversion: Row, received: datetime) -> Row:
    event_id = str(new_id(rng)) if source["kind"] == "shopify" else f"evt_{new_id(rng).hex[:24]}"
    return {
        "tenant_id": source["tenant_id"],
        "id": new_id(rng),
        "source_id": source["id"],
        "event_id": event_id,
        "topic": TOPICS[source["kind"]],
        "outcome": "stored",
        "conversion_id": conversion["id"],
        "received_at": received,
    }


def _pixel_events(rng: random.Random, source: Row, conversion: Row, order: Order) -> list[Row]:
    """The purchase event that brought the conversion in, and a page view before it now and then."""
    site = str(order.landing_url or "").split("?", 1)[0].rstrip("/")
    events = [
        _pixel(rng, source, conversion, "purchase", conversion["created_at"], f"{site}/checkout/thank-you", order)
    ]
    if rng.random() < 0.4:
        viewed = order.at - timedelta(minutes=rng.uniform(2, 50))
        events.append(_pixel(rng, source, None, "view", viewed, order.landing_url or site, order))
    return events


def _pixel(
    rng: random.Random, source: Row, conversion: Row | None, event: str, at: datetime, page: str, order: Order
) -> Row:
    return {
        "tenant_id": source["tenant_id"],
        "id": new_id(rng),
        "source_id": source["id"],
        "event": event,
        "ts": at,
        "value_cents": conversion["value_cents"] if conversion else None,
        "currency": conversion["currency"] if conversion else None,
        "order_id": conversion["order_id"] if conversion else None,
        "page_url": page,
        "referrer": order.referrer,
        "ip_hash": order.ip_hash,
        "ua_hash": hash_text(order.user_agent),
        "ua_family": ua_family(order.user_agent),
        "conversion_id": conversion["id"] if conversion else None,
    }


def _click(rng: random.Random, io_id: uuid.UUID, source: Row, order: Order) -> Row:
    """The shopper's visit to the order's vanity URL, minutes before buying."""
    return {
        "tenant_id": source["tenant_id"],
        "id": new_id(rng),
        "io_id": io_id,
        "ts": order.at - timedelta(minutes=rng.uniform(1, 30)),
        "ip_hash": order.ip_hash,
        "ua_hash": hash_text(order.user_agent),
        "user_agent": order.user_agent,
        "referer": None,
        "country": order.country,
    }


def _health(source: Row, made: ConversionRows, now: datetime, *, failing: bool) -> None:
    """The source's counters as its intake would have left them; a failing one refused a few deliveries signed
    with a secret it does not have (a merchant who pasted the wrong one, then the right one)."""
    if source["kind"] in TOPICS:
        times = [d["received_at"] for d in made.deliveries if d["source_id"] == source["id"]]
    else:
        times = [e["ts"] for e in made.pixel_events if e["source_id"] == source["id"]]
    source["events_received"] = len(times)
    source["last_event_at"] = max(times, default=None)
    if failing:
        source["signature_failures"] = SIGNATURE_FAILURES
        source["last_failure_at"] = now - timedelta(days=3, hours=5)
        source["last_failure_reason"] = _failure_reason(source["kind"])


def _failure_reason(kind: str) -> str:
    if kind == "stripe":
        return f"no v1 signature of the {STRIPE_HEADER} header matches the body"
    return f"the {SHOPIFY_HEADER} header does not match the body signed with the source's secret"


def _created_event(rng: random.Random, tenant_id: uuid.UUID, source: Row, actor: uuid.UUID) -> Row:
    return {
        "tenant_id": tenant_id,
        "id": new_id(rng),
        "type": "conversion_source.created",
        "subject_type": "conversion_source",
        "subject_id": source["id"],
        "actor_user_id": actor,
        "payload": {"sponsor_id": str(source["sponsor_id"]), "kind": source["kind"], "name": source["name"]},
        "at": source["created_at"],
    }
