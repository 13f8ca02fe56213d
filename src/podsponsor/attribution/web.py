"""Conversion source pages: every source with where it sends conversions and how that is going (health), the forms
to add one, rotate a webhook secret, pause or resume; and, on a sponsor's page, the pixel snippet to hand over.

A secret is shown once, on the page that answers the form that set it (create, rotate), never in a redirect or a
cookie. Everything here is hidden (404) while ENABLE_ATTRIBUTION is off for the workspace.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.attribution import pixel, service
from podsponsor.attribution.exceptions import SecretNotApplicable
from podsponsor.attribution.models import ConversionSource
from podsponsor.attribution.schemas import (
    PLATFORM_GIVES_SECRET,
    WEBHOOK_KINDS,
    ConversionSourceIn,
    ConversionSourcePatch,
    RotateSecretIn,
)
from podsponsor.auth.dependencies import require_page, resolve_subject
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError
from podsponsor.flags import service as flags
from podsponsor.flags.dependencies import feature
from podsponsor.listing import window
from podsponsor.sales import service as sales
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields, optional, page_number, pager, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(service.FLAG))])
Reader = Annotated[Subject, Depends(require_page(Permission.ATTRIBUTION_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.ATTRIBUTION_WRITE))]
SOURCES_PER_PAGE = 25
SPONSOR_CHOICES_MAX = 200
KIND_CHOICES = [
    ("shopify", "Shopify (order webhooks)"),
    ("woocommerce", "WooCommerce (order webhooks)"),
    ("stripe", "Stripe (checkout webhooks)"),
    ("pixel", "Pixel on the advertiser's site"),
    ("api", "Server-to-server API"),
    ("csv", "Orders CSV upload"),
]
KIND_LABELS = dict(KIND_CHOICES)


# Above this share of unusable addresses, household matching says little (a peer flags under 20 % usable).
UNUSABLE_WARNING = 0.8


async def show_conversions_nav(request: Request) -> None:
    """Tells the layout whether to offer the conversion sources: to readers of attribution, while it is on."""
    subject = await resolve_subject(request)
    shown = False
    if subject is not None and subject.can(Permission.ATTRIBUTION_READ):
        async with tenant_transaction(subject.tenant_id) as session:
            shown = await flags.is_enabled(session, subject.tenant_id, service.FLAG)
    request.state.conversions_nav = shown


def public_base(request: Request) -> str:
    """Where shops, browsers and servers reach this service: PUBLIC_BASE_URL, else the address this request came to."""
    return (get_settings().public_base_url or str(request.base_url)).rstrip("/")


@dataclass(frozen=True)
class SourceView:
    """A source as its row on the page shows it."""

    source: ConversionSource
    sponsor: str
    kind_label: str
    address: str
    address_hint: str
    snippet: str | None

    @property
    def rotatable(self) -> bool:
        return self.source.kind in WEBHOOK_KINDS

    @property
    def secret_pasted(self) -> bool:
        return self.source.kind in PLATFORM_GIVES_SECRET


def source_view(base: str, source: ConversionSource, sponsor: str) -> SourceView:
    kind, token = source.kind, source.token
    if kind in WEBHOOK_KINDS:
        address, hint = f"{base}{service.endpoint_path(kind, token)}", "the webhook address to give the platform"
    elif kind == "pixel":
        address, hint = f"{base}/px?s={token}", "paste the snippet into every page of the site"
    elif kind == "api":
        address, hint = f"{base}/api/v1/conversions", f'POST with "source_id": "{source.id}" and an Idempotency-Key'
    else:
        address, hint = f"{base}/api/v1/conversions/upload?source_id={source.id}", "POST the orders CSV as 'file'"
    snippet = pixel.snippet(base, token) if kind == "pixel" else None
    return SourceView(source, sponsor, KIND_LABELS.get(kind, kind), address, hint, snippet)


@router.get("/conversion-sources", response_class=HTMLResponse)
async def sources_page(request: Request, subject: Reader) -> Response:
    return await _page(request, subject)


@router.post("/conversion-sources", response_class=HTMLResponse)
async def create_source(request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    raw = {name: optional(values.get(name)) for name in ("sponsor_id", "kind", "name", "secret")}
    try:
        data = ConversionSourceIn.model_validate({name: value for name, value in raw.items() if value is not None})
    except ValidationError as exc:
        return await _page(request, subject, values=values, errors=validation_errors(exc), status=422)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            source, secret = await service.create_source(session, subject, data)
    except AppError as exc:
        return await _page(request, subject, values=values, errors=app_errors(exc), status=exc.status)
    if secret is None:
        response = redirect(f"/conversion-sources?sponsor_id={source.sponsor_id}#source-{source.id}")
        set_notice(response, f"{source.name} is added.")
        return response
    return await _page(request, subject, revealed=(source, secret), sponsor_id=source.sponsor_id)


@router.post("/conversion-sources/{source_id}/rotate", response_class=HTMLResponse)
async def rotate_secret(source_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(source_id, "conversion source")
    values = await form_fields(request)
    try:
        data = RotateSecretIn.model_validate({"secret": optional(values.get("secret"))})
        async with tenant_transaction(subject.tenant_id) as session:
            source, secret = await service.rotate_secret(session, subject, found_id, data)
    except ValidationError as exc:
        return _refused(found_id, next(iter(validation_errors(exc).values())))
    except SecretNotApplicable as exc:
        return _refused(found_id, exc.detail[:1].upper() + exc.detail[1:])
    return await _page(request, subject, revealed=(source, secret), sponsor_id=source.sponsor_id)


@router.post("/conversion-sources/{source_id}/active", response_class=HTMLResponse)
async def set_active(source_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(source_id, "conversion source")
    active = (await form_fields(request)).get("active") == "true"
    async with tenant_transaction(subject.tenant_id) as session:
        source = await service.update_source(session, subject, found_id, ConversionSourcePatch(active=active))
    response = redirect(f"/conversion-sources?sponsor_id={source.sponsor_id}#source-{source.id}")
    set_notice(response, f"{source.name} is {'active again' if active else 'paused: it takes nothing in'}.")
    return response


@router.get("/sponsors/{sponsor_id}/conversion-tracking", response_class=HTMLResponse)
async def sponsor_tracking(sponsor_id: str, request: Request, subject: Reader) -> Response:
    """The sponsor page's conversion tracking section (loaded into it): its pixels' snippets."""
    found_id = parse_id(sponsor_id, "sponsor")
    every = window(SOURCES_PER_PAGE, 0, "name", service.SOURCE_SORTS, SOURCES_PER_PAGE)
    async with tenant_transaction(subject.tenant_id) as session:
        sponsor = await sales.get_sponsor(session, subject, found_id)
        pixels, pixel_total = await service.list_sources(session, subject, sponsor.id, "pixel", None, every)
        _, every_total = await service.list_sources(session, subject, sponsor.id, None, None, every)
    base = public_base(request)
    return render(
        request,
        "attribution/_sponsor_tracking.html",
        sponsor=sponsor,
        pixels=[source_view(base, source, sponsor.name) for source in pixels],
        other_sources=every_total - pixel_total,
        purchase_call=pixel.purchase_call(),
        can_write=subject.can(Permission.ATTRIBUTION_WRITE),
    )


def _refused(source_id: uuid.UUID, message: str) -> Response:
    response = redirect(f"/conversion-sources#source-{source_id}")
    set_notice(response, message, "error")
    return response


def _chosen_sponsor(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.query_params.get("sponsor_id", ""))
    except ValueError:
        return None


async def _page(
    request: Request,
    subject: Subject,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    revealed: tuple[ConversionSource, str] | None = None,
    sponsor_id: uuid.UUID | None = None,
) -> Response:
    number = page_number(request.query_params.get("page"))
    chosen = sponsor_id or _chosen_sponsor(request)
    page = window(SOURCES_PER_PAGE, (number - 1) * SOURCES_PER_PAGE, "name", service.SOURCE_SORTS, SOURCES_PER_PAGE)
    every_sponsor = window(SPONSOR_CHOICES_MAX, 0, "name", sales.SPONSOR_SORTS, SPONSOR_CHOICES_MAX)
    async with tenant_transaction(subject.tenant_id) as session:
        sources, total = await service.list_sources(session, subject, chosen, None, None, page)
        sponsors, _ = await sales.list_sponsors(session, subject, None, None, every_sponsor)
        unusable = await service.unusable_ip_shares(session, subject)
    names = {sponsor.id: sponsor.name for sponsor in sponsors}
    base = public_base(request)
    form_values = values or {"sponsor_id": str(chosen) if chosen else "", "kind": "pixel"}
    return render(
        request,
        "attribution/sources.html",
        status,
        views=_views(base, sources, names),
        sponsor_choices=[(str(sponsor.id), sponsor.name) for sponsor in sponsors],
        chosen_sponsor=str(chosen) if chosen else "",
        kind_choices=KIND_CHOICES,
        pager=pager(request, number, SOURCES_PER_PAGE, total),
        can_write=subject.can(Permission.ATTRIBUTION_WRITE),
        values=form_values,
        errors=errors or {},
        revealed=_revealed(base, revealed, names),
        purchase_call=pixel.purchase_call(),
        unusable=unusable,
        unusable_warning=UNUSABLE_WARNING,
    )


def _views(base: str, sources: Sequence[ConversionSource], names: dict[uuid.UUID, str]) -> list[SourceView]:
    return [source_view(base, source, names.get(source.sponsor_id, "(removed)")) for source in sources]


def _revealed(
    base: str, revealed: tuple[ConversionSource, str] | None, names: dict[uuid.UUID, str]
) -> dict[str, Any] | None:
    if revealed is None:
        return None
    source, secret = revealed
    return {"view": source_view(base, source, names.get(source.sponsor_id, "")), "secret": secret}
