"""The terms of the demo's insertion orders: prices against the rate card, promo codes, vanity slugs, landing pages,
talking points, agencies and notes. Pure functions of a random generator; what is free is the caller's ledger."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final

from podsponsor.bookings import codes

Row = dict[str, Any]

PRICING_WEIGHTS: Final = {"cpm": 72, "flat": 16, "hybrid": 6, "cpa": 6}
PACING_WEIGHTS: Final = {"even": 70, "front_loaded": 15, "asap": 15}
# Said aloud by the host: consonant-vowel stems are easy to say and to type ("BAKUTE").
SAYABLE_CONSONANTS: Final = "BCDFGHJKMNPRSTVWXZ"
SAYABLE_VOWELS: Final = "AEU"
AGENCIES: Final = (
    ("Brightline Media", "buying@brightline.example"),
    ("Northstar Audio Partners", "orders@northstar-audio.example"),
    ("Signal & Crest", "podcasts@signalcrest.example"),
    ("Tuned In Media Buying", "io@tunedin.example"),
)
PITCHES: Final = {
    "consumer goods": "everyday essentials that are actually nice to use",
    "apparel": "clothes made to last, with free returns",
    "beverages": "a better afternoon drink",
    "software": "less busywork for small teams",
    "web hosting": "a good-looking website up in an afternoon",
    "finance": "money that works harder, with no monthly fees",
    "insurance": "cover in minutes, not days",
    "meal kits": "dinner on the table in thirty minutes",
    "mattresses": "better sleep, with a 100-night trial",
    "vpn": "private browsing on every device",
    "education": "a new skill in ten minutes a day",
    "health": "simple daily habits for feeling better",
    "auto": "safer miles in every season",
    "travel": "trips planned without the stress",
    "gaming": "the co-op game everyone is talking about",
    "pets": "food your pet will actually finish",
    "recruiting": "the right hire, faster",
    "home": "a home that looks after itself",
    "streaming": "shows worth staying in for",
    "electronics": "gear that keeps up with you",
    "outdoor gear": "gear for every trail and portage",
    "food": "local flavour, shipped fresh",
}
STORIES: Final = (
    "how it fits into an ordinary week",
    "the first time you tried it",
    "what surprised you after a month",
    "why you kept using it",
)
OFFERS: Final = ("20% off the first order", "a free month", "free shipping", "15% off", "a free trial", "a free gift")
PATHS: Final = ("podcast", "listen", "offer", "hello")
MAKEGOOD_TERMS: Final = (
    "Under-delivery of more than 10% is made good with bonus spots in the show's next episodes.",
    "A shortfall is made good as a bonus episode, a longer flight or a credit, at the advertiser's choice.",
    "Makegoods run within 30 days of the flight's end; anything left is credited at the booked CPM.",
    "",
)
IO_NOTES: Final = (
    "",
    "",
    "Creative approved by the brand on the first read.",
    "Host to record two takes; brand picks one.",
    "Send the airing report every Monday.",
    "Brand asked for no mentions near political segments.",
)
SETTLEMENT_NOTES: Final = {
    "bonus_episode": "Bonus spot agreed with the buyer.",
    "extended_flight": "Flight extended until the goal is met.",
    "credit": "Credited on the next invoice.",
}


@dataclass(frozen=True)
class Prices:
    model: str
    cpm_cents: int | None = None
    flat_cents: int | None = None
    cpa_cents: int | None = None


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _quarter_dollar(cents: float) -> int:
    return max(25, round(cents / 25) * 25)


def _five_dollars(cents: float) -> int:
    return max(2500, round(cents / 500) * 500)


def flat_rate_cents(rate_cpm_cents: int, per_episode: float) -> int:
    """A flat price per episode worth about the CPM on the episode's expected downloads, a little over it (a flat
    buy pays for certainty), and never under $25."""
    return _five_dollars(rate_cpm_cents * per_episode / 1000 * 1.2)


def prices(rng: random.Random, unit: Row, per_episode: float) -> Prices:
    """What the order pays, negotiated from the ad unit's rate card."""
    model = pick(rng, PRICING_WEIGHTS)
    rate = unit["rate_cpm_cents"]
    if model == "cpm":
        return Prices(model, cpm_cents=_quarter_dollar(rate * rng.uniform(0.85, 1.05)))
    if model == "flat":
        base = unit["flat_rate_cents"] or flat_rate_cents(rate, per_episode)
        return Prices(model, flat_cents=_five_dollars(base * rng.uniform(0.9, 1.0)))
    if model == "hybrid":
        return Prices(
            model, cpm_cents=_quarter_dollar(rate * rng.uniform(0.5, 0.7)), cpa_cents=rng.randrange(200, 1500, 50)
        )
    return Prices(model, cpa_cents=rng.randrange(1000, 4000, 100))


def max_spend(rng: random.Random, price: Prices, goal: int) -> int | None:
    """A cap on spend for some CPM and hybrid orders (a little above the goal's cost) and most CPA orders."""
    if price.model in ("cpm", "hybrid") and price.cpm_cents and rng.random() < 0.35:
        return math.ceil(goal * price.cpm_cents / 1000 * rng.uniform(1.0, 1.15) / 100) * 100
    if price.model == "cpa" and price.cpa_cents and rng.random() < 0.8:
        return price.cpa_cents * rng.randrange(20, 200, 10)
    return None


def promo_code(rng: random.Random, sponsor_name: str, taken: set[str]) -> str:
    """A code from a word of the sponsor's name and two digits (`ACME47`), else a sayable one (`BAKUTE47`), that no
    other order of the workspace holds."""
    stems = codes.promo_code_stems(sponsor_name)
    for attempt in range(40):
        if stems and attempt < 20:
            stem = stems[attempt % len(stems)]
        else:
            stem = "".join(rng.choice(SAYABLE_CONSONANTS if i % 2 == 0 else SAYABLE_VOWELS) for i in range(6))
        code = stem + "".join(rng.choice(codes.PROMO_DIGITS) for _ in range(2))
        if code not in taken:
            taken.add(code)
            return code
    raise RuntimeError(f"no free promo code for {sponsor_name}")


def vanity_slug(sponsor_name: str, show_title: str, taken: set[str]) -> str:
    """The sponsor and the show (`brightside-coffee-build-log`), numbered from 2 when the pair is booked again."""
    base = f"{codes.slugify(sponsor_name)}-{codes.slugify(show_title)}"[: codes.SLUG_MAX - 4].rstrip("-")
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    taken.add(slug)
    return slug


def landing_url(rng: random.Random, sponsor: Row) -> str:
    return f"{sponsor['website_url']}/{rng.choice(PATHS)}"


def talking_points(rng: random.Random, sponsor: Row, code: str | None, slug: str | None) -> str:
    site = f"/v/{slug}" if slug else str(sponsor["website_url"]).removeprefix("https://")
    pitch = PITCHES.get(sponsor["industry"], "something listeners will like")
    lines = [
        f"- {sponsor['name']}: {pitch}.",
        f"- In your own words: {rng.choice(STORIES)}.",
        f"- Offer: {rng.choice(OFFERS)}" + (f" with code {code}" if code else "") + f" at {site}.",
        "- No comparisons with competitors; no claims beyond the brief.",
    ]
    return "\n".join(lines)


def agency(rng: random.Random, deal: Row) -> tuple[str, str] | None:
    """The agency that buys for the deal: the one its notes name, else one in three deals goes through one."""
    named = next((a for a in AGENCIES if a[0] in deal["notes"]), None)
    if named is not None:
        return named
    return rng.choice(AGENCIES) if rng.random() < 1 / 3 else None
