"""A report as a file to download, and the address sponsors reach this service at: shared by the API, the seller's
pages and the sponsor's shared page."""

from __future__ import annotations

import asyncio
from typing import Final

from fastapi import Request, Response

from podsponsor.config import get_settings
from podsponsor.reports import exports
from podsponsor.reports import report as files
from podsponsor.reports.report_pdf import render_pdf
from podsponsor.reports.schemas import Paper, ReportFormat, ReportOut

PDF: Final = "application/pdf"


def public_base(request: Request) -> str:
    """Where sponsors reach this service: PUBLIC_BASE_URL, else the address this request came to."""
    return (get_settings().public_base_url or str(request.base_url)).rstrip("/")


async def report_file(report: ReportOut, format: ReportFormat, paper: Paper = "a4") -> Response:
    """The report as a download in `format` (not json), named after the campaign and the day."""
    if format == "csv":
        content, media_type = files.csv_file(report), exports.CSV_MEDIA_TYPE
    elif format == "xlsx":
        content, media_type = files.xlsx_file(report), exports.XLSX_MEDIA_TYPE
    else:
        content, media_type = await asyncio.to_thread(render_pdf, report, paper), PDF
    # The report names the sponsor and its money: no shared cache may keep it.
    headers = {
        "Content-Disposition": exports.content_disposition(files.filename(report, format)),
        "Cache-Control": "private, no-store",
    }
    return Response(content, media_type=media_type, headers=headers)
