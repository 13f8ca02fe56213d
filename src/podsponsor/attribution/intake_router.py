"""Conversions over REST, under /api/v1, behind ENABLE_ATTRIBUTION: posted one at a time by a server (with an
Idempotency-Key), uploaded as an orders CSV, and listed."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse, Response

from podsponsor.attribution import intake, orders_csv, service
from podsponsor.attribution.exceptions import IdempotencyKeyMissing, InvalidConversion, SourceNotUsable
from podsponsor.attribution.intake_schemas import (
    ConversionIn,
    ConversionOut,
    ConversionQuery,
    ConversionRecorded,
    OrdersUploadOut,
)
from podsponsor.attribution.schemas import ConversionKind
from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import ValidationFailed
from podsponsor.flags.dependencies import feature
from podsponsor.listing import DEFAULT_LIMIT, Page, window
from podsponsor.metrics import uploads

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["attribution"], dependencies=[Depends(feature(service.FLAG))])
Reader = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_READ))]
Writer = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_WRITE))]
REPLAYED = "Idempotent-Replayed"

UPLOAD_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "the orders CSV"}},
                }
            }
        },
    }
}


@router.post(
    "/conversions",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversionRecorded,
    responses={
        200: {"model": ConversionRecorded, "description": "the order was recorded before: that conversion"},
        400: {"description": "no Idempotency-Key"},
        422: {"description": "the conversion is not valid, or the key was used with another body"},
    },
    summary="Record a conversion from your server (send an Idempotency-Key; a retry answers the first response)",
)
async def post_conversion(
    body: ConversionIn,
    subject: Writer,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="e.g. a UUID, new for every new conversion")
    ] = None,
) -> Response:
    if idempotency_key is None:
        raise IdempotencyKeyMissing(
            "send an Idempotency-Key header (a new UUID per conversion), so a retry cannot record twice",
            errors=[{"field": "Idempotency-Key", "value": None, "reason": "required"}],
        )
    now = datetime.now(UTC)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            answer = await intake.record_posted(session, subject, body, idempotency_key, now)
    except InvalidConversion as refused:
        await _note_refusal(
            subject, body.source_id, "api", intake.failure_reason("API", refused.errors, refused.detail)
        )
        raise
    headers = {REPLAYED: "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.get("/conversions", response_model=Page[ConversionOut], summary="List conversions, newest first")
async def list_conversions(
    subject: Reader,
    sponsor_id: uuid.UUID | None = None,
    source_id: uuid.UUID | None = None,
    kind: ConversionKind | None = None,
    since: Annotated[datetime | None, Query(description="conversions at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="conversions before this time")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {intake.CONVERSION_SORTS}, '-' for descending")] = "-occurred_at",
) -> Page[ConversionOut]:
    page = window(limit, offset, sort, intake.CONVERSION_SORTS, get_settings().page_size_max)
    where = ConversionQuery(sponsor_id, source_id, kind, _aware(since), _aware(until))
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await intake.list_conversions(session, subject, where, page)
        return Page.of([ConversionOut.of(row) for row in rows], total, page)


@router.post(
    "/conversions/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=OrdersUploadOut,
    responses={
        413: {"description": "the file is over the size limit (ETL_MAX_UPLOAD_MB)"},
        422: {"description": "the file has errors: every bad row is listed (the first 1,000), nothing recorded"},
    },
    summary="Upload an orders CSV into a csv source (all or nothing; uploading it again records nothing new)",
    openapi_extra=UPLOAD_FORM,
)
async def upload_orders(
    request: Request,
    subject: Writer,
    source_id: Annotated[uuid.UUID, Query(description="a csv source of this workspace")],
) -> OrdersUploadOut:
    limit = get_settings().etl_max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + uploads.MULTIPART_SLACK:
        raise uploads.too_large(limit)
    async with tenant_transaction(subject.tenant_id) as session:
        await intake.usable_source(session, subject, source_id, "csv")
    path = _upload_path(subject.tenant_id)
    try:
        received = await uploads.receive(
            request.stream(), request.headers.get("content-type"), max_bytes=limit, destination=path
        )
        if received.fields:
            raise uploads.bad_upload("an orders upload takes only the file", next(iter(received.fields)))
        now = datetime.now(UTC)
        try:
            async with tenant_transaction(subject.tenant_id) as session:
                source = await intake.usable_source(session, subject, source_id, "csv")
                return await orders_csv.record_file(session, subject, source, path, received.file_name, now)
        except ValidationFailed as refused:
            if not isinstance(refused, SourceNotUsable):
                reason = intake.failure_reason(received.file_name, refused.errors, refused.detail)
                await _note_refusal(subject, source_id, "csv", reason)
            raise
    finally:
        path.unlink(missing_ok=True)


def _upload_path(tenant_id: uuid.UUID) -> Path:
    """Where an upload waits while it is read: the data folder, removed once the request ends."""
    return (get_settings().data_dir / "conversion-uploads" / str(tenant_id) / f"{uuid.uuid4()}.csv").resolve()


async def _note_refusal(subject: Subject, source_id: uuid.UUID, kind: str, reason: str) -> None:
    """Keeps a refusal in the source's health, in a transaction of its own (the refused work was rolled back)."""
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            await intake.note_refusal(session, subject, source_id, kind, reason, datetime.now(UTC))
    except Exception:
        # The caller must still hear why it was refused; a health note lost is logged, not turned into a 500.
        log.exception("conversion refusal not noted", extra={"source_id": str(source_id)})


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
