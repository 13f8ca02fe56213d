"""Pacing, spend and what counts, as pure arithmetic on an order's terms and a given `today`: expected impressions
by pacing mode, pacing %, spend to date by pricing model, effective CPM, a shortfall's value, and which downloads
(episodes and days) are an order's impressions. docs/delivery.md states each rule.

What counts (IAB downloads of one source per episode and day; see measurement.reports.downloads_for_delivery):
- dynamic insertion, episodes booked: downloads of those episodes during the flight;
- dynamic insertion, unassigned: downloads of every episode of the show during the flight;
- baked-in, episodes booked: downloads of those episodes released by the flight's end, from the flight's start to
  the later of its end and the end of the episode's accrual window (release day + accrual days - 1);
- baked-in, unassigned: the same, for the show's episodes released during the flight;
- a bonus episode given as a makegood: from the day the makegood was settled to the end of the accrual window
  counted from the later of that day and the episode's release.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Final

from podsponsor.bookings.delivery_repository import PlacementRow
from podsponsor.bookings.models import InsertionOrder

FRONT_LOADED_FACTOR: Final = Fraction(5, 4)
CPA_NOTE: Final = "CPA is billed per conversion, which delivery does not see: spend here is 0"
HYBRID_NOTE: Final = "the CPM part only: the CPA part is billed per conversion, which delivery does not see"


# Pacing and spend (pure) ----------------------------------------------------------------------------------------------


def round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def flight_days(start: date, end: date) -> int:
    return (end - start).days + 1


def elapsed_days(start: date, end: date, today: date) -> int:
    """Days of the flight up to and including today, from 0 (not started) to the flight's length (ended)."""
    return min(max((today - start).days + 1, 0), flight_days(start, end))


def expected_by(goal: int, mode: str, start: date, end: date, today: date, delivered: int) -> Fraction:
    """Impressions the order should have delivered by the end of `today` under its pacing mode."""
    elapsed = elapsed_days(start, end, today)
    if elapsed == 0:
        return Fraction(0)
    if mode == "asap":
        return Fraction(goal)
    even = Fraction(goal * elapsed, flight_days(start, end))
    if mode == "even":
        return even
    if mode == "front_loaded":
        # Ahead of even until half the goal is in, then even; never past the goal.
        return min(Fraction(goal), even * FRONT_LOADED_FACTOR) if 2 * delivered < goal else even
    raise ValueError(f"unknown pacing mode {mode!r}")


def pacing(delivered: int, expected: Fraction) -> Fraction | None:
    """Delivered ÷ expected; None when nothing is expected yet (before the flight)."""
    return Fraction(delivered) / expected if expected else None


def as_pct(ratio: Fraction | None) -> float | None:
    """A ratio as a percentage to one decimal."""
    return round_half_up(ratio * 1000) / 10 if ratio is not None else None


def pacing_pct(delivered: int, expected: Fraction) -> float | None:
    return as_pct(pacing(delivered, expected))


@dataclass(frozen=True)
class Price:
    model: str
    cpm_cents: int | None = None
    flat_cents: int | None = None
    cpa_cents: int | None = None
    max_spend_cents: int | None = None

    @classmethod
    def of(cls, io: InsertionOrder) -> Price:
        return cls(io.pricing_model, io.cpm_cents, io.flat_cents, io.cpa_cents, io.max_spend_cents)


@dataclass(frozen=True)
class Spend:
    cents: int
    capped: bool = False
    note: str | None = None


def cpm_cost(impressions: int, cpm_cents: int | None) -> int:
    return round_half_up(Fraction(impressions * (cpm_cents or 0), 1000))


def spend_to_date(price: Price, delivered: int, aired: int) -> Spend:
    """What the order has cost so far, in cents: CPM on delivered impressions, flat per aired episode, nothing for
    CPA (conversions are not seen here), the CPM part of a hybrid; never more than the maximum spend."""
    note = None
    if price.model == "cpm":
        cents = cpm_cost(delivered, price.cpm_cents)
    elif price.model == "flat":
        cents = (price.flat_cents or 0) * aired
    elif price.model == "cpa":
        cents, note = 0, CPA_NOTE
    elif price.model == "hybrid":
        cents, note = cpm_cost(delivered, price.cpm_cents), HYBRID_NOTE
    else:
        raise ValueError(f"unknown pricing model {price.model!r}")
    if price.max_spend_cents is not None and cents > price.max_spend_cents:
        return Spend(price.max_spend_cents, True, note)
    return Spend(cents, False, note)


def effective_cpm(spend_cents: int, delivered: int) -> int | None:
    """Cents per thousand delivered impressions; None before the first impression."""
    return round_half_up(Fraction(spend_cents * 1000, delivered)) if delivered > 0 else None


def shortfall_value(price: Price, shortfall: int, goal: int, aired: int) -> int | None:
    """What missing impressions are worth: at the CPM (CPM, hybrid), or the flat price pro rata of the goal; a CPA
    order's impressions have no price."""
    if price.model in ("cpm", "hybrid") and price.cpm_cents is not None:
        return cpm_cost(shortfall, price.cpm_cents)
    if price.model == "flat" and price.flat_cents is not None:
        return round_half_up(Fraction((price.flat_cents * aired) * shortfall, goal))
    return None


# What counts (pure) ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountingPlan:
    """Which downloads are an order's impressions: per-episode day ranges and/or a whole show's days, the last day
    anything counts, and the release days of the episodes billed at a flat price."""

    episodes: dict[uuid.UUID, tuple[date, date]]
    show_days: tuple[date, date] | None
    last_day: date
    billable_releases: tuple[date, ...]

    def aired(self, today: date) -> int:
        return sum(1 for released in self.billable_releases if released <= today)


def counting_plan(
    start: date,
    end: date,
    insertion: str,
    placements: Sequence[PlacementRow],
    show_releases: Sequence[tuple[uuid.UUID, date]],
    accrual_days: int,
) -> CountingPlan:
    """`show_releases`: the show's episodes released during the flight (read for unassigned orders)."""
    booked = [p for p in placements if p.bonus_from is None]
    bonuses = [p for p in placements if p.bonus_from is not None]
    aired_in = [(p.episode_id, p.released) for p in booked] if booked else list(show_releases)
    # A bonus slot runs free, whether given as a makegood or added when the order was booked.
    paid = [(p.episode_id, p.released) for p in booked if not p.bonus] if booked else aired_in
    billable = tuple(sorted(day for _, day in paid if day is not None and start <= day <= end))
    spans: dict[uuid.UUID, tuple[date, date]] = {}
    show_days = None
    if insertion == "baked_in":
        for episode_id, released in aired_in:
            if released is not None and released <= end:
                spans[episode_id] = (start, max(end, released + timedelta(days=accrual_days - 1)))
    elif booked:
        spans = {p.episode_id: (start, end) for p in booked}
    else:
        show_days = (start, end)
    for bonus in bonuses:
        first = bonus.bonus_from or start
        last = max(first, bonus.released or first) + timedelta(days=accrual_days - 1)
        if show_days is not None:
            first = max(first, end + timedelta(days=1))  # the show's days already count it during the flight
        if first > last:
            continue
        held = spans.get(bonus.episode_id)
        spans[bonus.episode_id] = (min(first, held[0]), max(last, held[1])) if held else (first, last)
    last_day = max([end, *(last for _, last in spans.values())])
    return CountingPlan(spans, show_days, last_day, billable)
