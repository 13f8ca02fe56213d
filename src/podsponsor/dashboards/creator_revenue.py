"""The creator's sponsor revenue card: booked, delivered and attributed revenue by month and sponsor, in each
currency, over the orders that are not cancelled and the conversions credited to the shows."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings.pacing import Price, round_half_up, spend_to_date
from podsponsor.dashboards import repository
from podsponsor.dashboards.cards import column, money_figure, table
from podsponsor.dashboards.creator import booked_deliveries
from podsponsor.dashboards.deliveries import OrderDelivery
from podsponsor.dashboards.schemas import Card, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.sales import service as sales

Key = tuple[str, str, str]  # (YYYY-MM, sponsor name, currency)

BOOKED_NOTE: Final = (
    "each order's value at goal (CPM: goal x CPM ÷ 1000; flat: price x paid episodes; hybrid: the CPM part; CPA: 0; "
    "never above the maximum spend), spread evenly over its flight days; the days of this month in the period"
)
EARNED_NOTE: Final = (
    "spend on the impressions delivered on the period's days of this month (CPM on delivered impressions, flat "
    "price per paid episode released, capped at the maximum spend), as delivery computes spend to date"
)
ATTRIBUTED_NOTE: Final = (
    "the sponsor's conversion revenue credited to the shows by each campaign's latest attribution run under its "
    "default model, by the month of the conversion"
)
# The three amounts of a month and sponsor, in the order of Revenue.amounts: (key, label, note).
AMOUNTS: Final = (
    ("booked", "Booked", BOOKED_NOTE),
    ("delivered", "Delivered", EARNED_NOTE),
    ("attributed", "Attributed", ATTRIBUTED_NOTE),
)


@dataclass(frozen=True)
class Revenue:
    month: str
    sponsor: str
    currency: str
    booked_cents: int
    delivered_cents: int
    attributed_revenue_cents: int

    @property
    def amounts(self) -> tuple[int, int, int]:
        return self.booked_cents, self.delivered_cents, self.attributed_revenue_cents

    def out(self) -> dict[str, Value]:
        return {
            "month": self.month,
            "sponsor": self.sponsor,
            "currency": self.currency,
            "booked_cents": self.booked_cents,
            "delivered_cents": self.delivered_cents,
            "attributed_revenue_cents": self.attributed_revenue_cents,
        }


async def revenue_card(
    session: AsyncSession, subject: Subject, scope: Period, orders: list[OrderDelivery] | None = None
) -> Card:
    """`orders`: booked_deliveries(...) when the caller has it already."""
    found = orders if orders is not None else await booked_deliveries(session, subject, scope)
    booked: dict[Key, Fraction] = defaultdict(Fraction)
    delivered: dict[Key, int] = defaultdict(int)
    for delivery in found:
        _add_booked(booked, delivery, scope)
        _add_delivered(delivered, delivery, scope)
    attributed = await _attributed(
        session, subject, scope, {d.order.io.sponsor_id: d.order.sponsor_name for d in found}
    )
    rows = [
        Revenue(*key, round_half_up(booked.get(key, Fraction(0))), delivered.get(key, 0), round(attributed.get(key, 0)))
        for key in sorted(set(booked) | set(delivered) | set(attributed))
    ]
    return Card(
        id="sponsor_revenue",
        title="Sponsor revenue",
        note=(
            f"Orders that are not cancelled, by month and sponsor, over the days {scope.start} to {scope.end}; "
            f"delivered to {scope.as_of}."
        ),
        notices=[] if rows else ["no booked order or attributed conversion in this period"],
        figures=_revenue_figures(rows),
        series=_revenue_series(rows),
        tables=[_revenue_table(rows)],
    )


async def _attributed(
    session: AsyncSession, subject: Subject, scope: Period, sponsors: dict[uuid.UUID, str]
) -> dict[Key, float]:
    """Attributed revenue of the period by month, sponsor name and currency; `sponsors`: the names known already."""
    attributed: dict[Key, float] = defaultdict(float)
    for month, sponsor_id, currency, cents in await repository.attributed_revenue(
        session, subject.tenant_id, scope.since, scope.until, None
    ):
        name = sponsors.get(sponsor_id) or await _sponsor_name(session, subject, sponsor_id, sponsors)
        attributed[(month, name, currency)] += cents
    return attributed


async def _sponsor_name(
    session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID, known: dict[uuid.UUID, str]
) -> str:
    """A sponsor credited with conversions in the period but without an order in it."""
    sponsor = await sales.get_sponsor(session, subject, sponsor_id)
    known[sponsor_id] = sponsor.name
    return sponsor.name


def _months(first: date, last: date) -> list[tuple[str, date, date]]:
    """(YYYY-MM, first day, last day) of each month's part of [first, last]."""
    spans = []
    while first <= last:
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        spans.append((first.strftime("%Y-%m"), first, min(last, following - timedelta(days=1))))
        first = following
    return spans


def _add_booked(booked: dict[Key, Fraction], delivery: OrderDelivery, scope: Period) -> None:
    io = delivery.order.io
    value = spend_to_date(Price.of(io), io.impression_goal, len(delivery.plan.billable_releases)).cents
    flight = (io.flight_end - io.flight_start).days + 1
    for month, first, last in _months(max(io.flight_start, scope.start), min(io.flight_end, scope.end)):
        booked[(month, delivery.order.sponsor_name, io.currency)] += Fraction(value * ((last - first).days + 1), flight)


def _add_delivered(delivered: dict[Key, int], delivery: OrderDelivery, scope: Period) -> None:
    """Spend to date at the end of each month of the period, less spend to date the day before: the maximum spend and
    flat prices per aired episode apply exactly as to the order's spend to date."""
    io, price = delivery.order.io, Price.of(delivery.order.io)

    def spent(day: date) -> int:
        return spend_to_date(price, delivery.cumulative(day), delivery.plan.aired(day)).cents

    before = spent(scope.start - timedelta(days=1))
    for month, _, last in _months(scope.start, scope.as_of):
        now = spent(last)
        if now != before:
            delivered[(month, delivery.order.sponsor_name, io.currency)] += now - before
        before = now


def _revenue_figures(rows: list[Revenue]) -> list[Figure]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        total = totals[row.currency]
        for at, amount in enumerate(row.amounts):
            total[at] += amount
    return [
        money_figure(label, amount, currency, note)
        for currency, amounts in sorted(totals.items())
        for amount, (_, label, note) in zip(amounts, AMOUNTS, strict=True)
    ]


def _revenue_series(rows: list[Revenue]) -> list[Series]:
    by_currency: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for row in rows:
        month = by_currency[row.currency][row.month]
        for at, amount in enumerate(row.amounts):
            month[at] += amount
    return [
        Series(
            key=key,
            label=f"{label} ({currency})",
            unit="cents",
            currency=currency,
            group=currency,
            note=f"all sponsors, by month: {note}",
            points=[Point(x=month, y=values[at]) for month, values in sorted(months.items())],
        )
        for currency, months in sorted(by_currency.items())
        for at, (key, label, note) in enumerate(AMOUNTS)
    ]


def _revenue_table(rows: list[Revenue]) -> Table:
    columns = [
        column("month", "Month"),
        column("sponsor", "Sponsor"),
        column("currency", "Currency"),
        column("booked_cents", "Booked", "cents", BOOKED_NOTE),
        column("delivered_cents", "Delivered", "cents", EARNED_NOTE),
        column("attributed_revenue_cents", "Attributed", "cents", ATTRIBUTED_NOTE),
    ]
    return table("by_month_and_sponsor", "By month and sponsor", columns, [row.out() for row in rows])
