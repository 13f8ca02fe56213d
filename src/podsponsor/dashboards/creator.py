"""The creator's cards: pacing of every live order, sponsor revenue (booked, delivered, attributed) by month and
sponsor, makegoods owed, downloads by day, and the first 30 days of the latest episodes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from fractions import Fraction
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings import makegoods
from podsponsor.bookings.models import InsertionOrder, Makegood
from podsponsor.bookings.pacing import Price, as_pct, round_half_up, spend_to_date
from podsponsor.dashboards import repository
from podsponsor.dashboards.deliveries import OrderDelivery, deliveries
from podsponsor.dashboards.schemas import Card, Column, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.listing import window
from podsponsor.measurement import reports as measurement
from podsponsor.sales import service as sales

LIVE: Final = ("scheduled", "active")
BOOKED: Final = ("scheduled", "active", "completed", "makegood")
# An order delivering under this share of what its pacing mode expects by now is behind.
BEHIND_PCT: Final = 90.0
LATEST_EPISODES: Final = 10
TABLE_ROWS: Final = 200
MAKEGOOD_PAGE: Final = 200

DELIVERED_NOTE: Final = (
    "IAB downloads of the order's episodes counted in its flight (baked-in spots keep accruing for the accrual "
    "window after release); host logs over prefix where both counted an episode on a day"
)
EXPECTED_NOTE: Final = (
    "goal x elapsed flight days ÷ flight days (even); the whole goal (ASAP); even x 1.25 until half the goal is "
    "delivered (front-loaded)"
)
PACING_NOTE: Final = "delivered ÷ expected by the end of the day, in percent"
DOWNLOADS_NOTE: Final = (
    "IAB downloads (docs/methodology.md) of every episode, one source per episode and day: host logs where they "
    "counted the episode that day, else the prefix"
)


# Pacing ---------------------------------------------------------------------------------------------------------------


async def booked_deliveries(session: AsyncSession, subject: Subject, scope: Period) -> list[OrderDelivery]:
    """Delivery of every order that is not cancelled and whose flight overlaps the period (what the pacing and
    revenue cards read, once for both)."""
    orders = await repository.orders(session, subject.tenant_id, statuses=BOOKED, first=scope.start, last=scope.end)
    return await deliveries(session, subject.tenant_id, orders, scope.as_of)


async def pacing_card(
    session: AsyncSession, subject: Subject, scope: Period, booked: list[OrderDelivery] | None = None
) -> Card:
    """`booked`: booked_deliveries(...) when the caller has it already."""
    if booked is None:
        booked = await booked_deliveries(session, subject, scope)
    found = [d for d in booked if d.order.io.status in LIVE]
    started = [(d.found.pacing, d.order.io.impression_goal) for d in found if d.found.pacing is not None]
    weight = sum(goal for _, goal in started)
    overall = sum((ratio * goal for ratio, goal in started), Fraction(0)) / weight if weight else None
    behind = [d for d in found if d.found.pacing_pct is not None and d.found.pacing_pct < BEHIND_PCT]
    return Card(
        id="pacing",
        title="Pacing of live orders",
        note=(
            f"Scheduled and active orders whose flight overlaps {scope.start} to {scope.end}, delivered against "
            f"expected as of {scope.as_of}."
        ),
        notices=[] if found else ["no live order has a flight in this period"],
        figures=[
            Figure(label="Live orders", value=len(found), unit="count", note="scheduled or active, flight in period"),
            Figure(
                label="Delivered",
                value=sum(d.found.delivered for d in found),
                unit="impressions",
                note=f"sum over the live orders; each: {DELIVERED_NOTE}",
            ),
            Figure(
                label="Expected by now",
                value=sum(d.found.expected for d in found),
                unit="impressions",
                note=f"sum over the live orders; each: {EXPECTED_NOTE}",
            ),
            Figure(
                label="Pacing",
                value=as_pct(overall),
                unit="percent",
                note="each started order's pacing weighted by its goal (an order far behind counts what it is worth)",
            ),
            Figure(
                label="Behind",
                value=len(behind),
                unit="count",
                note=f"started orders pacing under {BEHIND_PCT:g} %",
            ),
        ],
        series=[series for d in found for series in _pacing_series(d, scope)],
        tables=[_pacing_table(found)],
    )


def _pacing_series(delivery: OrderDelivery, scope: Period) -> list[Series]:
    days = [d for d in delivery.found.daily if scope.start <= d.day <= scope.end]
    group, number = str(delivery.order.io.id), delivery.order.io.number
    return [
        Series(
            key="delivered",
            label=f"{number} delivered",
            unit="impressions",
            group=group,
            note=f"cumulative from the flight start; {DELIVERED_NOTE}",
            points=[Point(x=d.day.isoformat(), y=d.cumulative) for d in days],
        ),
        Series(
            key="expected",
            label=f"{number} expected",
            unit="impressions",
            group=group,
            note=f"cumulative, by the end of each day: {EXPECTED_NOTE}",
            points=[Point(x=d.day.isoformat(), y=d.expected) for d in days],
        ),
    ]


def _pacing_table(found: list[OrderDelivery]) -> Table:
    columns = [
        Column(key="io_id", label="Order id", unit="text"),
        Column(key="number", label="Order", unit="text"),
        Column(key="sponsor", label="Sponsor", unit="text"),
        Column(key="show", label="Show", unit="text"),
        Column(key="status", label="Status", unit="text"),
        Column(key="pacing_mode", label="Pacing mode", unit="text"),
        Column(key="flight_start", label="Flight start", unit="date"),
        Column(key="flight_end", label="Flight end", unit="date"),
        Column(key="goal", label="Goal", unit="impressions", note="the order's impression goal"),
        Column(key="delivered", label="Delivered", unit="impressions", note=DELIVERED_NOTE),
        Column(key="expected", label="Expected", unit="impressions", note=EXPECTED_NOTE),
        Column(key="pacing_pct", label="Pacing", unit="percent", note=PACING_NOTE + "; empty before the flight"),
    ]
    rows: list[dict[str, Value]] = [
        {
            "io_id": str(d.order.io.id),
            "number": d.order.io.number,
            "sponsor": d.order.sponsor_name,
            "show": d.order.podcast_title,
            "status": d.order.io.status,
            "pacing_mode": d.order.io.pacing_mode,
            "flight_start": d.order.io.flight_start.isoformat(),
            "flight_end": d.order.io.flight_end.isoformat(),
            "goal": d.order.io.impression_goal,
            "delivered": d.found.delivered,
            "expected": d.found.expected,
            "pacing_pct": d.found.pacing_pct,
        }
        for d in found
    ]
    return Table(key="orders", label="Live orders", columns=columns, rows=rows, total_rows=len(rows))


# Sponsor revenue ------------------------------------------------------------------------------------------------------

Key = tuple[str, str, str]  # (YYYY-MM, sponsor name, currency)


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
    sponsors = {d.order.io.sponsor_id: d.order.sponsor_name for d in found}
    attributed: dict[Key, float] = defaultdict(float)
    for month, sponsor_id, currency, cents in await repository.attributed_revenue(
        session, subject.tenant_id, scope.since, scope.until, None
    ):
        name = sponsors.get(sponsor_id) or await _sponsor_name(session, subject, sponsor_id, sponsors)
        attributed[(month, name, currency)] += cents
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
        tables=[
            Table(
                key="by_month_and_sponsor",
                label="By month and sponsor",
                columns=[
                    Column(key="month", label="Month", unit="text"),
                    Column(key="sponsor", label="Sponsor", unit="text"),
                    Column(key="currency", label="Currency", unit="text"),
                    Column(key="booked_cents", label="Booked", unit="cents", note=BOOKED_NOTE),
                    Column(key="delivered_cents", label="Delivered", unit="cents", note=EARNED_NOTE),
                    Column(key="attributed_revenue_cents", label="Attributed", unit="cents", note=ATTRIBUTED_NOTE),
                ],
                rows=[row.out() for row in rows],
                total_rows=len(rows),
            )
        ],
    )


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
    figures = []
    for currency, (booked, delivered, attributed) in sorted(totals.items()):
        figures += [
            Figure(label=f"Booked ({currency})", value=booked, unit="cents", currency=currency, note=BOOKED_NOTE),
            Figure(label=f"Delivered ({currency})", value=delivered, unit="cents", currency=currency, note=EARNED_NOTE),
            Figure(
                label=f"Attributed ({currency})",
                value=attributed,
                unit="cents",
                currency=currency,
                note=ATTRIBUTED_NOTE,
            ),
        ]
    return figures


def _revenue_series(rows: list[Revenue]) -> list[Series]:
    by_currency: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for row in rows:
        month = by_currency[row.currency][row.month]
        for at, amount in enumerate(row.amounts):
            month[at] += amount
    series = []
    for currency, months in sorted(by_currency.items()):
        for at, (key, label, note) in enumerate(
            (
                ("booked", "Booked", BOOKED_NOTE),
                ("delivered", "Delivered", EARNED_NOTE),
                ("attributed", "Attributed", ATTRIBUTED_NOTE),
            )
        ):
            series.append(
                Series(
                    key=key,
                    label=f"{label} ({currency})",
                    unit="cents",
                    currency=currency,
                    group=currency,
                    note=f"all sponsors, by month: {note}",
                    points=[Point(x=month, y=values[at]) for month, values in sorted(months.items())],
                )
            )
    return series


# Makegoods ------------------------------------------------------------------------------------------------------------


async def makegoods_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    owed: list[tuple[Makegood, InsertionOrder]] = []
    offset, total = 0, 1
    while offset < total:
        page = window(MAKEGOOD_PAGE, offset, "created_at", makegoods.SORTS, MAKEGOOD_PAGE)
        rows, total = await makegoods.list_makegoods(session, subject, settled=False, io_id=None, page=page)
        owed += rows
        offset += len(rows) or total
    value: dict[str, int] = defaultdict(int)
    unpriced = 0
    for makegood, io in owed:
        if makegood.shortfall_cents is None:
            unpriced += 1
        else:
            value[io.currency] += makegood.shortfall_cents
    figures = [
        Figure(label="Makegoods owed", value=len(owed), unit="count", note="makegoods not settled yet, at any date"),
        Figure(
            label="Impressions owed",
            value=sum(m.shortfall_impressions for m, _ in owed),
            unit="impressions",
            note="goal - delivered of each order when it ended under goal",
        ),
    ]
    figures += [
        Figure(
            label=f"Value due ({currency})",
            value=cents,
            unit="cents",
            currency=currency,
            note="each shortfall at the order's CPM, or its flat price pro rata of the goal",
        )
        for currency, cents in sorted(value.items())
    ]
    rows_out: list[dict[str, Value]] = [
        {
            "makegood_id": str(makegood.id),
            "io_id": str(io.id),
            "number": io.number,
            "goal": makegood.goal,
            "delivered": makegood.delivered,
            "shortfall_impressions": makegood.shortfall_impressions,
            "shortfall_cents": makegood.shortfall_cents,
            "currency": io.currency,
            "owed_since": makegood.created_at.astimezone(UTC).date().isoformat(),
            "days_open": (scope.today - makegood.created_at.astimezone(UTC).date()).days,
        }
        for makegood, io in owed
    ]
    return Card(
        id="makegoods",
        title="Makegoods owed",
        note="Orders that ended under goal and whose makegood is not settled yet (whatever the period), oldest first.",
        notices=[f"{unpriced} makegood(s) of CPA orders carry no value"] if unpriced else [],
        figures=figures,
        tables=[
            Table(
                key="owed",
                label="Owed",
                columns=[
                    Column(key="makegood_id", label="Makegood id", unit="text"),
                    Column(key="io_id", label="Order id", unit="text"),
                    Column(key="number", label="Order", unit="text"),
                    Column(key="goal", label="Goal", unit="impressions", note="the order's impression goal"),
                    Column(key="delivered", label="Delivered", unit="impressions", note="when the order was judged"),
                    Column(key="shortfall_impressions", label="Shortfall", unit="impressions", note="goal - delivered"),
                    Column(
                        key="shortfall_cents",
                        label="Due",
                        unit="cents",
                        note="the shortfall at the order's CPM (flat: price pro rata of the goal; CPA: none)",
                    ),
                    Column(key="currency", label="Currency", unit="text"),
                    Column(key="owed_since", label="Owed since", unit="date", note="the day the order was judged"),
                    Column(key="days_open", label="Days open", unit="days", note="today - owed since"),
                ],
                rows=rows_out[:TABLE_ROWS],
                total_rows=len(rows_out),
            )
        ],
    )


# Downloads and lifecycle ----------------------------------------------------------------------------------------------


async def downloads_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    per_day = await repository.downloads_by_day(session, subject.tenant_id, scope.start, scope.end)
    counted_days = scope.each_day(scope.as_of)
    total = sum(per_day.values())
    peak = max(per_day.items(), key=lambda item: (item[1], item[0]), default=None)
    return Card(
        id="downloads_trend",
        title="Downloads",
        note=f"Counted downloads of every show per UTC day, {scope.start} to {scope.end}.",
        figures=[
            Figure(label="Downloads", value=total, unit="downloads", note=f"sum over the period; {DOWNLOADS_NOTE}"),
            Figure(
                label="Per day",
                value=round(total / len(counted_days), 1) if counted_days else None,
                unit="downloads",
                note=f"downloads ÷ the {len(counted_days)} day(s) of the period up to {scope.as_of}",
            ),
            Figure(
                label="Best day",
                value=peak[0].isoformat() if peak else None,
                unit="date",
                note=f"the day with the most downloads ({peak[1] if peak else 0})",
            ),
        ],
        series=[
            Series(
                key="downloads",
                label="Downloads",
                unit="downloads",
                note=DOWNLOADS_NOTE,
                points=[Point(x=day.isoformat(), y=per_day.get(day, 0)) for day in scope.each_day()],
            )
        ],
    )


async def lifecycle_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    episodes = await measurement.lifecycle(session, subject, latest=LATEST_EPISODES)
    note = (
        "downloads of the episode in its first days (the UTC day of release is day 1), counted by every source as "
        "the audience report counts them; a day that has not ended yet is left out"
    )
    return Card(
        id="episode_lifecycle",
        title="Episode lifecycle",
        note=f"The {LATEST_EPISODES} latest episodes, their first {measurement.PACING_DAYS} days (whatever the period)",
        notices=[] if episodes else ["no published episode yet"],
        series=[
            Series(
                key="cumulative_downloads",
                label=episode.title,
                unit="downloads",
                group=str(episode.episode_id),
                note=f"cumulative {note}",
                points=[Point(x=str(age + 1), y=total) for age, total in enumerate(episode.pacing)],
            )
            for episode in episodes
        ],
        tables=[
            Table(
                key="episodes",
                label="Episodes",
                columns=[
                    Column(key="episode_id", label="Episode id", unit="text"),
                    Column(key="title", label="Episode", unit="text"),
                    Column(key="published", label="Published", unit="date"),
                    *[
                        Column(key=f"day_{age}", label=f"Day {age}", unit="downloads", note=f"{note}; to day {age}")
                        for age in (1, 7, 30)
                    ],
                    Column(key="so_far", label="So far", unit="downloads", note="every download since release"),
                ],
                rows=[
                    {
                        "episode_id": str(episode.episode_id),
                        "title": episode.title,
                        "published": episode.published_at.astimezone(UTC).date().isoformat(),
                        **{f"day_{age}": episode.at_age.get(age) for age in (1, 7, 30)},
                        "so_far": episode.so_far,
                    }
                    for episode in episodes
                ],
                total_rows=len(episodes),
            )
        ],
    )
