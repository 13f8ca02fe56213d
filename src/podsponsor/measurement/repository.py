"""Every query of the reference lists and the review queue.

Reference-list tables are global (no tenant); the review queue is filtered by tenant here and by RLS underneath.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window
from podsponsor.measurement.models import ReferenceListEntry, ReferenceListVersion, UnknownUserAgent

# Loads of the lists are serialised: two `lists update` at once would race for the one active version per kind.
LISTS_LOCK = 0x70_6F_64_6C_69_73_74  # "podlist"
INSERT_CHUNK = 2000


async def lock_lists(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LISTS_LOCK})


async def version_by_sha(session: AsyncSession, kind: str, sha256: str) -> ReferenceListVersion | None:
    return await session.scalar(
        select(ReferenceListVersion).where(ReferenceListVersion.kind == kind, ReferenceListVersion.sha256 == sha256)
    )


async def deactivate(session: AsyncSession, kind: str) -> None:
    await session.execute(
        update(ReferenceListVersion)
        .where(ReferenceListVersion.kind == kind, ReferenceListVersion.active)
        .values(active=False)
    )


async def activate(session: AsyncSession, version_id: uuid.UUID) -> None:
    await session.execute(
        update(ReferenceListVersion)
        .where(ReferenceListVersion.id == version_id)
        .values(active=True, activated_at=func.now())
        .execution_options(synchronize_session="fetch")
    )


async def versions_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[ReferenceListVersion]:
    if not ids:
        return ()
    return (await session.scalars(select(ReferenceListVersion).where(ReferenceListVersion.id.in_(ids)))).all()


async def add_version(session: AsyncSession, version: ReferenceListVersion) -> None:
    session.add(version)
    await session.flush()


async def add_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        await session.execute(insert(ReferenceListEntry), rows[start : start + INSERT_CHUNK])


async def active_versions(session: AsyncSession) -> Sequence[ReferenceListVersion]:
    rows = await session.scalars(
        select(ReferenceListVersion).where(ReferenceListVersion.active).order_by(ReferenceListVersion.kind)
    )
    return rows.all()


async def version_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(ReferenceListVersion.kind, func.count()).group_by(ReferenceListVersion.kind))
    return {kind: count for kind, count in rows.tuples()}


async def entries_of(session: AsyncSession, version_ids: Sequence[uuid.UUID]) -> Sequence[ReferenceListEntry]:
    rows = await session.scalars(
        select(ReferenceListEntry)
        .where(ReferenceListEntry.version_id.in_(version_ids))
        .order_by(ReferenceListEntry.version_id, ReferenceListEntry.position)
    )
    return rows.all()


async def note_unknown(
    session: AsyncSession, tenant_id: uuid.UUID, counts: Sequence[tuple[str, int]], seen_at: datetime
) -> None:
    """Add hits to each user agent's row, making it when new. Rows are written in user-agent order, so two
    counting jobs noting overlapping sets lock rows in the same order and cannot deadlock."""
    for start in range(0, len(counts), INSERT_CHUNK):
        chunk = counts[start : start + INSERT_CHUNK]
        statement = pg_insert(UnknownUserAgent).values(
            [
                {"tenant_id": tenant_id, "id": uuid.uuid4(), "user_agent": ua, "hits": hits,
                 "first_seen": seen_at, "last_seen": seen_at}
                for ua, hits in chunk
            ]
        )  # fmt: skip
        excluded = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[UnknownUserAgent.tenant_id, UnknownUserAgent.user_agent],
                set_={
                    "hits": UnknownUserAgent.hits + excluded.hits,
                    "first_seen": func.least(UnknownUserAgent.first_seen, excluded.first_seen),
                    "last_seen": func.greatest(UnknownUserAgent.last_seen, excluded.last_seen),
                },
            )
        )


def _status(query: Select[Any], status: str) -> Select[Any]:
    if status == "pending":
        return query.where(UnknownUserAgent.label.is_(None))
    if status == "labelled":
        return query.where(UnknownUserAgent.label.is_not(None))
    return query


async def list_unknown(
    session: AsyncSession, tenant_id: uuid.UUID, status: str, page: Window
) -> tuple[Sequence[UnknownUserAgent], int]:
    query = _status(select(UnknownUserAgent).where(UnknownUserAgent.tenant_id == tenant_id), status)
    order = ordered(getattr(UnknownUserAgent, page.sort), page, nulls=False)
    return await page_rows(session, query, page, order, UnknownUserAgent.id)


async def get_unknown(session: AsyncSession, tenant_id: uuid.UUID, row_id: uuid.UUID) -> UnknownUserAgent | None:
    return await session.scalar(
        select(UnknownUserAgent).where(UnknownUserAgent.tenant_id == tenant_id, UnknownUserAgent.id == row_id)
    )


async def labelled(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[UnknownUserAgent]:
    rows = await session.scalars(
        select(UnknownUserAgent).where(
            UnknownUserAgent.tenant_id == tenant_id,
            UnknownUserAgent.label.is_not(None),
            UnknownUserAgent.label != "ignore",
        )
    )
    return rows.all()
