"""Delivery of many orders at once, by the rules of bookings.delivery: the same counting plan
(bookings.pacing.counting_plan), the same pacing, spend and eCPM (bookings.delivery.summarize), with the orders'
slots, releases and downloads per day read in one statement each instead of several per order.

The downloads come from the dashboards' rollup, one source per episode and day (host logs over prefix), which is the
choice measurement.reports.downloads_for_delivery makes over the counted downloads themselves: an order's numbers
here are the numbers of GET /api/v1/io/{id}/delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.bookings.delivery import IoDelivery, summarize
from podsponsor.bookings.delivery_repository import PlacementRow
from podsponsor.bookings.pacing import CountingPlan, counting_plan
from podsponsor.bookings.settings import booking_settings
from podsponsor.dashboards import repository
from podsponsor.dashboards.repository import OrderRow

Span = tuple[uuid.UUID, uuid.UUID, date, date]


@dataclass
class OrderDelivery:
    order: OrderRow
    plan: CountingPlan
    as_of: date
    # Downloads per UTC day that count for the order, up to `as_of`.
    per_day: list[tuple[date, int]]

    @cached_property
    def found(self) -> IoDelivery:
        """Delivered, expected, pacing, spend and the daily series, as bookings.delivery states them."""
        return summarize(self.order.io, self.plan, self.per_day, self.as_of)

    def cumulative(self, day: date) -> int:
        """Impressions delivered by the end of `day`."""
        return sum(count for counted, count in self.per_day if counted <= day)


async def deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, orders: Sequence[OrderRow], as_of: date
) -> list[OrderDelivery]:
    """Each order's delivery as of the end of `as_of`, in the order given."""
    if not orders:
        return []
    settings = await booking_settings(session, tenant_id)
    slots: dict[uuid.UUID, list[PlacementRow]] = {}
    for row in await repository.placements(session, tenant_id, [order.io.id for order in orders]):
        slots.setdefault(row.io_id, []).append(row)
    unassigned = [
        (o.io.id, o.io.podcast_id, o.io.flight_start, o.io.flight_end)
        for o in orders
        if not any(p.bonus_from is None for p in slots.get(o.io.id, []))
    ]
    releases = await repository.releases(session, tenant_id, unassigned)
    plans = {
        o.io.id: counting_plan(
            o.io.flight_start,
            o.io.flight_end,
            o.insertion,
            slots.get(o.io.id, []),
            releases.get(o.io.id, []),
            settings.accrual_days,
        )
        for o in orders
    }
    episode_spans, show_spans = _spans(orders, plans, as_of)
    per_day = await repository.delivered_by_day(session, tenant_id, episode_spans, show_spans)
    return [OrderDelivery(o, plans[o.io.id], as_of, per_day.get(o.io.id, [])) for o in orders]


def _spans(
    orders: Sequence[OrderRow], plans: dict[uuid.UUID, CountingPlan], as_of: date
) -> tuple[list[Span], list[Span]]:
    """The days each order counts up to `as_of` (a cancelled order stops the day it was cancelled)."""
    episodes: list[Span] = []
    shows: list[Span] = []
    for order in orders:
        io, plan = order.io, plans[order.io.id]
        until = min(as_of, io.status_changed_at.astimezone(UTC).date()) if io.status == "cancelled" else as_of
        for episode_id, (first, last) in plan.episodes.items():
            if first <= min(last, until):
                episodes.append((io.id, episode_id, first, min(last, until)))
        if plan.show_days is not None and plan.show_days[0] <= min(plan.show_days[1], until):
            shows.append((io.id, io.podcast_id, plan.show_days[0], min(plan.show_days[1], until)))
    return episodes, shows
