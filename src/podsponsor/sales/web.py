"""Sponsor pages: the list with search, the new-sponsor form, and a sponsor with its campaigns."""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError
from podsponsor.flags import service as flags
from podsponsor.listing import window
from podsponsor.sales import service
from podsponsor.sales.schemas import BrandSafety, SponsorIn
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields, optional, page_number, pager, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
Reader = Annotated[Subject, Depends(require_page(Permission.SALES_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.SALES_WRITE))]
SPONSORS_PER_PAGE = 20
CAMPAIGNS_PER_PAGE = 25
SEARCH_MAX = 200
BRAND_SAFETY_CHOICES = [(value, value.capitalize()) for value in get_args(BrandSafety)]
REQUIRED = ("name", "industry")


@router.get("/sponsors", response_class=HTMLResponse)
async def sponsors_page(request: Request, subject: Reader) -> Response:
    number = page_number(request.query_params.get("page"))
    q = request.query_params.get("q", "").strip()[:SEARCH_MAX]
    offset = (number - 1) * SPONSORS_PER_PAGE
    page = window(SPONSORS_PER_PAGE, offset, "name", service.SPONSOR_SORTS, SPONSORS_PER_PAGE)
    async with tenant_transaction(subject.tenant_id) as session:
        sponsors, total = await service.list_sponsors(session, subject, q or None, None, page)
    return render(
        request,
        "sales/sponsors.html",
        sponsors=sponsors,
        q=q,
        pager=pager(request, number, SPONSORS_PER_PAGE, total),
        can_write=subject.can(Permission.SALES_WRITE),
    )


@router.get("/sponsors/new", response_class=HTMLResponse)
async def new_sponsor_page(request: Request, subject: Writer) -> Response:
    return _form(request, {"brand_safety": "moderate"}, {})


@router.post("/sponsors", response_class=HTMLResponse)
async def create_sponsor(request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    try:
        data = SponsorIn.model_validate(_as_input(values))
        async with tenant_transaction(subject.tenant_id) as session:
            sponsor = await service.create_sponsor(session, subject, data)
    except ValidationError as exc:
        return _form(request, values, _with_required(values, validation_errors(exc)), 422)
    except AppError as exc:
        return _form(request, values, app_errors(exc), exc.status)
    response = redirect(f"/sponsors/{sponsor.id}")
    set_notice(response, f"{sponsor.name} is added.")
    return response


@router.get("/sponsors/{sponsor_id}", response_class=HTMLResponse)
async def sponsor_page(sponsor_id: str, request: Request, subject: Reader) -> Response:
    found_id = parse_id(sponsor_id, "sponsor")
    number = page_number(request.query_params.get("page"))
    offset = (number - 1) * CAMPAIGNS_PER_PAGE
    page = window(CAMPAIGNS_PER_PAGE, offset, "-created_at", service.CAMPAIGN_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        sponsor = await service.get_sponsor(session, subject, found_id)
        deals_on = await flags.is_enabled(session, subject.tenant_id, "ENABLE_DEAL_PIPELINE")
        campaigns, total = await service.list_campaigns(session, subject, sponsor.id, (), None, page)
    return render(
        request,
        "sales/sponsor_detail.html",
        sponsor=sponsor,
        campaigns=campaigns if deals_on else None,
        pager=pager(request, number, CAMPAIGNS_PER_PAGE, total),
        show_notes=not subject.is_advertiser,
    )


def _form(request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    return render(
        request,
        "sales/sponsor_form.html",
        status,
        values=values,
        errors=errors,
        brand_safety_choices=BRAND_SAFETY_CHOICES,
    )


def _as_input(values: dict[str, str]) -> dict[str, Any]:
    """Form text as the API's input: countries and topics are lists, a bare domain is a website."""
    website = optional(values.get("website_url"))
    return {
        "name": values.get("name", ""),
        "industry": values.get("industry", ""),
        # People type "example.com"; the API wants a full URL.
        "website_url": website if website is None or "://" in website else f"https://{website}",
        "contact_email": optional(values.get("contact_email")),
        "target_geo": [code for code in re.split(r"[\s,;]+", values.get("target_geo", "")) if code],
        "target_topics": [part.strip() for part in values.get("target_topics", "").split(",") if part.strip()],
        "brand_safety": values.get("brand_safety") or "moderate",
        "notes": values.get("notes", ""),
    }


def _with_required(values: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    """An empty required field says so, rather than quoting a minimum length."""
    return {**errors, **{field: "Required" for field in REQUIRED if field in errors and not values.get(field)}}
