"""Audience numbers, the audit export and explanations, and counting control under /api/v1/measurement."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.encoders import jsonable_encoder

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import ValidationFailed
from podsponsor.listing import DEFAULT_LIMIT, Page, window
from podsponsor.measurement import audit, count_repository, counting_job, reports
from podsponsor.measurement.report_schemas import (
    CountingSettingsIn,
    CountingSettingsOut,
    CountRunOut,
    DownloadRowOut,
    DownloadsOut,
    EpisodeAgesOut,
    ExplanationOut,
    ListenersOut,
    ListenersRowOut,
    ReasonOut,
    RecountIn,
    RecountOut,
)

router = APIRouter(prefix="/api/v1/measurement", tags=["measurement"])
Reader = Annotated[Subject, Depends(require(Permission.MEASUREMENT_READ))]
Writer = Annotated[Subject, Depends(require(Permission.MEASUREMENT_WRITE))]
MAX_RECOUNT_DAYS = 92
RUN_SORTS = ("started_at",)


def _scope(
    start: date | None, end: date | None, podcast_id: uuid.UUID | None, episode_id: uuid.UUID | None
) -> reports.Range:
    first, last = reports.check_range(start, end)
    return reports.Range(first, last, podcast_id, episode_id)


@router.get("/downloads", response_model=DownloadsOut, summary="IAB downloads and raw requests, by day and dimension")
async def downloads(
    subject: Reader,
    by: Annotated[
        str, Query(description="comma-separated: day, podcast_id, episode_id, source_kind, app, device, country")
    ] = "day",
    start: Annotated[date | None, Query(description="first UTC day; default 30 days before end")] = None,
    end: Annotated[date | None, Query(description="last UTC day, included; default today")] = None,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> DownloadsOut:
    dimensions = reports.check_by(by.split(","))
    scope = _scope(start, end, podcast_id, episode_id)
    async with tenant_transaction(subject.tenant_id) as session:
        report = await reports.downloads(session, subject, dimensions, scope)
    return DownloadsOut(
        by=report.by,
        start=scope.start,
        end=scope.end,
        window_types=report.window_types,
        total_downloads=report.total_downloads,
        total_raw_requests=report.total_raw_requests,
        reasons=[ReasonOut(reason=reason, requests=total) for reason, total in report.reasons],
        rows=[DownloadRowOut(**row) for row in report.rows],
        how_computed=report.how_computed,
    )


@router.get("/listeners", response_model=ListenersOut, summary="Distinct listeners per day, week or month")
async def listeners(
    subject: Reader,
    period: Annotated[str, Query(description="day, week (ISO, from Monday) or month")] = "day",
    start: date | None = None,
    end: date | None = None,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> ListenersOut:
    scope = _scope(start, end, podcast_id, episode_id)
    async with tenant_transaction(subject.tenant_id) as session:
        rows = await reports.listeners(session, subject, period, scope)
    return ListenersOut(
        period=period,
        start=scope.start,
        end=scope.end,
        rows=[ListenersRowOut(period_start=first, listeners=total) for first, total in rows],
    )


@router.get(
    "/lifecycle", response_model=list[EpisodeAgesOut], summary="Downloads 1/3/7/30/90 days after release, per episode"
)
async def lifecycle(
    subject: Reader,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    latest: Annotated[int, Query(ge=1, le=200, description="the latest N published episodes")] = 20,
) -> list[EpisodeAgesOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        rows = await reports.lifecycle(session, subject, podcast_id=podcast_id, episode_id=episode_id, latest=latest)
    return [EpisodeAgesOut.model_validate(row) for row in rows]


@router.get(
    "/hits/export",
    summary="A day's raw requests with the tag each got (CSV or TSV), as the day was counted",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "text/tab-separated-values": {}}}},
)
async def export_hits(
    subject: Reader,
    day: Annotated[date, Query(description="the UTC day")],
    format: Annotated[audit.ExportFormat, Query(description="csv or tsv")] = "csv",
    podcast_id: uuid.UUID | None = None,
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await audit.audit_day(session, subject, day, podcast_id)
    media = "text/tab-separated-values" if format == "tsv" else "text/csv"
    name = f"hits-{day.isoformat()}.{format}"
    return Response(
        audit.export_text(found, format),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Count-Window": found.window},
    )


@router.get("/hits/{hit_id}/explain", response_model=ExplanationOut, summary="Why one request did or did not count")
async def explain_hit(hit_id: str, subject: Reader) -> ExplanationOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await audit.explain_hit(session, subject, hit_id)
    return ExplanationOut(
        hit_id=found.hit_id,
        day=found.day,
        counted=found.counted,
        reason=found.reason,
        sentence=found.sentence,
        window=found.window,
        run_id=found.run.id if found.run else None,
        list_versions=found.run.list_versions if found.run else {},
        request=jsonable_encoder(found.request),
    )


@router.get("/count-runs", response_model=Page[CountRunOut], summary="How each day was counted, newest first")
async def count_runs(
    subject: Reader, day: date | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> Page[CountRunOut]:
    page = window(limit, offset, "-started_at", RUN_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await count_repository.latest_runs(session, subject.tenant_id, page, day)
        return Page.of([CountRunOut.model_validate(row) for row in rows], total, page)


@router.post("/count", response_model=RecountOut, status_code=202, summary="Count days again (queued)")
async def recount(body: RecountIn, subject: Writer) -> RecountOut:
    last = body.end or body.start
    if last < body.start or (last - body.start).days + 1 > MAX_RECOUNT_DAYS:
        raise ValidationFailed(
            f"end must be on or after start, and at most {MAX_RECOUNT_DAYS} days later",
            errors=[{"field": "end", "value": last.isoformat(), "reason": "out of range"}],
        )
    days = [body.start + timedelta(days=offset) for offset in range((last - body.start).days + 1)]
    async with tenant_transaction(subject.tenant_id) as session:
        queued = await counting_job.schedule_days(session, subject.tenant_id, days, trigger="api")
    return RecountOut(queued=queued, days=days)


@router.get("/settings", response_model=CountingSettingsOut, summary="How this workspace counts")
async def counting_settings(subject: Reader) -> CountingSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await counting_job.tenant_settings(session, subject.tenant_id)
    return CountingSettingsOut(
        window=found.window, ip_volume_limit=found.ip_volume_limit, header_bytes=found.header_bytes
    )


@router.patch("/settings", response_model=CountingSettingsOut, summary="Change the window type or thresholds")
async def change_counting_settings(body: CountingSettingsIn, subject: Writer) -> CountingSettingsOut:
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await counting_job.update_settings(session, subject, changes)
    return CountingSettingsOut(
        window=found.window, ip_volume_limit=found.ip_volume_limit, header_bytes=found.header_bytes
    )
