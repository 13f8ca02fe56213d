"""Delivery of insertion orders as of a given day: delivered impressions from the counted downloads, pacing, spend
and eCPM per order and per campaign, and the hourly refresh that moves orders scheduled → active → completed or
makegood. Every function takes the clock (`today`, `now`) as an argument, so each rule can be checked on any date;
the arithmetic is in `pacing`, the rules are stated in docs/delivery.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject, system_subject
from podsponsor.bookings import delivery_repository as repository
from podsponsor.bookings.delivery_repository import PlacementRow
from podsponsor.bookings.models import InsertionOrder, Makegood
from podsponsor.bookings.pacing import (
    CountingPlan,
    Price,
    Spend,
    as_pct,
    counting_plan,
    effective_cpm,
    expected_by,
    pacing,
    round_half_up,
    shortfall_value,
    spend_to_date,
)
from podsponsor.bookings.settings import BookingSettings, booking_settings
from podsponsor.errors import NotFound
from podsponsor.events import service as events
from podsponsor.measurement import reports as measurement
from podsponsor.sales import service as sales

# A day's counts settle once the next day is complete (rolling windows and late log imports can still change
# them), so an order is judged one whole day after the last day that counts for it.
GRACE_DAYS: Final = 1
HOW_COMPUTED: Final = (
    "Delivered: IAB downloads (docs/methodology.md) of the order's episodes in its flight; baked-in spots keep "
    "accruing for the accrual window after each episode's release. Where the prefix and host logs both counted an "
    "episode on a day, the logs count. Expected follows the pacing mode; see docs/delivery.md."
)
_NO_SPONSOR = uuid.UUID(int=0)


# One order's delivery -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyDelivery:
    day: date
    delivered: int
    cumulative: int
    expected: int


@dataclass
class IoDelivery:
    io: InsertionOrder
    today: date
    counts_until: date
    delivered: int
    expected: int
    pacing: Fraction | None
    spend: Spend
    ecpm_cents: int | None
    aired: int
    daily: list[DailyDelivery] = field(default_factory=list)

    @property
    def pacing_pct(self) -> float | None:
        return as_pct(self.pacing)

    @property
    def judged_from(self) -> date:
        """The first day the order's outcome (completed or makegood) is decided if it is still under goal."""
        return self.counts_until + timedelta(days=GRACE_DAYS + 1)


def summarize(io: InsertionOrder, plan: CountingPlan, per_day: Iterable[tuple[date, int]], today: date) -> IoDelivery:
    """An order's numbers as of `today` from its downloads per day."""
    counted = dict(per_day)
    daily, running = [], 0
    last = min(today, plan.last_day)
    for offset in range(max((last - io.flight_start).days + 1, 0)):
        day = io.flight_start + timedelta(days=offset)
        running += counted.get(day, 0)
        expected = expected_by(io.impression_goal, io.pacing_mode, io.flight_start, io.flight_end, day, running)
        daily.append(DailyDelivery(day, counted.get(day, 0), running, round_half_up(expected)))
    delivered = sum(counted.values())
    expected = expected_by(io.impression_goal, io.pacing_mode, io.flight_start, io.flight_end, today, delivered)
    aired = plan.aired(today)
    spend = spend_to_date(Price.of(io), delivered, aired)
    return IoDelivery(
        io=io,
        today=today,
        counts_until=plan.last_day,
        delivered=delivered,
        expected=round_half_up(expected),
        pacing=pacing(delivered, expected),
        spend=spend,
        ecpm_cents=effective_cpm(spend.cents, delivered),
        aired=aired,
        daily=daily,
    )


async def _plans(
    session: AsyncSession, tenant_id: uuid.UUID, ios: Sequence[InsertionOrder], settings: BookingSettings
) -> dict[uuid.UUID, CountingPlan]:
    slots: dict[uuid.UUID, list[PlacementRow]] = {}
    for row in await repository.placements(session, tenant_id, [io.id for io in ios]):
        slots.setdefault(row.io_id, []).append(row)
    insertion = await repository.insertions(session, tenant_id, {io.ad_unit_id for io in ios})
    plans = {}
    for io in ios:
        booked = [p for p in slots.get(io.id, []) if p.bonus_from is None]
        releases = (
            []
            if booked
            else await repository.releases(session, tenant_id, io.podcast_id, io.flight_start, io.flight_end)
        )
        plans[io.id] = counting_plan(
            io.flight_start,
            io.flight_end,
            insertion.get(io.ad_unit_id, "dynamic"),
            slots.get(io.id, []),
            releases,
            settings.accrual_days,
        )
    return plans


@dataclass(frozen=True)
class CountingScope:
    """Which downloads are an order's impressions as of a day: each episode's from its first to its last day, and/or
    every episode of the order's show over `show_days` (one source per episode and day, as
    `measurement.downloads_for_delivery` chooses it). Attribution reads an order's exposures through this."""

    io: InsertionOrder
    episodes: dict[uuid.UUID, tuple[date, date]]
    show_days: tuple[date, date] | None


def _scope(io: InsertionOrder, plan: CountingPlan, today: date) -> CountingScope:
    # A cancelled order stops counting the day it was cancelled.
    until = min(today, io.status_changed_at.astimezone(UTC).date()) if io.status == "cancelled" else today
    spans = {episode: (first, min(last, until)) for episode, (first, last) in plan.episodes.items()}
    show_days = (plan.show_days[0], min(plan.show_days[1], until)) if plan.show_days is not None else None
    return CountingScope(io, spans, show_days)


async def _per_day(
    session: AsyncSession, io: InsertionOrder, plan: CountingPlan, today: date
) -> list[tuple[date, int]]:
    scope = _scope(io, plan, today)
    merged: dict[date, int] = {}
    if scope.episodes:
        for day, total in await measurement.downloads_for_delivery(session, io.tenant_id, episodes=scope.episodes):
            merged[day] = merged.get(day, 0) + total
    if scope.show_days is not None:
        first, last = scope.show_days
        rows = await measurement.downloads_for_delivery(
            session, io.tenant_id, podcast_id=io.podcast_id, start=first, end=last
        )
        for day, total in rows:
            merged[day] = merged.get(day, 0) + total
    return sorted(merged.items())


async def campaign_scopes(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, *, today: date
) -> list[CountingScope]:
    """The counting scope of each of a campaign's orders (cancelled ones too, up to their cancellation)."""
    campaign = await sales.get_campaign(session, subject, campaign_id)
    ios = await repository.campaign_ios(session, subject.tenant_id, campaign.id)
    if not ios:
        return []
    plans = await _plans(session, subject.tenant_id, ios, await booking_settings(session, subject.tenant_id))
    return [_scope(io, plans[io.id], today) for io in ios]


def only_sponsor(subject: Subject) -> uuid.UUID | None:
    if not subject.is_advertiser:
        return None
    return subject.sponsor_id or _NO_SPONSOR


async def get_io(session: AsyncSession, subject: Subject, io_id: uuid.UUID) -> InsertionOrder:
    io = await repository.get_io(session, subject.tenant_id, io_id, only_sponsor=only_sponsor(subject))
    if io is None:
        raise NotFound("no such insertion order")
    return io


async def io_delivery(session: AsyncSession, subject: Subject, io_id: uuid.UUID, *, today: date) -> IoDelivery:
    io = await get_io(session, subject, io_id)
    return (await _deliveries(session, subject.tenant_id, [io], today))[0]


async def _deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, ios: Sequence[InsertionOrder], today: date
) -> list[IoDelivery]:
    plans = await _plans(session, tenant_id, ios, await booking_settings(session, tenant_id))
    return [summarize(io, plans[io.id], await _per_day(session, io, plans[io.id], today), today) for io in ios]


# A campaign's delivery ------------------------------------------------------------------------------------------------


@dataclass
class CampaignDelivery:
    campaign_id: uuid.UUID
    name: str
    sponsor_id: uuid.UUID
    today: date
    ios: list[IoDelivery]
    # Totals over the orders that are not cancelled.
    goal: int
    delivered: int
    expected: int
    pacing_pct: float | None
    currency: str | None
    spend_cents: int | None
    ecpm_cents: int | None
    notes: list[str]


async def campaign_delivery(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, *, today: date
) -> CampaignDelivery:
    campaign = await sales.get_campaign(session, subject, campaign_id)
    ios = await repository.campaign_ios(session, subject.tenant_id, campaign.id)
    deliveries = await _deliveries(session, subject.tenant_id, ios, today) if ios else []
    counted = [d for d in deliveries if d.io.status != "cancelled"]
    # Each started order's pacing weighted by its goal: a small order far behind weighs what it is worth.
    started = [(d.pacing, d.io.impression_goal) for d in counted if d.pacing is not None]
    weight = sum(goal for _, goal in started)
    currencies = {d.io.currency for d in counted}
    delivered = sum(d.delivered for d in counted)
    spend = sum(d.spend.cents for d in counted) if len(currencies) <= 1 else None
    notes = sorted({d.spend.note for d in counted if d.spend.note})
    if spend is None:
        notes.append(f"orders in several currencies ({', '.join(sorted(currencies))}): spend is given per order")
    return CampaignDelivery(
        campaign_id=campaign.id,
        name=campaign.name,
        sponsor_id=campaign.sponsor_id,
        today=today,
        ios=deliveries,
        goal=sum(d.io.impression_goal for d in counted),
        delivered=delivered,
        expected=sum(d.expected for d in counted),
        pacing_pct=as_pct(sum((ratio * goal for ratio, goal in started), Fraction(0)) / weight) if weight else None,
        currency=next(iter(currencies)) if len(currencies) == 1 else None,
        spend_cents=spend,
        ecpm_cents=effective_cpm(spend, delivered) if spend is not None else None,
        notes=notes,
    )


# The hourly refresh ---------------------------------------------------------------------------------------------------


@dataclass
class Refresh:
    refreshed: int = 0
    activated: list[uuid.UUID] = field(default_factory=list)
    completed: list[uuid.UUID] = field(default_factory=list)
    makegoods: list[uuid.UUID] = field(default_factory=list)


async def has_live_ios(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return await repository.has_live_ios(session, tenant_id)


async def refresh_tenant(session: AsyncSession, tenant_id: uuid.UUID, *, now: datetime) -> Refresh:
    """Bring every scheduled and active order up to date as of `now`: its delivered impressions, and its status
    (active once the flight starts; completed when the goal is met; judged a day after its last counting day)."""
    today = now.astimezone(UTC).date()
    settings = await booking_settings(session, tenant_id)
    ios = await repository.live_ios(session, tenant_id, today)
    plans = await _plans(session, tenant_id, ios, settings)
    subject = system_subject(tenant_id)
    report = Refresh()
    for io in ios:
        if io.status == "scheduled":
            _move(io, "active", now)
            await _record(session, subject, "io.activated", io, flight_start=io.flight_start.isoformat())
            report.activated.append(io.id)
        plan = plans[io.id]
        found = summarize(io, plan, await _per_day(session, io, plan, today), today)
        io.delivered_impressions, io.delivery_updated_at = found.delivered, now
        report.refreshed += 1
        if found.delivered >= io.impression_goal:
            await _complete(session, subject, io, now, within_tolerance=False)
            report.completed.append(io.id)
        elif today >= found.judged_from:
            floor = Fraction(io.impression_goal) * (1 - settings.makegood_tolerance_pct / 100)
            if found.delivered >= floor:
                await _complete(session, subject, io, now, within_tolerance=True)
                report.completed.append(io.id)
            else:
                makegood = await _open_makegood(session, subject, io, found, now, settings)
                report.makegoods.append(makegood.id)
    await session.flush()
    return report


def _move(io: InsertionOrder, status: str, now: datetime) -> None:
    io.status, io.status_changed_at = status, now


async def _record(session: AsyncSession, subject: Subject, kind: str, io: InsertionOrder, **payload: Any) -> None:
    await events.record(
        session,
        subject,
        kind,
        subject_type="insertion_order",
        subject_id=io.id,
        payload={"number": io.number, **payload},
    )


async def _complete(
    session: AsyncSession, subject: Subject, io: InsertionOrder, now: datetime, *, within_tolerance: bool
) -> None:
    _move(io, "completed", now)
    await _record(
        session,
        subject,
        "io.delivered",
        io,
        goal=io.impression_goal,
        delivered=io.delivered_impressions,
        within_tolerance=within_tolerance,
    )


async def _open_makegood(
    session: AsyncSession,
    subject: Subject,
    io: InsertionOrder,
    found: IoDelivery,
    now: datetime,
    settings: BookingSettings,
) -> Makegood:
    shortfall = io.impression_goal - found.delivered
    makegood = Makegood(
        tenant_id=io.tenant_id,
        io_id=io.id,
        goal=io.impression_goal,
        delivered=found.delivered,
        shortfall_impressions=shortfall,
        shortfall_cents=shortfall_value(Price.of(io), shortfall, io.impression_goal, found.aired),
    )
    await repository.add(session, makegood)
    _move(io, "makegood", now)
    await _record(
        session,
        subject,
        "io.makegood",
        io,
        makegood_id=str(makegood.id),
        goal=makegood.goal,
        delivered=makegood.delivered,
        shortfall_impressions=shortfall,
        shortfall_cents=makegood.shortfall_cents,
        tolerance_pct=float(settings.makegood_tolerance_pct),
    )
    return makegood
