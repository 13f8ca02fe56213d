"""Counting a tenant's UTC day: read the requests the day depends on, match them to episodes, count them with the
IAB engine (`counting.count`) under the tenant's settings, and replace the day's downloads, tallies and daily
metrics with the result, recording the run (window type, settings, list versions).

A day is recounted whole: the hourly job counts today and yesterday again, a log import counts the days it
touched, and `podsponsor measurement count` any day. Re-running replaces, so nothing is ever counted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.subject import Subject
from podsponsor.events import service as events
from podsponsor.jobs.enqueue import JobAlreadyQueued, enqueue
from podsponsor.measurement import count_repository as repository
from podsponsor.measurement import service as lists_service
from podsponsor.measurement.classify import Classification, Classifier
from podsponsor.measurement.count_models import CountRun
from podsponsor.measurement.counting import (
    CountingSettings,
    CountResult,
    batch_range,
    count,
    prior_window_range,
)
from podsponsor.measurement.counting_rules import WINDOW_TYPES
from podsponsor.metrics import service as metrics

log = logging.getLogger(__name__)

SETTINGS_KEY: Final = "measurement"
COUNT_TASK: Final = "measurement.count_day"
# Scheme, then query and fragment: an enclosure and a request for it match on host and path.
_SCHEME = r"^(?i)[a-z][a-z0-9+.-]*://"
_QUERY = r"[?#].*$"
# What counting reads of every request, prefix or log; each source adds its own byte-range columns.
REQUEST_COLUMNS: Final = (
    "id",
    "ts",
    "method",
    "status",
    "user_agent",
    "referer",
    "ip_hash",
    "country",
    "datacenter",
    "episode_id",
    "podcast_id",
    "source_kind",
)


# Settings ------------------------------------------------------------------------------------------------------------


async def tenant_settings(session: AsyncSession, tenant_id: uuid.UUID) -> CountingSettings:
    tenant = await auth.get_tenant(session, tenant_id)
    stored = (tenant.settings or {}).get(SETTINGS_KEY) or {}
    return CountingSettings(
        **{key: stored[key] for key in ("window", "ip_volume_limit", "header_bytes") if key in stored}
    )


async def update_settings(session: AsyncSession, subject: Subject, changes: dict[str, Any]) -> CountingSettings:
    """Change the tenant's counting settings; days already counted keep the settings they were counted under
    (each run records its own) until they are counted again."""
    current = await tenant_settings(session, subject.tenant_id)
    merged = {
        "window": current.window,
        "ip_volume_limit": current.ip_volume_limit,
        "header_bytes": current.header_bytes,
        **changes,
    }
    updated = CountingSettings(**merged)
    tenant = await auth.get_tenant(session, subject.tenant_id)
    # A new dict, so the JSONB column is seen as changed.
    tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: merged}
    await session.flush()
    await events.record(
        session,
        subject,
        "measurement.settings_changed",
        subject_type="tenant",
        subject_id=subject.tenant_id,
        payload={"before": _settings_dict(current), "after": merged},
    )
    return updated


def _settings_dict(settings: CountingSettings) -> dict[str, Any]:
    return {
        "window": settings.window,
        "ip_volume_limit": settings.ip_volume_limit,
        "header_bytes": settings.header_bytes,
    }


# Scheduling ----------------------------------------------------------------------------------------------------------


def affected_days(days: Iterable[date], window: str) -> list[date]:
    """The days whose counts change when requests of `days` arrive: the day itself, and for rolling windows also
    its neighbours (a window can span midnight, and its bytes count toward a window opened the day before)."""
    if window not in WINDOW_TYPES:
        raise ValueError(f"unknown window type {window!r}")
    spread = (0,) if window == "calendar_day" else (-1, 0, 1)
    return sorted({day + timedelta(days=offset) for day in days for offset in spread})


async def schedule_days(session: AsyncSession, tenant_id: uuid.UUID, days: Iterable[date], *, trigger: str) -> int:
    """Queue a count of every day affected by requests of `days` (one waiting job per tenant and day; a day
    already waiting is counted by that job); how many were queued. Runs in the caller's transaction."""
    settings = await tenant_settings(session, tenant_id)
    queued = 0
    for day in affected_days(days, settings.window):
        try:
            await enqueue(
                session,
                COUNT_TASK,
                queueing_lock=f"count:{tenant_id}:{day.isoformat()}",
                lock=f"count:{tenant_id}:{day.isoformat()}",
                tenant_id=str(tenant_id),
                day=day.isoformat(),
                trigger=trigger,
            )
            queued += 1
        except JobAlreadyQueued:
            continue
    return queued


# Counting ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    """A day evaluated: the requests read (matched to episodes) and the engine's tags and downloads."""

    settings: CountingSettings
    classifier: Classifier
    requests: pl.DataFrame
    result: CountResult


async def evaluate_day(
    session: AsyncSession, tenant_id: uuid.UUID, day: date, *, as_counted: CountRun | None = None
) -> DayCount:
    """Count `day` without writing anything. With `as_counted`, under that run's window, settings and list
    versions (to explain or export a day exactly as it was counted); otherwise under today's."""
    if as_counted is None:
        settings = await tenant_settings(session, tenant_id)
        classifier = await lists_service.classifier(session)
    else:
        settings = CountingSettings(window=as_counted.window_type, **as_counted.settings)  # type: ignore[arg-type]
        versions = [uuid.UUID(str(value)) for value in as_counted.list_versions.values()]
        classifier = await lists_service.classifier_of(session, versions)
    overrides = await lists_service.overrides(session, tenant_id)

    def classify(user_agent: str | None, referer: str | None) -> Classification:
        return classifier.classify(user_agent, referer, overrides)

    start, end = batch_range(day, settings.window)
    episodes = await repository.episodes(session, tenant_id)
    requests = matched_requests(
        await repository.prefix_hits(session, tenant_id, start, end),
        await repository.log_requests(session, tenant_id, start, end),
        episodes,
    )
    prior = None
    prior_range = prior_window_range(day, settings.window)
    if prior_range is not None:
        prior = await repository.prior_downloads(session, tenant_id, *prior_range)
    facts = episodes.select("episode_id", "enclosure_bytes", "duration_seconds")
    # Counting is CPU-bound polars work: off the event loop, so the process keeps serving while it runs.
    result = await asyncio.to_thread(count, requests, settings, classify, episodes=facts, day=day, prior_windows=prior)
    return DayCount(settings, classifier, requests, result)


async def count_day(session: AsyncSession, tenant_id: uuid.UUID, day: date, *, trigger: str) -> CountRun:
    """Count `day` for the tenant and replace its downloads, tallies and prefix/logs daily metrics."""
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    await repository.lock_day(session, tenant_id, day)
    evaluated = await evaluate_day(session, tenant_id, day)
    settings, classifier, requests, result = (
        evaluated.settings,
        evaluated.classifier,
        evaluated.requests,
        evaluated.result,
    )
    overrides = await lists_service.overrides(session, tenant_id)
    run_id = uuid.uuid4()
    downloads = _download_rows(result, requests, tenant_id, run_id)
    tallies = _tally_rows(result, requests, tenant_id, day, run_id)
    await repository.replace_day(session, tenant_id, day, downloads, tallies)
    await metrics.replace_measured_day(session, tenant_id, day, _metric_rows(downloads))
    await _note_unknown(session, tenant_id, requests, result, lambda ua: classifier.classify(ua, None, overrides))
    run = CountRun(
        id=run_id,
        tenant_id=tenant_id,
        day=day,
        status="completed",
        trigger=trigger,
        window_type=settings.window,
        settings={"ip_volume_limit": settings.ip_volume_limit, "header_bytes": settings.header_bytes},
        list_versions={kind: str(version) for kind, version in sorted(classifier.versions.items())},
        lists_missing=sorted(classifier.missing),
        requests_read=requests.height,
        requests_on_day=result.tags.height,
        downloads=downloads.height,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    await repository.add_run(session, run)
    log.info(
        "day counted",
        extra={"day": day.isoformat(), "requests": result.tags.height, "downloads": downloads.height},
    )
    return run


async def record_failure(session: AsyncSession, tenant_id: uuid.UUID, day: date, trigger: str, error: str) -> None:
    """A run that failed, recorded in a transaction of its own (the count's own rolled back)."""
    settings = await tenant_settings(session, tenant_id)
    now = datetime.now(UTC)
    await repository.add_run(
        session,
        CountRun(
            tenant_id=tenant_id,
            day=day,
            status="failed",
            trigger=trigger,
            window_type=settings.window,
            settings={"ip_volume_limit": settings.ip_volume_limit, "header_bytes": settings.header_bytes},
            error=error[:2000],
            started_at=now,
            finished_at=now,
        ),
    )


def url_key(column: str) -> pl.Expr:
    """Host (lower-cased) and path of a URL, without scheme, query or fragment."""
    bare = pl.col(column).str.replace(_SCHEME, "").str.replace(_QUERY, "")
    host = bare.str.extract(r"^([^/]*)", 1).str.to_lowercase()
    path = bare.str.extract(r"^[^/]*(/.*)$", 1).fill_null("")
    return pl.concat_str(host, path)


def matched_requests(prefix: pl.DataFrame, logs: pl.DataFrame, episodes: pl.DataFrame) -> pl.DataFrame:
    """Prefix hits and log requests in counting's input shape, each with the episode (and show) it asked for.

    A prefix hit matches an episode of its own show whose published or destination enclosure has the same host
    and path; a log request, which knows no show, matches any episode of the tenant by its destination (the file
    the host served) or, failing that, by the published enclosure."""
    keys = pl.concat(
        [
            episodes.select("episode_id", "podcast_id", url_key("enclosure_destination_url").alias("key"), pl.lit(0)),
            episodes.select("episode_id", "podcast_id", url_key("enclosure_url").alias("key"), pl.lit(1)),
        ]
    ).rename({"literal": "rank"})
    keys = keys.filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
    by_show = keys.sort("rank").unique(["podcast_id", "key"], keep="first", maintain_order=True)
    by_host = keys.sort("rank").unique("key", keep="first", maintain_order=True)
    hits = (
        prefix.with_columns(url_key("destination").alias("key"), pl.lit("prefix").alias("source_kind"))
        .join(by_show.select("podcast_id", "key", "episode_id"), on=["podcast_id", "key"], how="left")
        .select(*REQUEST_COLUMNS, "range_header")
    )
    served = (
        logs.with_columns(url_key("url").alias("key"), pl.lit("logs").alias("source_kind"))
        .join(by_host.select("key", "episode_id", "podcast_id"), on="key", how="left")
        .select(*REQUEST_COLUMNS, "range_start", "range_end", "bytes_sent")
    )
    return pl.concat([hits, served], how="diagonal_relaxed").sort("ts", maintain_order=True)


def _download_rows(
    result: CountResult, requests: pl.DataFrame, tenant_id: uuid.UUID, run_id: uuid.UUID
) -> pl.DataFrame:
    downloads = result.downloads
    shows = requests.select("episode_id", "podcast_id").unique("episode_id")
    downloads = downloads.join(shows, on="episode_id", how="left", maintain_order="left")
    return downloads.with_columns(
        pl.lit(str(tenant_id)).alias("tenant_id"),
        pl.Series("id", [str(uuid.uuid4()) for _ in range(downloads.height)], dtype=pl.Utf8),
        pl.lit(result.settings.window).alias("window_type"),
        pl.lit(str(run_id)).alias("run_id"),
        pl.col("first_request_id").cast(pl.Utf8),
    )


def _tally_rows(
    result: CountResult, requests: pl.DataFrame, tenant_id: uuid.UUID, day: date, run_id: uuid.UUID
) -> pl.DataFrame:
    tags = result.tags.select(pl.col("id").cast(pl.Utf8), pl.col("reason").cast(pl.Utf8))
    joined = tags.join(requests.select("id", "podcast_id", "episode_id", "source_kind"), on="id", how="left")
    grouped = joined.group_by("podcast_id", "episode_id", "source_kind", "reason").agg(pl.len().alias("requests"))
    return grouped.with_columns(
        pl.lit(str(tenant_id)).alias("tenant_id"),
        pl.Series("id", [str(uuid.uuid4()) for _ in range(grouped.height)], dtype=pl.Utf8),
        pl.lit(day).alias("day"),
        pl.lit(str(run_id)).alias("run_id"),
    )


def _metric_rows(downloads: pl.DataFrame) -> list[dict[str, Any]]:
    grouped = downloads.group_by("episode_id", "podcast_id", "source_kind").agg(
        pl.len().alias("downloads"), pl.col("listener").n_unique().alias("listeners")
    )
    return [
        {
            "episode_id": uuid.UUID(row["episode_id"]),
            "podcast_id": uuid.UUID(row["podcast_id"]),
            "source": row["source_kind"],
            "downloads": int(row["downloads"]),
            "listeners": int(row["listeners"]),
        }
        for row in grouped.iter_rows(named=True)
    ]


async def _note_unknown(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    requests: pl.DataFrame,
    result: CountResult,
    classify: Callable[[str], Classification],
) -> None:
    """User agents of the day's requests that no list or label knows go to the tenant's review queue, with how
    many requests carried them."""
    on_day = result.tags.select(pl.col("id").cast(pl.Utf8))
    agents = (
        requests.select(pl.col("id").cast(pl.Utf8), "user_agent")
        .join(on_day, on="id", how="semi")
        .filter(pl.col("user_agent").is_not_null())
        .group_by("user_agent")
        .agg(pl.len().alias("hits"))
    )
    unknown = {user_agent: int(hits) for user_agent, hits in agents.iter_rows() if classify(user_agent).needs_review}
    if unknown:
        await lists_service.note_unknown(session, tenant_id, unknown)
