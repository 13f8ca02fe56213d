"""Audience numbers from the counted downloads: by day and dimension with raw requests beside them, listeners per
period, downloads at fixed ages after release, and the first 30 days of each episode (pacing). Every answer says
how it was computed: the window types the days were counted under and what raw and filtered mean."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.errors import ValidationFailed
from podsponsor.measurement import report_repository as repository
from podsponsor.measurement.report_repository import DOWNLOAD_DIMENSIONS, RAW_DIMENSIONS

LIFECYCLE_AGES: Final = (1, 3, 7, 30, 90)
PACING_DAYS: Final = 30
MAX_RANGE_DAYS: Final = 3 * 366 + 1
HOW_COMPUTED: Final = (
    "IAB downloads: requests that passed every filter of IAB v2.3 (HEAD, 304, bytes=0-1 probes, bots, data centres, "
    "implausible volume per address, and for host logs the ID3 header + 60 s byte threshold), one per listener "
    "(address + user agent) per episode per window. Raw requests: every request recorded, before any filter. "
    "Listeners: distinct listener keys in the period. See docs/methodology.md."
)


@dataclass(frozen=True)
class Range:
    start: date
    end: date
    podcast_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None


@dataclass
class DownloadsReport:
    by: list[str]
    range: Range
    window_types: list[str]
    rows: list[dict[str, Any]]
    total_downloads: int
    total_raw_requests: int
    reasons: list[tuple[str, int]]
    how_computed: str = HOW_COMPUTED


@dataclass
class EpisodeAges:
    episode_id: uuid.UUID
    title: str
    podcast_id: uuid.UUID
    published_at: datetime
    # Downloads in the first N UTC days (the day of release is day 1); None until day N has ended.
    at_age: dict[int, int | None]
    so_far: int
    # Cumulative downloads by day of age, 0..PACING_DAYS-1 (only the days that have happened).
    pacing: list[int] = field(default_factory=list)


def check_range(start: date | None, end: date | None, *, default_days: int = 30) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise ValidationFailed(
            "start must not be after end",
            errors=[{"field": "start", "value": start.isoformat(), "reason": f"after end {end.isoformat()}"}],
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(
            f"a range covers at most {MAX_RANGE_DAYS} days; ask for several",
            errors=[{"field": "start", "value": start.isoformat(), "reason": "range too long"}],
        )
    return start, end


def check_by(by: Sequence[str]) -> list[str]:
    chosen = [name.strip() for name in by if name.strip()] or ["day"]
    unknown = [name for name in chosen if name not in DOWNLOAD_DIMENSIONS]
    if unknown:
        raise ValidationFailed(
            f"unknown dimension(s): {', '.join(unknown)}",
            errors=[
                {"field": "by", "value": name, "reason": f"one of {', '.join(DOWNLOAD_DIMENSIONS)}"} for name in unknown
            ],
        )
    return list(dict.fromkeys(chosen))


async def downloads(session: AsyncSession, subject: Subject, by: Sequence[str], scope: Range) -> DownloadsReport:
    """Downloads and listeners grouped by `by`; raw requests beside them when every dimension is one requests are
    tallied by (day, show, episode, source)."""
    args = (scope.start, scope.end, scope.podcast_id, scope.episode_id)
    rows = await repository.downloads_by(session, subject.tenant_id, by, *args)
    with_raw = set(by) <= RAW_DIMENSIONS
    raw_rows = await repository.requests_by(session, subject.tenant_id, by, *args) if with_raw else []
    raw = {tuple(row[name] for name in by): int(row["raw_requests"]) for row in raw_rows}
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in by)
        merged[key] = {**row, "raw_requests": raw.get(key, 0) if with_raw else None}
    for key, requests in raw.items():
        # Days with requests but no download still show, with 0 downloads: that is what an auditor looks for.
        merged.setdefault(
            key, {**dict(zip(by, key, strict=True)), "downloads": 0, "listeners": 0, "raw_requests": requests}
        )
    ordered = sorted(merged.values(), key=lambda row: tuple(_sortable(row[name]) for name in by))
    reasons = await repository.reasons(session, subject.tenant_id, *args)
    return DownloadsReport(
        by=list(by),
        range=scope,
        window_types=await repository.window_types(session, subject.tenant_id, *args),
        rows=ordered,
        total_downloads=sum(int(row["downloads"]) for row in ordered),
        total_raw_requests=sum(total for _, total in reasons),
        reasons=reasons,
    )


def _sortable(value: Any) -> tuple[int, str]:
    return (1, "") if value is None else (0, str(value))


async def listeners(session: AsyncSession, subject: Subject, period: str, scope: Range) -> list[tuple[date, int]]:
    if period not in repository.PERIOD_TRUNC:
        raise ValidationFailed(
            "period must be day, week or month",
            errors=[{"field": "period", "value": period, "reason": "one of day, week, month"}],
        )
    return await repository.listeners(
        session, subject.tenant_id, period, scope.start, scope.end, scope.podcast_id, scope.episode_id
    )


async def lifecycle(
    session: AsyncSession,
    subject: Subject,
    *,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    latest: int = 20,
) -> list[EpisodeAges]:
    """Downloads 1/3/7/30/90 days after release, and the first 30 days' pacing, of the latest episodes."""
    episodes, rows = await repository.days_since_release(
        session,
        subject.tenant_id,
        podcast_id=podcast_id,
        episode_id=episode_id,
        max_age=max(LIFECYCLE_AGES) - 1,
        latest=latest,
    )
    by_age: dict[uuid.UUID, dict[int, int]] = {}
    for episode, age, total in rows:
        by_age.setdefault(episode, {})[age] = total
    today = datetime.now(UTC).date()
    result = []
    for episode_id_, title, show_id, published_at in episodes:
        ages = by_age.get(episode_id_, {})
        released = published_at.astimezone(UTC).date()
        days_done = (today - released).days  # whole UTC days since release that have ended
        running, pacing = 0, []
        for age in range(min(PACING_DAYS, days_done + 1)):
            running += ages.get(age, 0)
            pacing.append(running)
        result.append(
            EpisodeAges(
                episode_id=episode_id_,
                title=title,
                podcast_id=show_id,
                published_at=published_at,
                at_age={
                    n: (sum(total for age, total in ages.items() if age < n) if days_done >= n else None)
                    for n in LIFECYCLE_AGES
                },
                so_far=sum(ages.values()),
                pacing=pacing,
            )
        )
    return result


async def distinct_listeners(session: AsyncSession, subject: Subject, scope: Range) -> int:
    """Listeners over the whole range: a listener on ten days of it is one."""
    rows = await repository.downloads_by(
        session, subject.tenant_id, [], scope.start, scope.end, scope.podcast_id, scope.episode_id
    )
    return int(rows[0]["listeners"]) if rows else 0


async def downloads_for_delivery(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    episodes: Mapping[uuid.UUID, tuple[date, date]] | None = None,
    podcast_id: uuid.UUID | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[tuple[date, int]]:
    """IAB downloads per UTC day for an insertion order's delivery: of some episodes, each counted from its own first
    to last day, or of a whole show over a range. One source per episode and day: the host logs where they counted
    any download, else the prefix (both see the same listeners, so adding them would count a download twice)."""
    if (episodes is None) == (podcast_id is None):
        raise ValueError("give either episodes or a podcast_id")
    if podcast_id is not None and (start is None or end is None):
        raise ValueError("a show's downloads need a start and an end")
    return await repository.downloads_for_delivery(
        session, tenant_id, episodes=episodes, podcast_id=podcast_id, start=start, end=end
    )
