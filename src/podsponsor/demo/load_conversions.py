"""Writes a demo workspace's conversions once its bookings are delivered, in one transaction: a source per sponsor
of the orders that run or ran in the listening window, the conversions (`conversions.py`) with the deliveries, pixel
events and vanity visits that brought them in; then each of those orders' campaigns is recalculated with today's
clock, as the nightly job would, so the results pages have figures.

A workspace that has conversion sources already is left as it is, so loading twice adds nothing; two loaders at once
wait for each other on a lock and the second finds the first one's rows.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import recalculate as recalculation
from podsponsor.attribution.models import Conversion, ConversionDelivery, ConversionSource, PixelEvent
from podsponsor.attribution.schemas import STRIPE_SECRET_PREFIX, WEBHOOK_KINDS
from podsponsor.attribution.secrets import encrypt_secret, new_secret, new_token
from podsponsor.auth.subject import system_subject
from podsponsor.bookings import delivery
from podsponsor.bookings.models import InsertionOrder, VanityClick
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo.conversions import BookedIo, ConversionRows, Exposure, generate_conversions
from podsponsor.demo.generate import TenantRows
from podsponsor.events.models import Event

log = logging.getLogger(__name__)
Row = dict[str, Any]

# The network gets the conversions; the creator's workspace sells without tracking them.
WORKSPACES: Final = frozenset({"northwind"})
RAN: Final = ("active", "completed", "makegood")
TRIGGER: Final = "demo"
LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
NO_NESTED_LOOPS = text("SET LOCAL enable_nestloop = off")
# Each order's impressions (as delivery counts them) with the household, time, app and country of the listener; the
# user agent is the download's first request's, found by its exact time and id. The demo has no host logs, so the
# prefix's downloads are all there is.
EXPOSURES = text(
    "SELECT s.io_id, split_part(d.listener, ':', 1) AS ip_hash, d.window_start, r.user_agent, d.country "
    "FROM unnest(CAST(:ios AS uuid[]), CAST(:keys AS uuid[]), CAST(:firsts AS date[]), CAST(:lasts AS date[]), "
    "CAST(:by_show AS boolean[])) AS s(io_id, key_id, first_day, last_day, by_show) "
    "JOIN downloads d ON d.tenant_id = :tenant AND d.day BETWEEN s.first_day AND s.last_day "
    "AND ((NOT s.by_show AND d.episode_id = s.key_id) OR (s.by_show AND d.podcast_id = s.key_id)) "
    "LEFT JOIN download_requests r ON r.tenant_id = d.tenant_id AND r.ts = d.window_start "
    "AND r.id::text = d.first_request_id "
    "ORDER BY s.io_id, d.window_start, d.listener"
)


async def add_conversions(rows: TenantRows, seed: int, now: datetime, days: list[date]) -> int:
    """Adds the workspace's conversions unless it has conversion sources; the number of conversions added."""
    if rows.slug not in WORKSPACES:
        return 0
    started = time.perf_counter()
    async with tenant_transaction(rows.id) as session:
        await session.execute(LOCK, {"key": f"demo conversions:{rows.id}"})
        if await session.scalar(select(ConversionSource.id).where(ConversionSource.tenant_id == rows.id).limit(1)):
            return 0
        ios = await booked_ios(session, rows.id, days[0], now)
        if not ios:
            return 0
        made = generate_conversions(rows, seed, now, ios, await exposures(session, rows.id, ios, now))
        await _insert(session, made)
        loaded = time.perf_counter() - started
        # The tables were filled seconds ago and have no statistics yet (the runtime role may not ANALYZE them, and
        # autovacuum comes within a minute): the planner then expects one row and pairs every conversion with every
        # download in a nested loop, 1.5-3.7 s a run where a hash join takes 20 ms (measured on the demo).
        await session.execute(NO_NESTED_LOOPS)
        campaigns = sorted({io.campaign_id for io in ios}, key=str)
        for campaign_id in campaigns:
            await recalculation.recalculate(session, rows.id, campaign_id, now=now, trigger=TRIGGER)
    log.info(
        "demo workspace %s: %d conversions from %d sources, %d campaigns recalculated, in %.1f s (%.1f s to load)",
        rows.slug,
        len(made.conversions),
        len(made.sources),
        len(campaigns),
        time.perf_counter() - started,
        loaded,
        extra={"workspace": rows.slug, "conversions": len(made.conversions)},
    )
    return len(made.conversions)


async def booked_ios(session: AsyncSession, tenant_id: uuid.UUID, first_day: date, now: datetime) -> list[BookedIo]:
    """The orders that run or ran in the listening window (from `first_day` to today), oldest flight first."""
    today = now.astimezone(UTC).date()
    query = (
        select(InsertionOrder)
        .where(
            InsertionOrder.tenant_id == tenant_id,
            InsertionOrder.status.in_(RAN),
            InsertionOrder.flight_start <= today,
            InsertionOrder.flight_end >= first_day,
        )
        .order_by(InsertionOrder.flight_start, InsertionOrder.id)
    )
    return [
        BookedIo(
            io.id,
            io.sponsor_id,
            io.podcast_id,
            io.campaign_id,
            io.promo_code,
            io.vanity_slug,
            io.landing_url,
            io.flight_start,
            io.flight_end,
        )
        for io in await session.scalars(query)
    ]


async def exposures(
    session: AsyncSession, tenant_id: uuid.UUID, ios: list[BookedIo], now: datetime
) -> dict[uuid.UUID, list[Exposure]]:
    """Each order's impressions, by the counting scope delivery and attribution use."""
    subject, today = system_subject(tenant_id), now.astimezone(UTC).date()
    wanted = {io.id for io in ios}
    spans: list[tuple[uuid.UUID, uuid.UUID, date, date, bool]] = []
    for campaign_id in sorted({io.campaign_id for io in ios}, key=str):
        for scope in await delivery.campaign_scopes(session, subject, campaign_id, today=today):
            if scope.io.id not in wanted:
                continue
            spans += [(scope.io.id, episode, *days, False) for episode, days in scope.episodes.items()]
            if scope.show_days is not None:
                spans.append((scope.io.id, scope.io.podcast_id, *scope.show_days, True))
    found: dict[uuid.UUID, list[Exposure]] = defaultdict(list)
    if not spans:
        return found
    columns = [list(column) for column in zip(*spans, strict=True)]
    params = {"tenant": tenant_id, "ios": columns[0], "keys": columns[1], "firsts": columns[2], "lasts": columns[3]}
    for io_id, ip_hash, at, user_agent, country in await session.execute(EXPOSURES, {**params, "by_show": columns[4]}):
        found[io_id].append(Exposure(ip_hash, at, user_agent, country))
    return found


async def _insert(session: AsyncSession, made: ConversionRows) -> None:
    sources = [source | _endpoint(source["kind"]) for source in made.sources]
    batches: list[tuple[Any, list[Row]]] = [
        (ConversionSource, sources),
        (Conversion, made.conversions),
        (ConversionDelivery, made.deliveries),
        (PixelEvent, made.pixel_events),
        (VanityClick, made.clicks),
        (Event, made.events),
    ]
    for model, batch in batches:
        if batch:
            await session.execute(insert(model), batch)


def _endpoint(kind: str) -> Row:
    """A source's token and, for a webhook kind, its secret, encrypted as the service stores it: drawn here, at
    random, so that no demo's endpoint can be guessed from the seed."""
    secret = None
    if kind in WEBHOOK_KINDS:
        secret = f"{STRIPE_SECRET_PREFIX}{new_secret()}" if kind == "stripe" else new_secret()
    return {"token": new_token(), "secret_encrypted": encrypt_secret(secret) if secret else None}
