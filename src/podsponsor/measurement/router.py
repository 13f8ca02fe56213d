"""Measurement over REST: reference lists, the review queue of unknown user agents, and host/CDN log imports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.listing import DEFAULT_LIMIT, Page, window
from podsponsor.measurement import log_import, service
from podsponsor.measurement.schemas import (
    LabelIn,
    ListVersionOut,
    LogFormatName,
    LogImportOut,
    LogImportSummaryOut,
    ReviewStatus,
    UnknownUserAgentOut,
)
from podsponsor.metrics import uploads

router = APIRouter(prefix="/api/v1/measurement", tags=["measurement"])
Reader = Annotated[Subject, Depends(require(Permission.MEASUREMENT_READ))]
Writer = Annotated[Subject, Depends(require(Permission.MEASUREMENT_WRITE))]


@router.get("/lists", response_model=list[ListVersionOut], summary="The reference lists in use")
async def active_lists(subject: Reader) -> list[ListVersionOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        return [ListVersionOut.model_validate(v) for v in await service.active_versions(session)]


@router.get(
    "/unknown-user-agents",
    response_model=Page[UnknownUserAgentOut],
    summary="User agents no reference list recognises, most seen first",
)
async def unknown_user_agents(
    subject: Reader,
    status: Annotated[ReviewStatus, Query(description="pending (not labelled yet), labelled, or all")] = "pending",
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.UNKNOWN_SORTS}, '-' for descending")] = "-hits",
) -> Page[UnknownUserAgentOut]:
    page = window(limit, offset, sort, service.UNKNOWN_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_unknown(session, subject, status, page)
        return Page.of([UnknownUserAgentOut.model_validate(r) for r in rows], total, page)


@router.post(
    "/unknown-user-agents/{user_agent_id}/label",
    response_model=UnknownUserAgentOut,
    summary="Say what a user agent is; counting then classifies it so for this workspace",
)
async def label_user_agent(user_agent_id: uuid.UUID, body: LabelIn, subject: Writer) -> UnknownUserAgentOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return UnknownUserAgentOut.model_validate(await service.label_unknown(session, subject, user_agent_id, body))


LOG_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "the log file, plain or gzipped"}
                    },
                }
            }
        },
    }
}


@router.post(
    "/logs",
    status_code=status.HTTP_201_CREATED,
    response_model=LogImportOut,
    responses={
        413: {"description": "the file is over the size limit (ETL_MAX_UPLOAD_MB)"},
        422: {"description": "an unknown format, or a file where not one line could be read: nothing stored"},
    },
    summary="Import a host or CDN log; lines that cannot be read are listed, the others stored and counted",
    openapi_extra=LOG_FORM,
)
async def import_logs(
    request: Request,
    subject: Writer,
    log_format: Annotated[
        LogFormatName, Query(alias="format", description="cloudfront (standard log), or the generic shape as csv/jsonl")
    ],
) -> LogImportOut:
    limit = get_settings().etl_max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + uploads.MULTIPART_SLACK:
        raise uploads.too_large(limit)
    path = log_import.upload_path(subject.tenant_id, uuid.uuid4())
    try:
        received = await uploads.receive(
            request.stream(), request.headers.get("content-type"), max_bytes=limit, destination=path
        )
        async with tenant_transaction(subject.tenant_id) as session:
            record = await log_import.import_log(
                session, subject, file_name=received.file_name, path_or_lines=path, format=log_format
            )
    finally:
        path.unlink(missing_ok=True)
    return LogImportOut.model_validate(record)


@router.get("/logs", response_model=Page[LogImportSummaryOut], summary="Log imports, newest first")
async def log_imports(
    subject: Reader,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {log_import.IMPORT_SORTS}, '-' for descending")] = "-started_at",
) -> Page[LogImportSummaryOut]:
    page = window(limit, offset, sort, log_import.IMPORT_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await log_import.list_imports(session, subject, page)
        return Page.of([LogImportSummaryOut.model_validate(r) for r in rows], total, page)


@router.get("/logs/{import_id}", response_model=LogImportOut, summary="One log import: counts, errors, days")
async def log_import_detail(import_id: uuid.UUID, subject: Reader) -> LogImportOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return LogImportOut.model_validate(await log_import.get_import(session, subject, import_id))
