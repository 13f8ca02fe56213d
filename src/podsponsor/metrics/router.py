"""Metrics over REST: CSV imports (preview, upload, from a URL, status, history) and the daily numbers.

Uploads are read from the request stream (see uploads.py), so the size cap answers 413 while the file arrives.
Everything here is hidden (404) while ENABLE_ETL_CSV_UPLOAD is off for the tenant.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import ValidationError

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import ValidationFailed
from podsponsor.flags.dependencies import feature
from podsponsor.listing import DEFAULT_LIMIT, Page, window
from podsponsor.metrics import pipeline, service, uploads
from podsponsor.metrics.models import EtlImport
from podsponsor.metrics.presets import FORMATS
from podsponsor.metrics.schemas import (
    DailyTotalOut,
    ImportOptions,
    ImportOut,
    ImportSummaryOut,
    ImportUrlIn,
    MetricDailyOut,
    PreviewOut,
)

FLAG = "ENABLE_ETL_CSV_UPLOAD"
PREVIEW_BYTES = 256 * 1024
router = APIRouter(prefix="/api/v1", tags=["metrics"], dependencies=[Depends(feature(FLAG))])
Reader = Annotated[Subject, Depends(require(Permission.METRICS_READ))]
Writer = Annotated[Subject, Depends(require(Permission.METRICS_WRITE))]

FORM_FIELDS: dict[str, Any] = {
    "preset": {"type": "string", "enum": list(FORMATS), "description": "the export's format; detected when unset"},
    "mapping": {"type": "string", "description": 'JSON object, target field → column: {"day": "Date", …}'},
    "source": {"type": "string", "maxLength": 100, "description": "the numbers' source, e.g. 'spotify'"},
}


def _form(description: str) -> dict[str, Any]:
    file = {"type": "string", "format": "binary", "description": description}
    schema = {"type": "object", "required": ["file"], "properties": {"file": file, **FORM_FIELDS}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ImportOut, "description": "this file was imported before (`duplicate_of`): nothing changed"},
    202: {"model": ImportOut, "description": "a large file: the import runs as a job; follow it by its status"},
    413: {"description": "the file is over the size limit (ETL_MAX_UPLOAD_MB)"},
    422: {"description": "the request or the file has errors; a file's errors list every bad row, nothing imported"},
}


def _options(fields: dict[str, Any]) -> ImportOptions:
    try:
        return ImportOptions.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in err["loc"]) or "body",
                "reason": err["msg"],
                "value": str(err.get("input"))[:200] if isinstance(err.get("input"), str) else None,
            }
            for err in exc.errors()
        ]
        raise ValidationFailed(f"{len(errors)} field(s) are not valid", errors=errors) from exc


def _declared_size_allowed(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + uploads.MULTIPART_SLACK:
        raise uploads.too_large(limit)


def _answer(record: EtlImport, response: Response) -> ImportOut:
    if record.duplicate_of is not None:
        response.status_code = status.HTTP_200_OK
    elif record.status in ("pending", "processing"):
        response.status_code = status.HTTP_202_ACCEPTED
    return ImportOut.model_validate(record)


@router.post(
    "/etl/preview",
    response_model=PreviewOut,
    summary="Preview a CSV: format, columns, sample, problems",
    openapi_extra=_form("the CSV file, or its first part (the first 256 KB are read)"),
)
async def preview(request: Request, subject: Writer) -> PreviewOut:
    limit = get_settings().etl_max_upload_bytes
    _declared_size_allowed(request, limit)
    received = await uploads.receive(
        request.stream(), request.headers.get("content-type"), max_bytes=limit, keep=PREVIEW_BYTES
    )
    options = _options(received.fields)
    head = received.head
    if received.size > len(head) and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.preview(session, subject, head, options)


@router.post(
    "/etl/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportOut,
    responses=IMPORT_RESPONSES,
    summary="Import a CSV of daily metrics",
    openapi_extra=_form("the CSV file"),
)
async def upload(request: Request, response: Response, subject: Writer) -> ImportOut:
    limit = get_settings().etl_max_upload_bytes
    _declared_size_allowed(request, limit)
    import_id = uuid.uuid4()
    path = pipeline.stored_path(subject.tenant_id, import_id)
    received = await uploads.receive(
        request.stream(), request.headers.get("content-type"), max_bytes=limit, destination=path
    )
    try:
        options = _options(received.fields)
    except ValidationFailed:
        path.unlink(missing_ok=True)
        raise
    arrival = pipeline.Arrival(
        import_id=import_id, file_name=received.file_name, sha256=received.sha256, size=received.size
    )
    return _answer(await pipeline.accept(subject, arrival, options), response)


@router.post(
    "/etl/import-url",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportOut,
    responses={code: answer for code, answer in IMPORT_RESPONSES.items() if code != 413},
    summary="Import a CSV from a URL (e.g. a spreadsheet published as CSV)",
)
async def import_url(body: ImportUrlIn, response: Response, subject: Writer) -> ImportOut:
    arrival = await pipeline.fetch(subject, str(body.url), uuid.uuid4())
    options = ImportOptions(preset=body.preset, mapping=body.mapping, source=body.source)
    return _answer(await pipeline.accept(subject, arrival, options), response)


@router.get("/etl/status/{import_id}", response_model=ImportOut, summary="One import: status, progress, errors")
async def import_status(import_id: uuid.UUID, subject: Reader) -> ImportOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return ImportOut.model_validate(await service.get_import(session, subject, import_id))


@router.get("/etl/history", response_model=Page[ImportSummaryOut], summary="Imports, newest first")
async def import_history(
    subject: Reader,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.IMPORT_SORTS}, '-' for descending")] = "-created_at",
) -> Page[ImportSummaryOut]:
    page = window(limit, offset, sort, service.IMPORT_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_imports(session, subject, page)
        return Page.of([ImportSummaryOut.model_validate(r) for r in rows], total, page)


@router.get("/metrics/daily", response_model=Page[MetricDailyOut], summary="Daily metrics rows")
async def list_daily(
    subject: Reader,
    podcast_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    day_from: Annotated[date | None, Query(alias="from", description="first day, inclusive")] = None,
    day_to: Annotated[date | None, Query(alias="to", description="last day, inclusive")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.METRIC_SORTS}, '-' for descending")] = "-day",
) -> Page[MetricDailyOut]:
    page = window(limit, offset, sort, service.METRIC_SORTS, get_settings().page_size_max)
    filters = (podcast_id, episode_id, source.lower() if source else None, day_from, day_to)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_metrics(session, subject, filters, page)
        return Page.of([MetricDailyOut.model_validate(r) for r in rows], total, page)


@router.get("/metrics/daily/totals", response_model=list[DailyTotalOut], summary="Totals per day, for charts")
async def daily_totals(
    subject: Reader,
    podcast_id: uuid.UUID | None = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    day_from: Annotated[date | None, Query(alias="from", description="default: 89 days before 'to'")] = None,
    day_to: Annotated[date | None, Query(alias="to", description="default: today")] = None,
) -> list[DailyTotalOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        rows = await service.daily_totals(
            session, subject, podcast_id, source.lower() if source else None, day_from, day_to
        )
    return [DailyTotalOut.model_validate(row) for row in rows]
