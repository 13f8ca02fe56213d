"""The demo's hidden truth about which shows suit which sponsors: a true fit in [0, 1] for every sponsor-show pair of
a workspace, made from the generator's latent parameters and never stored, so matchmaking can be judged against it.

For a sponsor s and a show p:

    fit = clip(0.35·topic + 0.20·demographic + 0.15·geo + 0.30·brand_safety - 0.05 + latent, 0, 1)

- **topic**: the topics s wants are its industry's (`catalogue.INDUSTRIES`), weight 1 for those in its drawn
  `target_topics` and ½ for the rest; the show offers its iTunes categories and its genre's themes (`GENRE_THEMES`:
  what the genre's audience cares about, which the show's words echo). topic = min(1, matched weight ÷ 1.5).
- **demographic**: the share of the genre's true audience (`vocabulary.GENRES` age weights and female share, not
  the survey drawn from them) inside the sponsor's target age bands, times the share inside its target genders,
  ÷ 0.6 and capped at 1 (three fifths of the audience in target is as good as it gets).
- **geo**: the share of the show's true country weights (`shows.audience_countries`) in the sponsor's target
  countries.
- **brand_safety**: 1 - tolerance·risk: a show's risk is its genre's (`GENRE_RISK`, true crime the most) or 0.6
  for an explicit show, whichever is higher; tolerance is 1 for a strict sponsor, 0.45 moderate, 0.1 permissive.
- **latent**: a per-pair term ~ N(0, 0.08²) drawn from the seed and the pair's ids: what no data shows (the host's
  chemistry with the product, timing).

The observable parts spread the fit with a standard deviation about twice the latent term's (see
`test_demo_fit.py`), so data can rank pairs well but never perfectly.

True fit drives campaign results through `lift(fit) = (0.3 + 1.4·fit) ÷ mean over the workspace's pairs`: an
order's promo-code and household conversions (`conversions.py`) and a held-out pair's simulated campaign
(`heldout_outcomes`) are its impressions times the industry's base rate (`BASE_RATES`) times the pair's lift.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from podsponsor.demo.catalogue import INDUSTRIES, WORKSPACES, Show
from podsponsor.demo.generate import Row, TenantRows
from podsponsor.demo.shows import audience_countries, audience_genders
from podsponsor.demo.vocabulary import AGE_BANDS, GENRES

Pair = tuple[uuid.UUID, uuid.UUID]  # (sponsor id, podcast id)

WEIGHTS: Final = {"topic": 0.35, "demographic": 0.20, "geo": 0.15, "brand_safety": 0.30}
CENTRE: Final = 0.05  # taken off so that the best pairs rarely reach the cap of 1
LATENT_SD: Final = 0.08
TOPIC_FULL: Final = 1.5  # matched topic weight that makes a full topic fit
DEMOGRAPHIC_FULL: Final = 0.6
WANTED_WEIGHT: Final = 1.0  # a topic the sponsor drew as a target
INDUSTRY_WEIGHT: Final = 0.5  # a topic of its industry it did not draw
EXPLICIT_RISK: Final = 0.6
TOLERANCE: Final = {"strict": 1.0, "moderate": 0.45, "permissive": 0.1}
LIFT_FLOOR: Final = 0.3
LIFT_SLOPE: Final = 1.4
HELD_OUT_IMPRESSIONS: Final = (20_000, 200_000)

# What each genre's audience cares about beyond the show's categories, in the words of `catalogue.INDUSTRIES`.
GENRE_THEMES: Final[dict[str, tuple[str, ...]]] = {
    "business": ("investing", "personal finance", "small business", "startups", "careers", "hiring", "productivity"),
    "technology": ("productivity", "startups", "privacy", "security", "gadgets", "creators", "esports"),
    "true_crime": ("security", "privacy", "sleep", "commuting"),
    "news": ("commuting", "investing", "family", "home", "local"),
    "sports": ("gadgets", "music", "commuting", "esports", "style", "food"),
    "comedy": ("entertainment", "music", "food", "lifestyle", "style"),
    "health": ("wellness", "sleep", "cooking", "food", "hiking"),
    "science": ("wellness", "gadgets", "adventure", "privacy"),
    "film": ("entertainment", "music", "esports"),
    "books": ("lifestyle", "home", "entertainment"),
    "kids": ("family", "pets", "home", "cooking"),
    "history": ("adventure", "local", "commuting"),
    "society": ("lifestyle", "home", "family", "local", "DIY", "pets"),
    "education": ("careers", "productivity", "hiring", "personal finance"),
    "outdoors": ("camping", "hiking", "adventure", "wellness", "local", "style"),
    "society_es": ("family", "food", "local", "music", "lifestyle"),
    "society_fr": ("local", "food", "family", "music"),
}
# How much a genre risks a brand's reputation, before the explicit flag.
GENRE_RISK: Final[dict[str, float]] = {"true_crime": 1.0, "comedy": 0.4, "film": 0.3, "news": 0.3}

# Conversions per impression of a well-placed order by the sponsor's industry: cheap, impulsive buys convert more
# than mattresses and insurance. The demo's audiences are small, so its rates are high for the conversions to show.
BASE_RATES: Final[dict[str, float]] = {
    "consumer goods": 0.030,
    "apparel": 0.026,
    "beverages": 0.032,
    "software": 0.024,
    "web hosting": 0.021,
    "finance": 0.018,
    "insurance": 0.015,
    "meal kits": 0.027,
    "mattresses": 0.014,
    "vpn": 0.029,
    "education": 0.024,
    "health": 0.026,
    "auto": 0.014,
    "travel": 0.015,
    "gaming": 0.032,
    "pets": 0.029,
    "recruiting": 0.015,
    "home": 0.023,
    "streaming": 0.036,
    "electronics": 0.020,
    "outdoor gear": 0.021,
    "food": 0.032,
}
DEFAULT_RATE: Final = 0.0225


@dataclass(frozen=True)
class PairFit:
    """One pair's true fit and the parts it is made of, each in [0, 1] but `latent`."""

    sponsor_id: uuid.UUID
    podcast_id: uuid.UUID
    topic: float
    demographic: float
    geo: float
    brand_safety: float
    latent: float
    fit: float


@dataclass(frozen=True)
class HeldOutOutcome:
    """A simulated campaign of a pair the demo never booked: `rate` is conversions per impression, `lift` that rate
    over the industry's base rate (realised performance with the industry's price point taken out)."""

    sponsor_id: uuid.UUID
    podcast_id: uuid.UUID
    impressions: int
    conversions: int
    rate: float
    lift: float


def pair_fits(rows: TenantRows, seed: int) -> dict[Pair, PairFit]:
    """Every sponsor-show pair of the workspace with its true fit; the same rows and seed give the same fits."""
    shows = catalogue_shows(rows)
    return {
        (sponsor["id"], podcast["id"]): _pair_fit(seed, sponsor, podcast, shows[podcast["id"]], rows.slug)
        for sponsor in rows.sponsors
        for podcast in rows.podcasts
    }


def catalogue_shows(rows: TenantRows) -> dict[uuid.UUID, Show]:
    """Each podcast's catalogue entry, by podcast id (titles are unique within a workspace)."""
    workspace = next(w for w in WORKSPACES if w.slug == rows.slug)
    by_title = {show.title: show for show in workspace.shows}
    return {podcast["id"]: by_title[podcast["title"]] for podcast in rows.podcasts}


def lifts(fits: dict[Pair, PairFit]) -> dict[Pair, float]:
    """Each pair's multiplier of campaign results, 0.3 + 1.4·fit over its mean across all the pairs given."""
    raw = {pair: LIFT_FLOOR + LIFT_SLOPE * fit.fit for pair, fit in fits.items()}
    mean = sum(raw.values()) / len(raw) if raw else 1.0
    return {pair: value / mean for pair, value in raw.items()}


def base_rate(industry: str) -> float:
    return BASE_RATES.get(industry, DEFAULT_RATE)


def heldout_outcomes(rows: TenantRows, seed: int, booked: Iterable[Pair]) -> list[HeldOutOutcome]:
    """A simulated campaign for each pair of the workspace that `booked` (the pairs some insertion order joins)
    leaves out: 20k-200k impressions, and conversions drawn from a Poisson law of mean impressions·base rate·lift,
    with the sponsor's industry's base rate and the pair's lift. Ordered by sponsor id, then podcast id."""
    fits = pair_fits(rows, seed)
    lift = lifts(fits)
    industry = {sponsor["id"]: str(sponsor["industry"]) for sponsor in rows.sponsors}
    excluded = set(booked)
    outcomes = []
    for pair in sorted(fits.keys() - excluded, key=lambda p: (str(p[0]), str(p[1]))):
        rng = _pair_rng(seed, pair, "held out")
        impressions = rng.randrange(HELD_OUT_IMPRESSIONS[0], HELD_OUT_IMPRESSIONS[1] + 1, 100)
        rate = base_rate(industry[pair[0]])
        conversions = poisson(rng, impressions * rate * lift[pair])
        realised = conversions / impressions
        outcomes.append(HeldOutOutcome(pair[0], pair[1], impressions, conversions, realised, realised / rate))
    return outcomes


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw from `rng`: exact (Knuth's product of uniforms) for small means, the normal approximation
    from 30 on, where the two are indistinguishable for a demo."""
    if mean <= 0:
        return 0
    if mean >= 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation, ties given their mean rank; nan when either side is constant."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("spearman needs two sequences of the same length, at least two long")
    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(1, len(values) + 1, dtype=float)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return np.asarray(sums[inverse] / counts[inverse], dtype=float)


# The parts ------------------------------------------------------------------------------------------------------------


def _pair_fit(seed: int, sponsor: Row, podcast: Row, show: Show, slug: str) -> PairFit:
    parts = {
        "topic": topic_fit(sponsor, show),
        "demographic": demographic_fit(sponsor, show),
        "geo": geo_fit(sponsor, show, slug),
        "brand_safety": brand_safety_fit(sponsor, show),
    }
    latent = _pair_rng(seed, (sponsor["id"], podcast["id"]), "latent").gauss(0, LATENT_SD)
    observed = sum(WEIGHTS[name] * value for name, value in parts.items()) - CENTRE
    fit = min(1.0, max(0.0, observed + latent))
    return PairFit(sponsor["id"], podcast["id"], latent=latent, fit=fit, **parts)


def topic_fit(sponsor: Row, show: Show) -> float:
    topics, _ = INDUSTRIES[str(sponsor["industry"])]
    targets = set(sponsor["target_topics"])
    offered = set(show.categories) | set(GENRE_THEMES.get(show.genre, ()))
    matched = sum(WANTED_WEIGHT if topic in targets else INDUSTRY_WEIGHT for topic in topics if topic in offered)
    return min(1.0, matched / TOPIC_FULL)


def demographic_fit(sponsor: Row, show: Show) -> float:
    genre = GENRES[show.genre]
    target = sponsor["target_demo"] or {}
    bands = set(target.get("age_bands") or AGE_BANDS)
    age = sum(weight for band, weight in zip(AGE_BANDS, genre.age, strict=True) if band in bands) / sum(genre.age)
    genders = audience_genders(genre)
    wanted = set(target.get("gender") or genders)
    gender = sum(share for name, share in genders.items() if name in wanted)
    return min(1.0, age * gender / DEMOGRAPHIC_FULL)


def geo_fit(sponsor: Row, show: Show, slug: str) -> float:
    workspace = next(w for w in WORKSPACES if w.slug == slug)
    countries = audience_countries(workspace, show)
    targets = set(sponsor["target_geo"] or countries)
    return sum(weight for country, weight in countries.items() if country in targets) / sum(countries.values())


def brand_safety_fit(sponsor: Row, show: Show) -> float:
    risk = max(GENRE_RISK.get(show.genre, 0.0), EXPLICIT_RISK if show.explicit else 0.0)
    return 1.0 - TOLERANCE[str(sponsor["brand_safety"])] * risk


def _pair_rng(seed: int, pair: Pair, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{pair[0]}:{pair[1]}:{purpose}")  # noqa: S311 - reproducible on purpose
