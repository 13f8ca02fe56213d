"""A show's rate card on its page: the ad units it sells, with a form to add one and a button to remove one.

The show page loads it as a partial (htmx); opened directly it is a page of its own, which is also where a refused
form is shown again with its errors.
"""

from __future__ import annotations

import uuid
from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import service
from podsponsor.bookings.schemas import AdUnitIn, Insertion, Length, Position, ReadType
from podsponsor.catalog import service as catalog
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError
from podsponsor.listing import window
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import FORM_ERROR, app_errors, form_fields, money_cents, optional, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
Reader = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_WRITE))]
UNITS_SHOWN = 200
FORM_FIELDS = {"rate_cpm_cents": "rate_cpm", "flat_rate_cents": "flat_rate"}
LABELS = {
    "pre": "Pre-roll",
    "mid": "Mid-roll",
    "post": "Post-roll",
    "host_read": "Host-read",
    "announcer": "Announcer",
    "produced": "Produced",
    "baked_in": "Baked-in",
    "dynamic": "Dynamic",
}
# (value, label) pairs for the form's selects; values as the form sends them back.
OPTIONS: dict[str, list[tuple[str, str]]] = {
    "position": [(value, LABELS[value]) for value in get_args(Position)],
    "length_seconds": [(str(value), f":{value}") for value in get_args(Length)],
    "read_type": [(value, LABELS[value]) for value in get_args(ReadType)],
    "insertion": [(value, LABELS[value]) for value in get_args(Insertion)],
}


@router.get("/podcasts/{podcast_id}/rate-card", response_class=HTMLResponse)
async def rate_card(podcast_id: str, request: Request, subject: Reader) -> Response:
    return await _render(request, subject, parse_id(podcast_id, "podcast"))


@router.post("/podcasts/{podcast_id}/rate-card", response_class=HTMLResponse)
async def add_ad_unit(podcast_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    show_id = parse_id(podcast_id, "podcast")
    values = await form_fields(request)
    errors: dict[str, str] = {}
    # The form takes prices in dollars ("22.50"); the service in cents.
    prices = {
        "rate_cpm_cents": money_cents(values.get("rate_cpm", ""), "rate_cpm", errors),
        "flat_rate_cents": money_cents(values.get("flat_rate", ""), "flat_rate", errors),
    }
    try:
        data = AdUnitIn.model_validate(
            {
                "name": optional(values.get("name")),
                "position": values.get("position", ""),
                "length_seconds": _whole(values.get("length_seconds", "")),
                "read_type": values.get("read_type", ""),
                "insertion": values.get("insertion", ""),
                **prices,
            }
        )
    except ValidationError as exc:
        found = {FORM_FIELDS.get(name, name): message for name, message in validation_errors(exc).items()}
        return await _render(request, subject, show_id, values, {**found, **errors}, 422)
    if errors:
        return await _render(request, subject, show_id, values, errors, 422)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            unit = await service.create_ad_unit(session, subject, show_id, data)
    except AppError as exc:
        return await _render(request, subject, show_id, values, app_errors(exc), exc.status)
    response = redirect(f"/podcasts/{show_id}#rate-card")
    set_notice(response, f"Added {unit.name} at ${unit.rate_cpm_cents / 100:,.2f} CPM.")
    return response


@router.post("/podcasts/{podcast_id}/rate-card/{ad_unit_id}/delete", response_class=HTMLResponse)
async def remove_ad_unit(podcast_id: str, ad_unit_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    show_id = parse_id(podcast_id, "podcast")
    unit_id = parse_id(ad_unit_id, "ad unit")
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            await service.delete_ad_unit(session, subject, unit_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _render(request, subject, show_id, errors={FORM_ERROR: exc.detail or exc.title}, status=exc.status)
    response = redirect(f"/podcasts/{show_id}#rate-card")
    set_notice(response, "Ad unit removed from the rate card.")
    return response


async def _render(
    request: Request,
    subject: Subject,
    show_id: uuid.UUID,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        show = await catalog.get_podcast(session, subject, show_id)
        units, _ = await service.list_ad_units(
            session, subject, show_id, window(UNITS_SHOWN, 0, "created_at", service.AD_UNIT_SORTS, UNITS_SHOWN)
        )
    # The rate card a unit gets when no CPM is typed, shown beside the form.
    defaults = [
        (LABELS[position], [service.default_rate_cpm_cents(position, length) for length in get_args(Length)])
        for position in get_args(Position)
    ]
    partial = request.headers.get("hx-request") == "true" and status == 200
    return render(
        request,
        "bookings/_rate_card.html" if partial else "bookings/rate_card.html",
        status,
        show=show,
        units=units,
        options=OPTIONS,
        labels=LABELS,
        lengths=get_args(Length),
        defaults=defaults,
        values=values or {"position": "mid", "length_seconds": "60", "read_type": "host_read", "insertion": "baked_in"},
        errors=errors or {},
        can_write=subject.can(Permission.BOOKINGS_WRITE),
    )


def _whole(raw: str) -> int | str:
    """A whole number as the API takes it; anything else as typed, for the validator to name."""
    return int(raw) if raw.strip().isdigit() else raw
