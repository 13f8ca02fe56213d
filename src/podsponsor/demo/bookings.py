"""Bookings for the demo: each show's ad units (its rate card) and about ten insertion orders per show for the won
deals, plus a few pencilled in for deals in negotiation, made without a database from the seed, the workspace's
rows, `now` and each show's downloads per day.

Flights sit around today, as the listening does. Each order is one of:
- **past**: its flight and any accrual window ended before the listening window, so no counted download is its; its
  delivery and outcome are set here (completed, or under goal with a makegood: open, or settled by a bonus episode,
  a longer flight or a credit), with the events the delivery job and the sellers would have logged;
- **ended**: its flight ran inside the listening window and ended two days ago or earlier; it is active, and the
  loader's delivery refresh judges it (completed, or a makegood) from the counted downloads;
- **live**: its flight runs today; active, and given its delivery by the refresh;
- **future**: scheduled, unassigned (the demo has no episodes after 1 November 2026); a few were cancelled.
A live or ended order carries an `Aim`: the loader sizes its goal from what it delivered, so its pacing (ahead, on
pace, behind) or its outcome is the one drawn here whatever day the demo is loaded.

Every booking rule the service enforces holds: booked episodes of the show published inside the flight, one order
per episode slot, no two same-industry sponsors in one episode unless one waived separation, promo codes unique in
the workspace and vanity slugs unique (sponsor and show in them keep the two workspaces apart).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Final

from podsponsor.bookings.pacing import expected_by
from podsponsor.bookings.service import default_ad_unit_name, default_rate_cpm_cents
from podsponsor.demo import io_terms as terms
from podsponsor.demo.generate import TenantRows
from podsponsor.demo.io_model import ACCRUAL_DAYS, REFRESH_MINUTE, Aim, Context, Ledger, Order, Row, ShowBook, day_start
from podsponsor.demo.io_outcomes import past_outcome, settle_makegoods
from podsponsor.demo.io_rows import io_row, number_orders, order_events, placement_rows, unit_event
from podsponsor.demo.shows import new_id

IOS_PER_SHOW: Final = 10
LEAD_DAYS: Final = 3  # an order's flight starts at least this long after its deal was won
KIND_WEIGHTS: Final = {"past": 58, "ended": 10, "live": 21, "future": 11}
ASSIGNED_SHARE: Final = {"past": 0.88, "ended": 0.8, "live": 0.85, "future": 0.0}
MIN_GOAL: Final = 100
# Live and ended flights start early in the listening window rather than late, so more of them hold episodes.
EARLY_SKEW: Final = 1.8
CANCELLED_SHARE: Final = 0.06  # future orders that were cancelled
WAIVED_SHARE: Final = 0.04
# Live pacing: delivered ÷ expected by today.
PACINGS: Final = {"ahead": (1.12, 1.35), "on pace": (0.96, 1.04), "behind": (0.55, 0.85)}
UNIT_SHAPES: Final = (
    ("post", 30, "host_read", "dynamic"),
    ("mid", 60, "host_read", "dynamic"),
    ("pre", 15, "produced", "dynamic"),
    ("mid", 90, "host_read", "baked_in"),
    ("post", 60, "announcer", "dynamic"),
)
POSITION_WEIGHTS: Final = {"pre": 35, "mid": 45, "post": 20}


@dataclass(frozen=True)
class BookingRows:
    ad_units: list[Row]
    ios: list[Row]
    placements: list[Row]
    makegoods: list[Row]
    events: list[Row]
    aims: dict[uuid.UUID, Aim]


def generate_bookings(rows: TenantRows, seed: int, now: datetime, audience: Mapping[uuid.UUID, float]) -> BookingRows:
    """The workspace's ad units, orders, slots, makegoods and their events as of `now`; `audience` is each show's
    downloads per day (a show missing from it counts as a small one)."""
    by_role = {user["role"]: user["id"] for user in rows.users}
    unit_rng = random.Random(f"{seed}:{rows.slug}:ad units")  # noqa: S311 - reproducible on purpose
    shows = [_show_book(unit_rng, rows, podcast, audience.get(podcast["id"], 10.0)) for podcast in rows.podcasts]
    rng = random.Random(f"{seed}:{rows.slug}:bookings")  # noqa: S311 - reproducible on purpose
    context = Context(rng, rows, now, shows, Ledger(), by_role["sales"])
    orders = [order for deal, count in _deal_counts(context) for order in _deal_orders(context, deal, count)]
    settle_makegoods(context, orders)
    number_orders(orders)
    ad_units = [unit for show in shows for unit in show.units]
    events = [unit_event(context.rng, rows.id, unit, by_role["ops"]) for unit in ad_units]
    events += [event for order in orders for event in order_events(context, order)]
    return BookingRows(
        ad_units=ad_units,
        ios=[io_row(context, order) for order in orders],
        placements=[placement for order in orders for placement in placement_rows(context, order)],
        makegoods=[order.makegood for order in orders if order.makegood is not None],
        events=events,
        aims={order.id: order.aim for order in orders if order.aim is not None},
    )


def sized_goal(start: date, end: date, pacing_mode: str, delivered: int, today: date, aim: Aim) -> int | None:
    """The goal that puts an order with `delivered` impressions at its aim as of `today` (None when it delivered
    nothing, which leaves the drawn goal), rounded as a seller would write it. A pacing aim gets a goal above what
    is delivered, so the order stays live; a `delivered` aim of 1 or more a goal met, else one missed."""
    if delivered <= 0:
        return None
    step = 1 if delivered < 100 else 10 if delivered < 10_000 else 50
    if aim.kind == "delivered":
        exact = delivered / aim.ratio
        return max(1, math.floor(exact / step) * step) if aim.ratio >= 1 else math.ceil(exact / step) * step
    low, high = delivered + 1, delivered * 1000
    while low < high:  # the smallest goal whose pacing is at most the aim (pacing falls as the goal grows)
        goal = (low + high) // 2
        expected = expected_by(goal, pacing_mode, start, end, today, delivered)
        if expected and Fraction(delivered) / expected <= Fraction(aim.ratio):
            high = goal
        else:
            low = goal + 1
    return math.ceil(low / step) * step


# Ad units ------------------------------------------------------------------------------------------------------------


def _show_book(rng: random.Random, rows: TenantRows, podcast: Row, daily: float) -> ShowBook:
    episodes = sorted((e for e in rows.episodes if e["podcast_id"] == podcast["id"]), key=lambda e: e["publish_date"])
    book = ShowBook(podcast, [], [e["publish_date"].astimezone(UTC).date() for e in episodes], episodes, daily)
    # Every show sells a baked-in host read and a dynamic pre-roll, and up to two more spots.
    shapes = [("mid", 60, "host_read", "baked_in"), ("pre", 30, rng.choice(("announcer", "produced")), "dynamic")]
    shapes += rng.sample(UNIT_SHAPES, rng.randint(0, 2))
    # Half the shows keep the default rate card; the others price above or below it, to the quarter dollar.
    factor = None if rng.random() < 0.5 else rng.uniform(0.85, 1.35)
    created = podcast["created_at"] + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 8))
    for position, length, read_type, insertion in shapes:
        rate = default_rate_cpm_cents(position, length)
        if factor is not None:
            rate = round(rate * factor / 25) * 25
        name = default_ad_unit_name(position, length, read_type)
        book.units.append(
            {
                "tenant_id": rows.id,
                "id": new_id(rng),
                "podcast_id": podcast["id"],
                "name": f"{name}, dynamic" if read_type == "host_read" and insertion == "dynamic" else name,
                "position": position,
                "length_seconds": length,
                "read_type": read_type,
                "insertion": insertion,
                "rate_cpm_cents": rate,
                "flat_rate_cents": terms.flat_rate_cents(rate, book.per_episode) if insertion == "baked_in" else None,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            }
        )
    return book


# Deals and flights ---------------------------------------------------------------------------------------------------


def _deal_counts(context: Context) -> list[tuple[Row, int]]:
    """How many orders each deal books: one or two pencilled in for each deal in negotiation, the rest shared by
    the won deals by the square root of their value."""
    rng, campaigns = context.rng, context.rows.campaigns
    pencilled = [(deal, rng.randint(1, 2)) for deal in campaigns if deal["stage"] == "negotiation"]
    won = [deal for deal in campaigns if deal["stage"] == "won"]
    if not won:
        return pencilled
    left = max(IOS_PER_SHOW * len(context.shows) - sum(count for _, count in pencilled), len(won))
    weights = [math.sqrt(deal["value_cents"]) for deal in won]
    shares = [left * weight / sum(weights) for weight in weights]
    counts = [int(share) for share in shares]
    for index in sorted(range(len(won)), key=lambda i: counts[i] - shares[i])[: left - sum(counts)]:
        counts[index] += 1
    return list(zip(won, counts, strict=True)) + pencilled


def _deal_orders(context: Context, deal: Row, count: int) -> list[Order]:
    sponsor = next(s for s in context.rows.sponsors if s["id"] == deal["sponsor_id"])
    agency = terms.agency(context.rng, deal)
    orders: list[Order] = []
    for _ in range(count * 3):  # a kind that does not fit the deal's dates is drawn again
        if len(orders) == count:
            break
        kind = "future" if deal["stage"] == "negotiation" else terms.pick(context.rng, KIND_WEIGHTS)
        order = _order(context, deal, sponsor, kind)
        if order is not None:
            _set_terms(context, order, agency)
            if kind == "past":
                past_outcome(context, order)
            orders.append(order)
    return orders


def _flight(context: Context, deal: Row, kind: str) -> tuple[date, date, Aim | None] | None:
    """Dates for an order of `kind`, after its deal was won (or, pencilled in, after its expected close); None when
    the deal's dates leave no room for that kind."""
    rng, today, first_counted = context.rng, context.today, context.first_counted
    earliest = deal["stage_changed_at"].astimezone(UTC).date() + timedelta(days=LEAD_DAYS)
    if kind == "past":
        room = (first_counted - earliest).days
        if room < 10:
            return None
        length = min(rng.randint(14, 42), room)
        start = earliest + timedelta(days=rng.randint(0, room - length))
        return start, start + timedelta(days=length - 1), None
    if kind == "ended":
        start = _between(rng, max(earliest, first_counted), today - timedelta(days=9), EARLY_SKEW)
        if start is None:
            return None
        length = rng.randint(7, min(28, (today - start).days - 1))
        outcome = rng.uniform(1.01, 1.12) if rng.random() < 0.6 else rng.uniform(0.7, 0.93)
        return start, start + timedelta(days=length - 1), Aim("delivered", outcome)
    if kind == "live":
        start = _between(rng, max(earliest, first_counted + timedelta(days=1)), today - timedelta(days=4), EARLY_SKEW)
        if start is None:
            return None
        pace = terms.pick(rng, {"ahead": 30, "on pace": 40, "behind": 30})
        elapsed = (today - start).days + 1
        shortest = max(elapsed + 4, 14, math.ceil(elapsed * 1.7) if pace == "ahead" else 0)
        length = rng.randint(shortest, shortest + 35)
        return start, start + timedelta(days=length - 1), Aim("pacing", rng.uniform(*PACINGS[pace]))
    if deal["stage"] == "negotiation":
        earliest = max(today + timedelta(days=7), deal["expected_close"] + timedelta(days=LEAD_DAYS))
    start = max(today + timedelta(days=1), earliest) + timedelta(days=rng.randint(0, 100))
    return start, start + timedelta(days=rng.randint(14, 42) - 1), None


def _between(rng: random.Random, first: date, last: date, skew: float = 1.0) -> date | None:
    """A day from `first` to `last`; a skew above 1 favours the early ones."""
    if first > last:
        return None
    days = (last - first).days
    return first + timedelta(days=min(int((days + 1) * rng.random() ** skew), days))


def _order(context: Context, deal: Row, sponsor: Row, kind: str) -> Order | None:
    rng = context.rng
    flight = _flight(context, deal, kind)
    if flight is None:
        return None
    start, end, aim = flight
    shows = [show for show in context.shows if show.days and show.days[0] <= start]
    if not shows:
        return None
    topics = set(sponsor["target_topics"])
    show = rng.choices(shows, weights=[1 + 4 * len(topics & set(s.podcast["categories"])) for s in shows])[0]
    released = show.released(start, min(end, context.today)) if kind != "future" else []
    # Downloads must be the order's own to be judged by the job: a baked-in spot keeps accruing after its flight.
    dynamic_only = (
        kind == "ended"
        or (kind == "live" and not released)
        or (kind == "past" and end > context.first_counted - timedelta(days=ACCRUAL_DAYS + 1))
    )
    units = [unit for unit in show.units if not dynamic_only or unit["insertion"] == "dynamic"]
    # The ad units in the order the buyer prefers them (by position); the first with a free slot in the wanted
    # episodes is booked, else the first one, unassigned.
    units = sorted(units, key=lambda u: rng.random() ** (1 / POSITION_WEIGHTS[u["position"]]), reverse=True)
    unit = units[0]
    waived = rng.random() < WAIVED_SHARE
    booked: list[int] = []
    if released and rng.random() < ASSIGNED_SHARE[kind]:
        wanted = sorted(rng.sample(released, min(len(released), rng.randint(1, 6))))
        for candidate in units:
            booked = [
                i for i in wanted if context.ledger.free(candidate["id"], show.episodes[i]["id"], sponsor, waived)
            ]
            if booked:
                unit = candidate
                break
        for index in booked:
            context.ledger.hold(unit["id"], show.episodes[index]["id"], sponsor, waived)
    order = Order(
        id=new_id(rng),
        kind=kind,
        deal=deal,
        sponsor=sponsor,
        show=show,
        unit=unit,
        start=start,
        end=end,
        created_at=_booked_at(context, deal, unit, start),
        booked=booked,
        waived=waived,
    )
    order.goal = _nice(_expected(order) * rng.uniform(0.85, 1.15))
    order.aim = aim
    return order


def _booked_at(context: Context, deal: Row, unit: Row, start: date) -> datetime:
    """When the order was booked: after its deal moved to its stage and its ad unit existed, before the flight and
    before now, at most 45 days before the flight when there is room for it."""
    possible: datetime = max(deal["stage_changed_at"], unit["created_at"])
    last = min(day_start(start) - timedelta(hours=6), context.now - timedelta(hours=1))
    first = min(max(possible, day_start(start) - timedelta(days=45)), last)
    return first + (last - first) * context.rng.random()


def _expected(order: Order) -> float:
    """Impressions the order should deliver over its flight, from its show's downloads per day."""
    show, days = order.show, (order.end - order.start).days + 1
    baked_in = order.unit["insertion"] == "baked_in"
    if order.booked:
        return len(order.booked) * show.per_episode * (1.0 if baked_in else 0.6)
    if not baked_in:
        return show.daily * days
    return max(1, round(days / show.gap)) * show.per_episode


def _nice(value: float) -> int:
    """A goal as a seller writes it: to the 10 under a thousand, the 50 under ten thousand, else the 100."""
    step = 10 if value < 1000 else 50 if value < 10_000 else 100
    return max(MIN_GOAL, round(value / step) * step)


# Terms ---------------------------------------------------------------------------------------------------------------


def _set_terms(context: Context, order: Order, agency: tuple[str, str] | None) -> None:
    rng, sponsor, ledger = context.rng, order.sponsor, context.ledger
    price = terms.prices(rng, order.unit, order.show.per_episode)
    live = order.kind in ("live", "ended")
    # A live order's goal is sized for its pacing by the loader; asap would expect the whole goal from day one.
    pacing_mode = terms.pick(rng, {"even": 80, "front_loaded": 20} if live else terms.PACING_WEIGHTS)
    code = terms.promo_code(rng, sponsor["name"], ledger.promo_codes) if rng.random() < 0.8 else None
    slug = (
        terms.vanity_slug(sponsor["name"], order.show.podcast["title"], ledger.slugs) if rng.random() < 0.55 else None
    )
    order.columns |= {
        "agency_name": agency[0] if agency else None,
        "agency_contact": agency[1] if agency else None,
        "pricing_model": price.model,
        "cpm_cents": price.cpm_cents,
        "flat_cents": price.flat_cents,
        "cpa_cents": price.cpa_cents,
        "max_spend_cents": terms.max_spend(rng, price, order.goal),
        "currency": order.deal["currency"],
        "pacing_mode": pacing_mode,
        "talking_points": terms.talking_points(rng, sponsor, code, slug),
        "promo_code": code,
        "vanity_slug": slug,
        "landing_url": terms.landing_url(rng, sponsor),
        "exclusivity": not order.waived and rng.random() < 0.9,
        "separation_waived": order.waived,
        "makegood_terms": rng.choice(terms.MAKEGOOD_TERMS),
        "notes": rng.choice(terms.IO_NOTES),
    }
    order.status_changed_at = order.created_at
    if live:
        order.status, order.activated_at = "active", day_start(order.start, REFRESH_MINUTE)
        order.status_changed_at = order.activated_at
    elif order.kind == "future" and rng.random() < CANCELLED_SHARE:
        order.status = "cancelled"
        order.status_changed_at = order.created_at + (context.now - order.created_at) * rng.uniform(0.2, 0.9)
