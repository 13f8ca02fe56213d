"""The creator's cards: pacing of every live order, makegoods owed, downloads by day, and the first 30 days of the
latest episodes. Sponsor revenue, which reads the same orders as pacing, is in creator_revenue."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date
from fractions import Fraction
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings import makegoods
from podsponsor.bookings.models import InsertionOrder, Makegood
from podsponsor.bookings.pacing import as_pct
from podsponsor.dashboards import repository
from podsponsor.dashboards.cards import column, money_figure, table
from podsponsor.dashboards.deliveries import OrderDelivery, deliveries
from podsponsor.dashboards.schemas import Card, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.listing import window
from podsponsor.measurement import reports as measurement

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
LIFECYCLE_NOTE: Final = (
    "downloads of the episode in its first days (the UTC day of release is day 1), counted by every source as "
    "the audience report counts them; a day that has not ended yet is left out"
)
# The days of age the episodes' table has a column for.
DAYS_SHOWN: Final = (1, 7, 30)
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
    return Card(
        id="pacing",
        title="Pacing of live orders",
        note=(
            f"Scheduled and active orders whose flight overlaps {scope.start} to {scope.end}, delivered against "
            f"expected as of {scope.as_of}."
        ),
        notices=[] if found else ["no live order has a flight in this period"],
        figures=_pacing_figures(found),
        series=[series for d in found for series in _pacing_series(d, scope)],
        tables=[_pacing_table(found)],
    )


def _pacing_figures(found: list[OrderDelivery]) -> list[Figure]:
    started = [(d.found.pacing, d.order.io.impression_goal) for d in found if d.found.pacing is not None]
    weight = sum(goal for _, goal in started)
    overall = sum((ratio * goal for ratio, goal in started), Fraction(0)) / weight if weight else None
    behind = [d for d in found if d.found.pacing_pct is not None and d.found.pacing_pct < BEHIND_PCT]
    return [
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
        Figure(label="Behind", value=len(behind), unit="count", note=f"started orders pacing under {BEHIND_PCT:g} %"),
    ]


def _pacing_series(delivery: OrderDelivery, scope: Period) -> list[Series]:
    """The order's delivered and expected impressions, both cumulative, on the period's days."""
    days = [d for d in delivery.found.daily if scope.start <= d.day <= scope.end]
    group, number = str(delivery.order.io.id), delivery.order.io.number
    lines = (
        ("delivered", f"cumulative from the flight start; {DELIVERED_NOTE}", [d.cumulative for d in days]),
        ("expected", f"cumulative, by the end of each day: {EXPECTED_NOTE}", [d.expected for d in days]),
    )
    return [
        Series(
            key=key,
            label=f"{number} {key}",
            unit="impressions",
            group=group,
            note=note,
            points=[Point(x=d.day.isoformat(), y=y) for d, y in zip(days, values, strict=True)],
        )
        for key, note, values in lines
    ]


def _pacing_table(found: list[OrderDelivery]) -> Table:
    columns = [
        column("io_id", "Order id"),
        column("number", "Order"),
        column("sponsor", "Sponsor"),
        column("show", "Show"),
        column("status", "Status"),
        column("pacing_mode", "Pacing mode"),
        column("flight_start", "Flight start", "date"),
        column("flight_end", "Flight end", "date"),
        column("goal", "Goal", "impressions", "the order's impression goal"),
        column("delivered", "Delivered", "impressions", DELIVERED_NOTE),
        column("expected", "Expected", "impressions", EXPECTED_NOTE),
        column("pacing_pct", "Pacing", "percent", PACING_NOTE + "; empty before the flight"),
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
    return table("orders", "Live orders", columns, rows)


# Makegoods ------------------------------------------------------------------------------------------------------------


async def makegoods_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    owed = await _owed(session, subject)
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
        money_figure(
            "Value due", cents, currency, "each shortfall at the order's CPM, or its flat price pro rata of the goal"
        )
        for currency, cents in sorted(value.items())
    ]
    return Card(
        id="makegoods",
        title="Makegoods owed",
        note="Orders that ended under goal and whose makegood is not settled yet (whatever the period), oldest first.",
        notices=[f"{unpriced} makegood(s) of CPA orders carry no value"] if unpriced else [],
        figures=figures,
        tables=[_owed_table(owed, scope.today)],
    )


async def _owed(session: AsyncSession, subject: Subject) -> list[tuple[Makegood, InsertionOrder]]:
    """Every makegood not settled yet, oldest first, read page by page."""
    owed: list[tuple[Makegood, InsertionOrder]] = []
    offset, total = 0, 1
    while offset < total:
        page = window(MAKEGOOD_PAGE, offset, "created_at", makegoods.SORTS, MAKEGOOD_PAGE)
        rows, total = await makegoods.list_makegoods(session, subject, settled=False, io_id=None, page=page)
        owed += rows
        offset += len(rows) or total
    return owed


def _owed_table(owed: list[tuple[Makegood, InsertionOrder]], today: date) -> Table:
    columns = [
        column("makegood_id", "Makegood id"),
        column("io_id", "Order id"),
        column("number", "Order"),
        column("goal", "Goal", "impressions", "the order's impression goal"),
        column("delivered", "Delivered", "impressions", "when the order was judged"),
        column("shortfall_impressions", "Shortfall", "impressions", "goal - delivered"),
        column(
            "shortfall_cents",
            "Due",
            "cents",
            "the shortfall at the order's CPM (flat: price pro rata of the goal; CPA: none)",
        ),
        column("currency", "Currency"),
        column("owed_since", "Owed since", "date", "the day the order was judged"),
        column("days_open", "Days open", "days", "today - owed since"),
    ]
    rows: list[dict[str, Value]] = [
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
            "days_open": (today - makegood.created_at.astimezone(UTC).date()).days,
        }
        for makegood, io in owed
    ]
    return table("owed", "Owed", columns, rows, limit=TABLE_ROWS)


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
                note=f"cumulative {LIFECYCLE_NOTE}",
                points=[Point(x=str(age + 1), y=total) for age, total in enumerate(episode.pacing)],
            )
            for episode in episodes
        ],
        tables=[_episodes_table(episodes)],
    )


def _episodes_table(episodes: list[measurement.EpisodeAges]) -> Table:
    columns = [
        column("episode_id", "Episode id"),
        column("title", "Episode"),
        column("published", "Published", "date"),
        *[column(f"day_{age}", f"Day {age}", "downloads", f"{LIFECYCLE_NOTE}; to day {age}") for age in DAYS_SHOWN],
        column("so_far", "So far", "downloads", "every download since release"),
    ]
    rows: list[dict[str, Value]] = [
        {
            "episode_id": str(episode.episode_id),
            "title": episode.title,
            "published": episode.published_at.astimezone(UTC).date().isoformat(),
            **{f"day_{age}": episode.at_age.get(age) for age in DAYS_SHOWN},
            "so_far": episode.so_far,
        }
        for episode in episodes
    ]
    return table("episodes", "Episodes", columns, rows)
