"""Past orders of the demo: their flights (and accrual windows) ended before the listening window, so their delivery
and outcome are set here as the delivery job and the sellers would have left them: completed, or judged short with
a makegood, then left open or settled by a bonus episode, a longer flight or a credit."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Final

from podsponsor.bookings.delivery_repository import PlacementRow
from podsponsor.bookings.pacing import CountingPlan, Price, counting_plan, shortfall_value
from podsponsor.demo import io_terms as terms
from podsponsor.demo.io_model import ACCRUAL_DAYS, REFRESH_MINUTE, Context, Order, day_start
from podsponsor.demo.shows import new_id

MAKEGOOD_SHARE: Final = 0.3  # past orders that ended under goal
# A makegood gets a bonus episode, else a longer flight, if it fits (it must run its course before the listening
# window, which only the earliest makegoods' do) and that kind is used no more than credits so far; else a credit or
# it stays open ("open"), whichever is used less. So each kind shows up, the scarce ones first.
MAKING_UP: Final = ("bonus_episode", "extended_flight")
CLOSING: Final = ("credit", "open")


def _plan(order: Order, *, end: date | None = None, bonus: tuple[int, date] | None = None) -> CountingPlan:
    """Which downloads are the order's (as the delivery job reads them), with its flight ending at `end` and a bonus
    episode given on a day, if given."""
    show, last = order.show, end or order.end
    slots = [PlacementRow(order.id, show.episodes[i]["id"], False, show.days[i], None) for i in order.booked]
    if bonus is not None:
        index, settled = bonus
        slots.append(PlacementRow(order.id, show.episodes[index]["id"], True, show.days[index], settled))
    releases = [(show.episodes[i]["id"], show.days[i]) for i in show.released(order.start, last)]
    return counting_plan(order.start, last, order.unit["insertion"], slots, releases, ACCRUAL_DAYS)


def _price(order: Order) -> Price:
    c = order.columns
    return Price(c["pricing_model"], c["cpm_cents"], c["flat_cents"], c["cpa_cents"], c["max_spend_cents"])


def past_outcome(context: Context, order: Order) -> None:
    """What the delivery job made of a past order: completed when its goal was met, else judged short, with a
    makegood (settled later by `settle_makegoods`)."""
    rng = context.rng
    order.activated_at = day_start(order.start, REFRESH_MINUTE)
    plan = _plan(order)
    if rng.random() >= MAKEGOOD_SHARE:
        span = (plan.last_day - order.start).days
        reached = order.start + timedelta(days=rng.randint(math.ceil(span * 0.6), span + 1))
        _complete(rng, order, day_start(reached, rng.randint(0, 23) * 60 + REFRESH_MINUTE))
        return
    judged = day_start(plan.last_day + timedelta(days=2), REFRESH_MINUTE)
    order.delivered = math.floor(order.goal * rng.uniform(0.72, 0.95))
    order.status, order.status_changed_at, order.outcome_at = "makegood", judged, judged
    shortfall = order.goal - order.delivered
    order.makegood = {
        "tenant_id": context.rows.id,
        "id": new_id(rng),
        "io_id": order.id,
        "goal": order.goal,
        "delivered": order.delivered,
        "shortfall_impressions": shortfall,
        "shortfall_cents": shortfall_value(_price(order), shortfall, order.goal, plan.aired(judged.date())),
        "settlement": None,
        "bonus_episode_id": None,
        "extended_to": None,
        "credit_cents": None,
        "settled_at": None,
        "settled_by": None,
        "note": "",
        "created_at": judged,
        "updated_at": judged,
    }


def settle_makegoods(context: Context, orders: Iterable[Order]) -> None:
    """Settles the past orders' makegoods, earliest judged first (those have the room for a bonus episode or a
    longer flight to run its course before the listening window)."""
    rng = context.rng
    short = sorted((o for o in orders if o.makegood is not None), key=lambda o: (o.outcome_at, o.id))
    for order in short:
        assert order.makegood is not None
        settled = order.makegood["created_at"] + timedelta(
            days=rng.randint(1, 6), hours=rng.randint(13, 21), minutes=rng.randint(0, 59)
        )
        for kind in _kinds_to_try(context):
            if kind == "open" or _settle(context, order, kind, settled):
                context.settlements[kind] += 1
                break


def _kinds_to_try(context: Context) -> list[str]:
    used = context.settlements
    making_up = [kind for kind in MAKING_UP if used[kind] == 0 or used[kind] <= used["credit"]]
    return [*making_up, *sorted(CLOSING, key=lambda kind: (used[kind], CLOSING.index(kind)))]


def _complete(rng: random.Random, order: Order, at: datetime) -> None:
    order.delivered = math.ceil(order.goal * rng.uniform(1.0, 1.05))
    order.status, order.status_changed_at = "completed", at
    if order.makegood is None:
        order.outcome_at = at
    else:
        order.final_at = at


def _settle(context: Context, order: Order, kind: str, settled: datetime) -> bool:
    """Settles the order's makegood by `kind` if it fits; False when it does not. The order's delivery is set here,
    so a bonus episode or a longer flight must have run its course (and been judged) before the listening window;
    the order then met its goal."""
    rng, makegood = context.rng, order.makegood
    assert makegood is not None
    done = {"settlement": kind, "settled_at": settled, "settled_by": context.seller, "updated_at": settled}
    done["note"] = terms.SETTLEMENT_NOTES[kind]
    if kind == "credit":
        value = makegood["shortfall_cents"]
        # A CPA order's shortfall has no price: the seller names a credit.
        makegood |= done | {
            "credit_cents": value if value is not None else order.columns["cpa_cents"] * rng.randint(2, 6)
        }
        return True
    day, bonus, extended_to = settled.date(), None, None
    if kind == "bonus_episode":
        # The first free episode whose accrual window ends before the listening window.
        fitting = (
            i
            for i in _bonus_episodes(context, order, day)
            if _done_before_listening(context, order, bonus=i, settled=day)
        )
        bonus = next(fitting, None)
        if bonus is None:
            return False
    else:
        extended_to = day + timedelta(days=rng.randint(7, 21))
        if not _done_before_listening(context, order, end=extended_to):
            return False
    if bonus is not None:
        episode_id = order.show.episodes[bonus]["id"]
        context.ledger.hold(order.unit["id"], episode_id, order.sponsor, order.waived)
        order.bonus, done["bonus_episode_id"] = bonus, episode_id
    if extended_to is not None:
        order.booked_end, order.end, done["extended_to"] = order.end, extended_to, extended_to
    makegood |= done
    last = _plan(order, end=extended_to, bonus=(bonus, day) if bonus is not None else None).last_day
    days = (last - day).days
    reached = day + timedelta(days=rng.randint(min(2, days), max(days + 1, 2)))
    _complete(rng, order, day_start(reached, rng.randint(0, 23) * 60 + REFRESH_MINUTE))
    return True


def _done_before_listening(
    context: Context, order: Order, *, end: date | None = None, bonus: int | None = None, settled: date | None = None
) -> bool:
    """Whether the order, with its flight ending at `end` or a bonus episode given on `settled`, is judged before
    the listening window begins."""
    given = (bonus, settled) if bonus is not None and settled is not None else None
    return _plan(order, end=end, bonus=given).last_day + timedelta(days=2) < context.first_counted


def _bonus_episodes(context: Context, order: Order, settled: date) -> list[int]:
    """The show's free episodes for a bonus slot: those out in the two months before the settlement, latest first
    (a dynamic spot is inserted into the back catalogue as easily), then the next ones (within two weeks)."""
    show, ledger = order.show, context.ledger
    earlier = list(reversed(show.released(settled - timedelta(days=60), settled)))
    later = show.released(settled + timedelta(days=1), settled + timedelta(days=14))
    return [
        index
        for index in earlier + later
        if index not in order.booked
        and ledger.free(order.unit["id"], show.episodes[index]["id"], order.sponsor, order.waived)
    ]
