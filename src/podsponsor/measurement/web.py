"""The review page: user agents of this workspace's traffic that no list recognises, most seen first, each with a
"label as" form; and the reference-list versions in use."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError, NotFound
from podsponsor.listing import window
from podsponsor.measurement import service
from podsponsor.measurement.schemas import LabelIn, ReviewStatus
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields, optional, page_number, pager, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
Reader = Annotated[Subject, Depends(require_page(Permission.MEASUREMENT_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.MEASUREMENT_WRITE))]
PER_PAGE = 50
STATUSES: tuple[str, ...] = get_args(ReviewStatus)
LABEL_CHOICES = [
    ("app", "App"),
    ("browser", "Browser"),
    ("library", "Library"),
    ("bot", "Bot"),
    ("ignore", "Ignore"),
]


@router.get("/measurement/review", response_class=HTMLResponse)
async def review_page(request: Request, subject: Reader) -> Response:
    return await _page(request, subject)


@router.post("/measurement/review/{user_agent_id}/label", response_class=HTMLResponse)
async def label(user_agent_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    target = parse_id(user_agent_id, "user agent")
    values = await form_fields(request)
    back = _back(values.get("status"))
    try:
        data = LabelIn.model_validate({"label": values.get("label", ""), "name": optional(values.get("name"))})
        async with tenant_transaction(subject.tenant_id) as session:
            row = await service.label_unknown(session, subject, target, data)
    except ValidationError as exc:
        return await _page(request, subject, target, values, validation_errors(exc), 422)
    except NotFound:
        raise
    except AppError as exc:
        return await _page(request, subject, target, values, app_errors(exc), exc.status)
    response = redirect(back)
    named = f" ({row.name})" if row.name else ""
    set_notice(response, f"Labelled {row.label}{named}: {_short(row.user_agent)}")
    return response


async def _page(
    request: Request,
    subject: Subject,
    failed: uuid.UUID | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    status = (values or {}).get("status") or request.query_params.get("status", "pending")
    status = status if status in STATUSES else "pending"
    number = page_number(request.query_params.get("page"))
    page = window(PER_PAGE, (number - 1) * PER_PAGE, "-hits", service.UNKNOWN_SORTS, PER_PAGE)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_unknown(session, subject, status, page)
        versions = await service.active_versions(session)
    context: dict[str, Any] = {
        "rows": rows,
        "versions": versions,
        "status": status,
        "statuses": STATUSES,
        "label_choices": LABEL_CHOICES,
        "failed": failed,
        "values": values or {},
        "errors": errors or {},
        "can_write": subject.can(Permission.MEASUREMENT_WRITE),
        "pager": pager(request, number, PER_PAGE, total),
    }
    return render(request, "measurement/review.html", status_code, **context)


def _back(status: str | None) -> str:
    return (
        f"/measurement/review?status={status}" if status in STATUSES and status != "pending" else "/measurement/review"
    )


def _short(user_agent: str, limit: int = 80) -> str:
    return user_agent if len(user_agent) <= limit else user_agent[: limit - 1] + "…"
