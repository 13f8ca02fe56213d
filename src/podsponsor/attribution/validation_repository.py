"""Queries of attribution validation and lift: the households a campaign exposed, the households seen elsewhere (the
sponsor's conversions and pixel events, the shows' audience) with what their strata are read from, and the stored
validations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import polars as pl
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution.engine_repository import Scopes, _scoped_downloads
from podsponsor.attribution.models import AttributionValidation
from podsponsor.db.copy import copy_out

# One row per sighting of a household: where its country and device family are read from.
SIGHTING_SCHEMA: Final[dict[str, pl.DataType]] = {
    "household": pl.Utf8(),
    "country": pl.Utf8(),
    "device": pl.Utf8(),
    "device_category": pl.Utf8(),
    "ua_family": pl.Utf8(),
}


async def exposed_households(session: AsyncSession, tenant_id: uuid.UUID, scopes: Scopes) -> pl.DataFrame:
    """Each counted download of the scopes' orders, as a sighting of its household (SIGHTING_SCHEMA)."""
    if not (scopes.episodes or scopes.shows):
        return pl.DataFrame(schema=SIGHTING_SCHEMA)
    columns = sql.SQL(
        "DISTINCT split_part(x.listener, ':', 1) AS household, x.country, x.device, x.device_category, "
        "NULL::text AS ua_family"
    )
    return await copy_out(session, _scoped_downloads(tenant_id, scopes, sql.SQL("true"), columns), SIGHTING_SCHEMA)


async def audience(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> pl.DataFrame:
    """Every download of the shows in [start, end), as a sighting of its household."""
    if not podcast_ids:
        return pl.DataFrame(schema=SIGHTING_SCHEMA)
    query = sql.SQL(
        "SELECT DISTINCT split_part(d.listener, ':', 1) AS household, d.country, d.device, d.device_category, "
        "NULL::text AS ua_family FROM downloads d WHERE d.tenant_id = {tenant} AND d.podcast_id = ANY({shows}::uuid[]) "
        "AND d.window_start >= {start} AND d.window_start < {end}"
    ).format(
        tenant=sql.Literal(str(tenant_id)),
        shows=sql.Literal(sorted(str(p) for p in podcast_ids)),
        start=sql.Literal(start),
        end=sql.Literal(end),
    )
    return await copy_out(session, query, SIGHTING_SCHEMA)


async def sponsor_sightings(
    session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[pl.DataFrame, set[str]]:
    """The sponsor's conversions and pixel events of [start, end) as sightings of their households; and the
    households that converted."""
    tenant, sponsor = sql.Literal(str(tenant_id)), sql.Literal(str(sponsor_id))
    query = sql.SQL(
        "SELECT c.ip_hash AS household, c.country, NULL::text AS device, NULL::text AS device_category, c.ua_family "
        "FROM conversions c WHERE c.tenant_id = {tenant} AND c.sponsor_id = {sponsor} AND c.ip_hash IS NOT NULL "
        "AND c.occurred_at >= {start} AND c.occurred_at < {end} "
        "UNION ALL "
        "SELECT p.ip_hash, NULL, NULL, NULL, p.ua_family FROM pixel_events p JOIN conversion_sources s "
        "ON s.tenant_id = p.tenant_id AND s.id = p.source_id WHERE p.tenant_id = {tenant} AND s.sponsor_id = {sponsor} "
        "AND p.ts >= {start} AND p.ts < {end}"
    ).format(tenant=tenant, sponsor=sponsor, start=sql.Literal(start), end=sql.Literal(end))
    converted = sql.SQL(
        "SELECT DISTINCT c.ip_hash AS household, NULL::text AS country, NULL::text AS device, "
        "NULL::text AS device_category, NULL::text AS ua_family FROM conversions c WHERE c.tenant_id = {tenant} "
        "AND c.sponsor_id = {sponsor} AND c.ip_hash IS NOT NULL AND c.occurred_at >= {start} AND c.occurred_at < {end}"
    ).format(tenant=tenant, sponsor=sponsor, start=sql.Literal(start), end=sql.Literal(end))
    sightings = await copy_out(session, query, SIGHTING_SCHEMA)
    converting = await copy_out(session, converted, SIGHTING_SCHEMA)
    return sightings, set(converting["household"].to_list())


async def add(session: AsyncSession, validation: AttributionValidation) -> None:
    session.add(validation)
    await session.flush()


async def validations(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, limit: int
) -> list[AttributionValidation]:
    """The campaign's validations, newest first."""
    query = (
        select(AttributionValidation)
        .where(AttributionValidation.tenant_id == tenant_id, AttributionValidation.campaign_id == campaign_id)
        .order_by(AttributionValidation.created_at.desc(), AttributionValidation.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
