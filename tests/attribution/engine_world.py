"""What attribution reads, written straight into a tenant's tables: counted downloads of given households (exposures),
conversions of a sponsor, vanity clicks; and a recalculation run in-process."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text

from podsponsor.attribution import recalculate
from podsponsor.attribution.models import AttributionRun, Conversion, ConversionSource
from podsponsor.bookings.models import VanityClick
from podsponsor.db.tenancy import tenant_transaction


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def listen(
    tenant_id: uuid.UUID,
    podcast_id: uuid.UUID,
    episode_id: uuid.UUID,
    when: datetime,
    household: str,
    *,
    agent: str = "phone",
    device: str | None = "Apple iPhone",
    category: str | None = "mobile",
    source: str = "prefix",
) -> None:
    """One counted download of the episode by a household's user agent, as the counting job writes it."""
    async with tenant_transaction(tenant_id) as session:
        await session.execute(
            text(
                "INSERT INTO downloads (tenant_id, id, day, window_start, window_type, podcast_id, episode_id, "
                "source_kind, listener, device, device_category, requests, first_request_id, run_id) VALUES "
                "(:tenant, gen_random_uuid(), :day, :start, 'calendar_day', :podcast, :episode, :source, :listener, "
                ":device, :category, 1, gen_random_uuid()::text, gen_random_uuid())"
            ),
            {
                "tenant": tenant_id,
                "day": when.astimezone(UTC).date(),
                "start": when,
                "podcast": podcast_id,
                "episode": episode_id,
                "source": source,
                "listener": f"{household}:{agent}",
                "device": device,
                "category": category,
            },
        )


async def conversion_source(tenant_id: uuid.UUID, sponsor_id: uuid.UUID) -> uuid.UUID:
    async with tenant_transaction(tenant_id) as session:
        source = ConversionSource(
            tenant_id=tenant_id, sponsor_id=sponsor_id, kind="api", name="Orders API", token=uuid.uuid4().hex
        )
        session.add(source)
        await session.flush()
        return source.id


async def convert(
    tenant_id: uuid.UUID,
    source_id: uuid.UUID,
    sponsor_id: uuid.UUID,
    when: datetime,
    *,
    value_cents: int = 5000,
    currency: str = "USD",
    promo_codes: list[str] | None = None,
    ip_hash: str | None = None,
    ua_family: str | None = None,
) -> uuid.UUID:
    async with tenant_transaction(tenant_id) as session:
        found = Conversion(
            tenant_id=tenant_id,
            source_id=source_id,
            sponsor_id=sponsor_id,
            order_id=f"order-{uuid.uuid4().hex[:10]}",
            occurred_at=when,
            value_cents=value_cents,
            currency=currency,
            promo_codes=promo_codes or [],
            ip_hash=ip_hash,
            ua_family=ua_family,
        )
        session.add(found)
        await session.flush()
        return found.id


async def visit(tenant_id: uuid.UUID, io_id: uuid.UUID, when: datetime, ip_hash: str) -> None:
    async with tenant_transaction(tenant_id) as session:
        session.add(VanityClick(tenant_id=tenant_id, io_id=io_id, ts=when, ip_hash=ip_hash, ua_hash="ua"))


async def set_lookback(tenant_id: uuid.UUID, sponsor_id: uuid.UUID, days: int) -> None:
    async with tenant_transaction(tenant_id) as session:
        await session.execute(
            text("UPDATE sponsors SET attribution_lookback_days = :days WHERE id = :id"),
            {"days": days, "id": sponsor_id},
        )


async def recalc(tenant_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime | None = None) -> AttributionRun:
    async with tenant_transaction(tenant_id) as session:
        return await recalculate.recalculate(
            session, tenant_id, campaign_id, now=now or datetime.now(UTC), trigger="test"
        )


async def rows(tenant_id: uuid.UUID, query: str, **params: Any) -> list[Any]:
    async with tenant_transaction(tenant_id) as session:
        return list(await session.execute(text(query), params))


async def credits_by_io(tenant_id: uuid.UUID, campaign_id: uuid.UUID, model: str) -> dict[tuple[str, str], float]:
    """(conversion id, io id) → credit, under `model` in the campaign's current credits."""
    found = await rows(
        tenant_id,
        "SELECT conversion_id, io_id, sum(credit) AS credit FROM attribution_credits "
        "WHERE campaign_id = :campaign AND model = :model GROUP BY 1, 2",
        campaign=campaign_id,
        model=model,
    )
    return {(str(r.conversion_id), str(r.io_id)): float(r.credit) for r in found}
