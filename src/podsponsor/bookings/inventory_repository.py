"""Queries of the inventory calendar: a show's ad units, the slots booked in given episodes, and the IOs booked
unassigned within a flight. Live IOs only: a cancelled order holds nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Sponsors belong to the sales domain; their names are read here in the same statement rather than one call per
# booking (a read-only join by key, under the same row-level security).
PLACEMENTS = """
    SELECT p.ad_unit_id, p.episode_id, p.bonus, io.id AS io_id, io.number, io.sponsor_id, s.name AS sponsor_name
    FROM io_placements p
    JOIN insertion_orders io ON io.tenant_id = p.tenant_id AND io.id = p.io_id
    JOIN sponsors s ON s.tenant_id = io.tenant_id AND s.id = io.sponsor_id
    WHERE p.tenant_id = :tenant AND p.episode_id = ANY(:episodes) AND io.status <> 'cancelled'
"""
FLIGHTS = """
    SELECT io.id AS io_id, io.number, io.ad_unit_id, io.sponsor_id, s.name AS sponsor_name, io.flight_start,
           io.flight_end
    FROM insertion_orders io
    JOIN sponsors s ON s.tenant_id = io.tenant_id AND s.id = io.sponsor_id
    WHERE io.tenant_id = :tenant AND io.podcast_id = :podcast AND io.status <> 'cancelled'
      AND io.flight_start <= :last AND io.flight_end >= :first
      AND NOT EXISTS (SELECT 1 FROM io_placements p WHERE p.tenant_id = io.tenant_id AND p.io_id = io.id)
    ORDER BY io.flight_start, io.number
"""
AD_UNITS = """
    SELECT id, name, position, length_seconds, read_type, insertion, rate_cpm_cents
    FROM ad_units WHERE tenant_id = :tenant AND podcast_id = :podcast AND deleted_at IS NULL
    ORDER BY array_position(ARRAY['pre', 'mid', 'post']::text[], position::text), length_seconds, name
"""


async def ad_units(session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID) -> Sequence[dict[str, Any]]:
    rows = await session.execute(text(AD_UNITS), {"tenant": tenant_id, "podcast": podcast_id})
    return [dict(row._mapping) for row in rows]


async def placements(
    session: AsyncSession, tenant_id: uuid.UUID, episode_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]:
    """Booked slots by (ad unit, episode)."""
    if not episode_ids:
        return {}
    rows = await session.execute(text(PLACEMENTS), {"tenant": tenant_id, "episodes": episode_ids})
    return {(row.ad_unit_id, row.episode_id): dict(row._mapping) for row in rows}


async def flight_bookings(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID, first: date, last: date
) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(FLIGHTS), {"tenant": tenant_id, "podcast": podcast_id, "first": first, "last": last}
    )
    return [dict(row._mapping) for row in rows]
