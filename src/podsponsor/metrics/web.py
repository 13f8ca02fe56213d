"""The metrics import page: upload or fetch a CSV, preview and map it, follow the import; and each import's page.

The page's script drives the import through the REST API with the session cookie; these handlers render the
page, the history and one import's outcome. Both are hidden (404) while ENABLE_ETL_CSV_UPLOAD is off.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.dependencies import require_page, resolve_subject
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import FeatureDisabled
from podsponsor.flags import service as flags
from podsponsor.listing import window
from podsponsor.metrics import service
from podsponsor.metrics.presets import FIELDS
from podsponsor.metrics.schemas import PresetOut
from podsponsor.web.forms import page_number, pager, parse_id
from podsponsor.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
Writer = Annotated[Subject, Depends(require_page(Permission.METRICS_WRITE))]
FLAG = "ENABLE_ETL_CSV_UPLOAD"
IMPORTS_PER_PAGE = 20


async def show_metrics_nav(request: Request) -> None:
    """Tells the layout whether to offer the import page: only to those who may import, while the feature is on."""
    subject = await resolve_subject(request)
    shown = False
    if subject is not None and subject.can(Permission.METRICS_WRITE):
        async with tenant_transaction(subject.tenant_id) as session:
            shown = await flags.is_enabled(session, subject.tenant_id, FLAG)
    request.state.metrics_import_nav = shown


@router.get("/metrics/import", response_class=HTMLResponse)
async def import_page(request: Request, subject: Writer) -> Response:
    number = page_number(request.query_params.get("page"))
    offset = (number - 1) * IMPORTS_PER_PAGE
    page = window(IMPORTS_PER_PAGE, offset, "-created_at", service.IMPORT_SORTS, IMPORTS_PER_PAGE)
    async with tenant_transaction(subject.tenant_id) as session:
        await _require_feature(session, subject)
        imports, total = await service.list_imports(session, subject, page)
    presets = service.presets()
    max_bytes = get_settings().etl_max_upload_bytes
    return render(
        request,
        "metrics/import.html",
        imports=imports,
        pager=pager(request, number, IMPORTS_PER_PAGE, total),
        formats=_format_labels(presets),
        presets=[preset for preset in presets if preset.name != "generic"],
        target_fields=list(FIELDS.items()),
        max_bytes=max_bytes,
        max_size=_size(max_bytes),
    )


@router.get("/metrics/import/{import_id}", response_class=HTMLResponse)
async def import_detail_page(import_id: str, request: Request, subject: Writer) -> Response:
    found_id = parse_id(import_id, "import")
    async with tenant_transaction(subject.tenant_id) as session:
        await _require_feature(session, subject)
        item = await service.get_import(session, subject, found_id)
        original = await service.get_import(session, subject, item.duplicate_of) if item.duplicate_of else None
    return render(
        request,
        "metrics/import_detail.html",
        item=item,
        original=original,
        formats=_format_labels(service.presets()),
    )


async def _require_feature(session: AsyncSession, subject: Subject) -> None:
    if not await flags.is_enabled(session, subject.tenant_id, FLAG):
        raise FeatureDisabled("not found")


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:,.0f} MB" if megabytes >= 1 else f"{limit / 1024:,.0f} KB"


def _format_labels(presets: list[PresetOut]) -> dict[str, str]:
    return {preset.name: preset.label for preset in presets}
