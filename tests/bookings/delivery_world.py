"""Shows, orders and counted downloads for the delivery tests, written straight into a tenant's tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text

from podsponsor.auth import service as auth
from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement, Makegood
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.sales.models import Campaign, Sponsor


def at(day: date, hour: int = 6) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@dataclass
class Show:
    id: uuid.UUID
    episodes: list[uuid.UUID]


@dataclass
class Booking:
    io: uuid.UUID
    campaign: uuid.UUID
    sponsor: uuid.UUID
    ad_unit: uuid.UUID
    show: Show


async def show(tenant_id: uuid.UUID, releases: list[date | None], title: str = "Delivery show") -> Show:
    """A show with one episode per release day (None: not released yet)."""
    async with tenant_transaction(tenant_id) as session:
        podcast = Podcast(tenant_id=tenant_id, title=title)
        session.add(podcast)
        await session.flush()
        episodes = [
            Episode(
                tenant_id=tenant_id,
                podcast_id=podcast.id,
                guid=f"ep-{n}-{uuid.uuid4().hex[:6]}",
                title=f"Episode {n}",
                publish_date=at(day) if day else None,
            )
            for n, day in enumerate(releases)
        ]
        session.add_all(episodes)
        await session.flush()
        return Show(podcast.id, [e.id for e in episodes])


async def book(
    tenant_id: uuid.UUID,
    on: Show,
    start: date,
    end: date,
    *,
    placed: list[int] | None = None,
    insertion: str = "dynamic",
    goal: int = 1000,
    sponsor_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    industry: str = "Sleep",
    **fields: Any,
) -> Booking:
    """An order on `on`, in the slots of the episodes at the indexes `placed` (None: unassigned in the flight)."""
    values: dict[str, Any] = {"pricing_model": "cpm", "cpm_cents": 2500, "pacing_mode": "even", **fields}
    async with tenant_transaction(tenant_id) as session:
        if sponsor_id is None:
            sponsor = Sponsor(tenant_id=tenant_id, name=f"Sponsor {uuid.uuid4().hex[:8]}", industry=industry)
            session.add(sponsor)
            await session.flush()
            sponsor_id = sponsor.id
        if campaign_id is None:
            campaign = Campaign(tenant_id=tenant_id, sponsor_id=sponsor_id, name=f"Deal {uuid.uuid4().hex[:8]}")
            session.add(campaign)
            await session.flush()
            campaign_id = campaign.id
        unit = AdUnit(
            tenant_id=tenant_id,
            podcast_id=on.id,
            name=f"Mid-roll {uuid.uuid4().hex[:6]}",
            position="mid",
            length_seconds=60,
            read_type="host_read",
            insertion=insertion,
            rate_cpm_cents=2500,
        )
        session.add(unit)
        await session.flush()
        io = InsertionOrder(
            tenant_id=tenant_id,
            number=f"IO-{uuid.uuid4().hex[:8].upper()}",
            campaign_id=campaign_id,
            sponsor_id=sponsor_id,
            podcast_id=on.id,
            ad_unit_id=unit.id,
            flight_start=start,
            flight_end=end,
            impression_goal=goal,
            **values,
        )
        session.add(io)
        await session.flush()
        for index in placed or []:
            session.add(
                IoPlacement(
                    tenant_id=tenant_id,
                    io_id=io.id,
                    ad_unit_id=unit.id,
                    episode_id=on.episodes[index],
                    industry=industry,
                )
            )
        await session.flush()
        return Booking(io.id, campaign_id, sponsor_id, unit.id, on)


async def downloads(
    tenant_id: uuid.UUID, on: Show, episode: int, day: date, count: int, source: str = "prefix"
) -> None:
    """`count` counted downloads of one episode on one UTC day, as the counting job writes them."""
    async with tenant_transaction(tenant_id) as session:
        await session.execute(
            text(
                "INSERT INTO downloads (tenant_id, id, day, window_start, window_type, podcast_id, episode_id, "
                "source_kind, listener, requests, first_request_id, run_id) "
                "SELECT :tenant, gen_random_uuid(), :day, :start, 'calendar_day', :podcast, :episode, :source, "
                "'listener-' || n, 1, 'request-' || n, :run FROM generate_series(1, :count) AS n"
            ),
            {
                "tenant": tenant_id,
                "day": day,
                "start": at(day, 0),
                "podcast": on.id,
                "episode": on.episodes[episode],
                "source": source,
                "count": count,
                "run": uuid.uuid4(),
            },
        )


async def io_row(tenant_id: uuid.UUID, io_id: uuid.UUID) -> InsertionOrder:
    async with tenant_transaction(tenant_id) as session:
        found = await session.get(InsertionOrder, (tenant_id, io_id))
        assert found is not None
        return found


async def set_io(tenant_id: uuid.UUID, io_id: uuid.UUID, **values: Any) -> None:
    async with tenant_transaction(tenant_id) as session:
        found = await session.get(InsertionOrder, (tenant_id, io_id))
        assert found is not None
        for name, value in values.items():
            setattr(found, name, value)


async def open_makegood(
    tenant_id: uuid.UUID, io_id: uuid.UUID, goal: int, delivered: int, cents: int | None
) -> uuid.UUID:
    """An order judged short: status makegood and its open makegood row."""
    async with tenant_transaction(tenant_id) as session:
        io = await session.get(InsertionOrder, (tenant_id, io_id))
        assert io is not None
        io.status, io.delivered_impressions = "makegood", delivered
        makegood = Makegood(
            tenant_id=tenant_id,
            io_id=io_id,
            goal=goal,
            delivered=delivered,
            shortfall_impressions=goal - delivered,
            shortfall_cents=cents,
        )
        session.add(makegood)
        await session.flush()
        return makegood.id


async def rows(tenant_id: uuid.UUID, query: str, **params: Any) -> list[Any]:
    async with tenant_transaction(tenant_id) as session:
        return list(await session.execute(text(query), params))


async def set_bookings_settings(tenant_id: uuid.UUID, **settings: Any) -> None:
    async with tenant_transaction(tenant_id) as session:
        tenant = await auth.get_tenant(session, tenant_id)
        tenant.settings = {**(tenant.settings or {}), "bookings": settings}
