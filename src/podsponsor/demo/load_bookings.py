"""Writes a demo workspace's bookings once its listening is counted, in one transaction: ad units, insertion orders,
their slots, makegoods and events; then the live and just-ended orders get their goals sized from what they
delivered, and the delivery refresh runs with today's clock, as the hourly job would.

A workspace that has ad units already is left as it is, so loading twice adds nothing; two loaders at once wait for
each other on a lock and the second finds the first one's rows. A demo workspace loaded before bookings existed gets
them too, if it holds the shows this demo makes.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import system_subject
from podsponsor.bookings import delivery
from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement, Makegood
from podsponsor.catalog.models import Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo.bookings import BookingRows, generate_bookings, sized_goal
from podsponsor.demo.generate import TenantRows
from podsponsor.demo.io_model import Aim
from podsponsor.events.models import Event
from podsponsor.measurement.count_models import Download

log = logging.getLogger(__name__)
Row = dict[str, Any]

LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
# Vanity slugs are shared by every workspace: one another workspace uses is left off the demo's order.
TAKEN_SLUGS = text(
    "SELECT slug FROM unnest(CAST(:slugs AS text[])) AS slug WHERE bookings_vanity_slug_owner(slug) IS NOT NULL"
)


async def add_bookings(rows: TenantRows, seed: int, now: datetime, days: list[date]) -> int:
    """Adds the workspace's bookings unless it has ad units; the number of orders added."""
    started = time.perf_counter()
    async with tenant_transaction(rows.id) as session:
        await session.execute(LOCK, {"key": f"demo bookings:{rows.id}"})
        if await session.scalar(select(AdUnit.id).where(AdUnit.tenant_id == rows.id).limit(1)) is not None:
            return 0
        if not await _shows_are_generated(session, rows):
            log.warning("demo workspace %s holds other shows than this demo makes: no bookings added", rows.slug)
            return 0
        booked = generate_bookings(rows, seed, now, await _downloads_per_day(session, rows.id, days))
        await _insert(session, booked, await _taken_slugs(session, booked.ios))
        goals = await _size_goals(session, rows.id, booked.aims, now)
        await session.execute(insert(Event), _with_goals(booked.events, goals))
        report = await delivery.refresh_tenant(session, rows.id, now=now)
    log.info(
        "demo workspace %s: %d insertion orders (%d refreshed: %d completed, %d makegoods), in %.1f s",
        rows.slug,
        len(booked.ios),
        report.refreshed,
        len(report.completed),
        len(report.makegoods),
        time.perf_counter() - started,
        extra={"workspace": rows.slug, "ios": len(booked.ios)},
    )
    return len(booked.ios)


async def _shows_are_generated(session: AsyncSession, rows: TenantRows) -> bool:
    """Whether the workspace holds the shows this demo makes (one loaded by an older demo may not)."""
    ids = [podcast["id"] for podcast in rows.podcasts]
    found = await session.scalar(select(func.count()).where(Podcast.tenant_id == rows.id, Podcast.id.in_(ids)))
    return found == len(ids)


async def _downloads_per_day(session: AsyncSession, tenant_id: uuid.UUID, days: list[date]) -> dict[uuid.UUID, float]:
    """Each show's counted downloads per whole day of the listening window (today, still going, left out)."""
    whole = days[:-1]
    query = (
        select(Download.podcast_id, func.count())
        .where(Download.tenant_id == tenant_id, Download.day.between(whole[0], whole[-1]))
        .group_by(Download.podcast_id)
    )
    return {podcast: count / len(whole) for podcast, count in await session.execute(query)}


async def _taken_slugs(session: AsyncSession, ios: list[Row]) -> set[str]:
    slugs = [io["vanity_slug"] for io in ios if io["vanity_slug"]]
    return set((await session.scalars(TAKEN_SLUGS, {"slugs": slugs})).all()) if slugs else set()


async def _insert(session: AsyncSession, booked: BookingRows, taken: set[str]) -> None:
    ios = [io | {"vanity_slug": None} if io["vanity_slug"] in taken else io for io in booked.ios]
    batches: list[tuple[Any, list[Row]]] = [
        (AdUnit, booked.ad_units),
        (InsertionOrder, ios),
        (IoPlacement, booked.placements),
        (Makegood, booked.makegoods),
    ]
    for model, batch in batches:
        if batch:
            await session.execute(insert(model), batch)


async def _size_goals(
    session: AsyncSession, tenant_id: uuid.UUID, aims: dict[uuid.UUID, Aim], now: datetime
) -> dict[uuid.UUID, int]:
    """Sets each live or ended order's goal from its delivery so far (see `sized_goal`), and its spending cap in
    proportion; the new goals by order."""
    today, subject, goals = now.astimezone(UTC).date(), system_subject(tenant_id), {}
    for io_id, aim in aims.items():
        found = await delivery.io_delivery(session, subject, io_id, today=today)
        io = found.io
        goal = sized_goal(io.flight_start, io.flight_end, io.pacing_mode, found.delivered, today, aim)
        if goal is None:
            continue
        if io.max_spend_cents is not None:
            io.max_spend_cents = -(-io.max_spend_cents * goal // io.impression_goal)
        io.impression_goal = goals[io_id] = goal
    await session.flush()
    return goals


def _with_goals(events: list[Row], goals: dict[uuid.UUID, int]) -> list[Row]:
    """The events, with the goals the orders were booked with where the loader sized them."""
    return [
        event | {"payload": event["payload"] | {"impression_goal": goals[event["subject_id"]]}}
        if event["type"] == "io.scheduled" and event["subject_id"] in goals
        else event
        for event in events
    ]
