"""The queries behind the audience numbers: downloads by day and dimension, raw requests, listeners per period,
downloads by age after release, and the window types the numbers were counted under."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    case,
    column,
    distinct,
    func,
    literal_column,
    select,
    type_coerce,
    values,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.catalog.models import Episode
from podsponsor.measurement.count_models import Download, DownloadTally

DOWNLOAD_DIMENSIONS: Final = ("day", "podcast_id", "episode_id", "source_kind", "app", "device", "country")
# Requests are tallied per day, show, episode and source only: raw counts have no app, device or country.
RAW_DIMENSIONS: Final = frozenset({"day", "podcast_id", "episode_id", "source_kind"})
EpisodeQuery = Select[uuid.UUID, str, uuid.UUID, datetime | None]
PERIOD_TRUNC: Final = {"day": "day", "week": "week", "month": "month"}


def _scope(
    model: type[Download] | type[DownloadTally],
    tenant_id: uuid.UUID,
    start: date,
    end: date,
    podcast_id: uuid.UUID | None,
    episode_id: uuid.UUID | None,
) -> list[Any]:
    clauses: list[Any] = [model.tenant_id == tenant_id, model.day >= start, model.day <= end]
    if podcast_id is not None:
        clauses.append(model.podcast_id == podcast_id)
    if episode_id is not None:
        clauses.append(model.episode_id == episode_id)
    return clauses


async def downloads_by(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    by: Sequence[str],
    start: date,
    end: date,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    columns = [getattr(Download, name) for name in by]
    query = (
        select(*columns, func.count().label("downloads"), func.count(distinct(Download.listener)).label("listeners"))
        .where(*_scope(Download, tenant_id, start, end, podcast_id, episode_id))
        .group_by(*columns)
        .order_by(*columns)
    )
    return [dict(row._mapping) for row in await session.execute(query)]


async def requests_by(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    by: Sequence[str],
    start: date,
    end: date,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Raw requests (every request of the day, counted or not) grouped by `by` ⊆ RAW_DIMENSIONS."""
    columns = [getattr(DownloadTally, name) for name in by]
    query = (
        select(*columns, func.sum(DownloadTally.requests).label("raw_requests"))
        .where(*_scope(DownloadTally, tenant_id, start, end, podcast_id, episode_id))
        .group_by(*columns)
    )
    return [dict(row._mapping) for row in await session.execute(query)]


async def reasons(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    start: date,
    end: date,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> list[tuple[str, int]]:
    """Requests per reason over the range: why raw and filtered differ."""
    query = (
        select(DownloadTally.reason, func.sum(DownloadTally.requests))
        .where(*_scope(DownloadTally, tenant_id, start, end, podcast_id, episode_id))
        .group_by(DownloadTally.reason)
        .order_by(func.sum(DownloadTally.requests).desc())
    )
    return [(reason, int(total)) for reason, total in await session.execute(query)]


async def window_types(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    start: date,
    end: date,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> list[str]:
    query = (
        select(Download.window_type)
        .where(*_scope(Download, tenant_id, start, end, podcast_id, episode_id))
        .distinct()
        .order_by(Download.window_type)
    )
    return list((await session.scalars(query)).all())


async def listeners(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    period: str,
    start: date,
    end: date,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> list[tuple[date, int]]:
    """Distinct listener keys per period (ISO weeks start on Monday)."""
    bucket = func.date_trunc(literal_column(f"'{PERIOD_TRUNC[period]}'"), Download.day).cast(Download.day.type)
    query = (
        select(bucket.label("period_start"), func.count(distinct(Download.listener)))
        .where(*_scope(Download, tenant_id, start, end, podcast_id, episode_id))
        .group_by(bucket)
        .order_by(bucket)
    )
    return [(period_start, int(total)) for period_start, total in await session.execute(query)]


def _episodes_query(tenant_id: uuid.UUID, podcast_id: uuid.UUID | None, episode_id: uuid.UUID | None) -> EpisodeQuery:
    query = select(Episode.id, Episode.title, Episode.podcast_id, Episode.publish_date).where(
        Episode.tenant_id == tenant_id, Episode.deleted_at.is_(None), Episode.publish_date.is_not(None)
    )
    if podcast_id is not None:
        query = query.where(Episode.podcast_id == podcast_id)
    if episode_id is not None:
        query = query.where(Episode.id == episode_id)
    return query


async def days_since_release(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    max_age: int,
    latest: int,
) -> tuple[list[Any], list[tuple[uuid.UUID, int, int]]]:
    """The `latest` published episodes (id, title, podcast_id, publish_date), and their downloads per day of age
    (0 = the UTC day of release) up to `max_age`: (episode_id, age, downloads)."""
    episodes = (
        await session.execute(
            _episodes_query(tenant_id, podcast_id, episode_id)
            .order_by(Episode.publish_date.desc(), Episode.id)
            .limit(latest)
        )
    ).all()
    if not episodes:
        return [], []
    released = func.date(func.timezone("UTC", Episode.publish_date))
    # date - date is a whole number of days in PostgreSQL.
    age = type_coerce(Download.day - released, Integer).label("age")
    query = (
        select(Download.episode_id, age, func.count())
        .join(Episode, and_(Episode.tenant_id == Download.tenant_id, Episode.id == Download.episode_id))
        .where(
            Download.tenant_id == tenant_id,
            Download.episode_id.in_([episode.id for episode in episodes]),
            Download.day >= released,
            Download.day <= released + max_age,
        )
        .group_by(Download.episode_id, age)
        .order_by(Download.episode_id, age)
    )
    rows = [(episode, int(days), int(total)) for episode, days, total in await session.execute(query)]
    return list(episodes), rows


async def downloads_for_delivery(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    episodes: Mapping[uuid.UUID, tuple[date, date]] | None = None,
    podcast_id: uuid.UUID | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[tuple[date, int]]:
    """Downloads per UTC day of the given episodes, each within its own (first, last) days, or of every episode of
    a show from `start` to `end`. Where both sources counted an episode on a day, only the logs count: the host sees
    every download the prefix sees, and holds it to the byte threshold."""
    logs = func.count().filter(Download.source_kind == "logs")
    prefix = func.count().filter(Download.source_kind == "prefix")
    per_episode = select(Download.day.label("day"), logs.label("logs"), prefix.label("prefix")).where(
        Download.tenant_id == tenant_id
    )
    if episodes is not None:
        if not episodes:
            return []
        spans = values(
            column("episode_id", UUID(as_uuid=True)),
            column("first_day", Date()),
            column("last_day", Date()),
            name="spans",
        ).data([(episode_id, first, last) for episode_id, (first, last) in episodes.items()])
        per_episode = per_episode.join(
            spans,
            and_(
                Download.episode_id == spans.c.episode_id,
                Download.day >= spans.c.first_day,
                Download.day <= spans.c.last_day,
            ),
        )
    else:
        per_episode = per_episode.where(Download.podcast_id == podcast_id, Download.day >= start, Download.day <= end)
    grouped = per_episode.group_by(Download.day, Download.episode_id).subquery()
    chosen = case((grouped.c.logs > 0, grouped.c.logs), else_=grouped.c.prefix)
    query = select(grouped.c.day, func.sum(chosen)).group_by(grouped.c.day).order_by(grouped.c.day)
    return [(day, int(total)) for day, total in await session.execute(query)]
