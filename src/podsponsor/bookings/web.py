"""Insertion order pages: the list, one IO, and the booking wizard.

The wizard is one server-rendered form. Choosing a show or an ad unit, or asking for a promo code or vanity slug,
re-renders it through htmx with the values typed so far (prices are prefilled from the ad unit's rate card when the
ad unit changes). Booking posts the form with a token made when the wizard opened, used as the Idempotency-Key: a
double submit books once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.dependencies import require_page, resolve_subject
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import service
from podsponsor.bookings.exceptions import IoLocked
from podsponsor.bookings.schemas import IoIn, IoQuery, IoStatus, PacingMode, PricingModel
from podsponsor.catalog import service as catalog
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError, NotFound
from podsponsor.flags import service as flags
from podsponsor.flags.dependencies import feature
from podsponsor.listing import window
from podsponsor.sales import service as sales
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import (
    FORM_ERROR,
    form_fields,
    form_list,
    money_cents,
    optional,
    page_number,
    pager,
    parse_id,
    validation_errors,
)
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

FLAG = "ENABLE_IO_BOOKINGS"
router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(FLAG))])
Reader = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_WRITE))]
IOS_PER_PAGE = 25
CHOICES_MAX = 200
EPISODES_SHOWN = 60
STATUS_CHOICES = [(value, value.capitalize()) for value in get_args(IoStatus)]
PRICING_CHOICES = [("cpm", "CPM"), ("flat", "Flat per episode"), ("cpa", "CPA (per action)"), ("hybrid", "CPM + CPA")]
PACING_CHOICES = [("even", "Even"), ("asap", "As soon as possible"), ("front_loaded", "Front-loaded")]
# The form takes prices in currency units ("22.50"); the API in cents.
MONEY_FIELDS = {"cpm": "cpm_cents", "flat": "flat_cents", "cpa": "cpa_cents", "max_spend": "max_spend_cents"}
FORM_FIELD_OF = {api: form for form, api in MONEY_FIELDS.items()}
TEXT_FIELDS = ("agency_name", "agency_contact", "talking_points", "promo_code", "vanity_slug", "landing_url")
CHECKBOXES = ("exclusivity", "separation_waived")
assert {v for v, _ in PRICING_CHOICES} == set(get_args(PricingModel))
assert {v for v, _ in PACING_CHOICES} == set(get_args(PacingMode))


async def show_bookings_nav(request: Request) -> None:
    """Tells the layout whether to offer the bookings pages: to readers of bookings, while the feature is on."""
    subject = await resolve_subject(request)
    shown = False
    if subject is not None and subject.can(Permission.BOOKINGS_READ):
        async with tenant_transaction(subject.tenant_id) as session:
            shown = await flags.is_enabled(session, subject.tenant_id, FLAG)
    request.state.bookings_nav = shown


def money(cents: int | None, currency: str = "") -> str:
    if cents is None:
        return "—"
    return f"{Decimal(cents) / 100:,.2f}" + (f" {currency}" if currency else "")


# --- List and detail ---------------------------------------------------------------------------------------------


@router.get("/io", response_class=HTMLResponse)
async def ios_page(request: Request, subject: Reader) -> Response:
    number = page_number(request.query_params.get("page"))
    chosen = request.query_params.get("status", "")
    statuses = [chosen] if chosen in get_args(IoStatus) else []
    page = window(IOS_PER_PAGE, (number - 1) * IOS_PER_PAGE, "-flight_start", service.IO_SORTS, IOS_PER_PAGE)
    async with tenant_transaction(subject.tenant_id) as session:
        bookings, total = await service.list_ios(session, subject, IoQuery(statuses=statuses), page)
        names = await _names(session, subject, bookings)
    return render(
        request,
        "bookings/ios.html",
        bookings=bookings,
        names=names,
        status=chosen if statuses else "",
        status_choices=STATUS_CHOICES,
        pager=pager(request, number, IOS_PER_PAGE, total),
        can_write=subject.can(Permission.BOOKINGS_WRITE),
    )


@router.get("/io/new", response_class=HTMLResponse)
async def new_io_page(request: Request, subject: Writer) -> Response:
    query = request.query_params
    if "form_token" in query:
        values = {key: value.strip() for key, value in query.items()}
        episode_ids = query.getlist("episode_ids")
    else:
        values = {"form_token": uuid.uuid4().hex, "episodes": "unassigned", "exclusivity": "on"}
        values |= {"pricing_model": "cpm", "pacing_mode": "even"}
        episode_ids = []
    return await _wizard(request, subject, values, episode_ids, {}, generate=query.get("generate"))


@router.post("/io", response_class=HTMLResponse)
async def create_io(request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    episode_ids = await form_list(request, "episode_ids")
    errors: dict[str, str] = {}
    raw = _as_input(values, episode_ids, errors)
    try:
        data = IoIn.model_validate(raw)
    except ValidationError as exc:
        errors = _form_errors(validation_errors(exc)) | errors
        return await _wizard(request, subject, values, episode_ids, errors, status=422, prefill=False)
    if errors:
        return await _wizard(request, subject, values, episode_ids, errors, status=422, prefill=False)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            answer = await service.book_io(
                session, subject, data, values.get("form_token", ""), scope=service.PAGE_SCOPE
            )
    except AppError as exc:
        errors = _booking_errors(exc)
        return await _wizard(request, subject, values, episode_ids, errors, status=exc.status, prefill=False)
    response = redirect(f"/io/{answer.io_id}")
    set_notice(response, f"{answer.body['number']} is booked.")
    return response


@router.get("/io/{io_id}", response_class=HTMLResponse)
async def io_page(io_id: str, request: Request, subject: Reader) -> Response:
    found_id = parse_id(io_id, "insertion order")
    async with tenant_transaction(subject.tenant_id) as session:
        booking = await service.get_io(session, subject, found_id)
        names = await _names(session, subject, [booking], episodes=True)
    return render(
        request,
        "bookings/io_detail.html",
        booking=booking,
        io=booking.io,
        names=names,
        placements=_in_release_order(booking, names),
        money=money,
        can_cancel=subject.can(Permission.BOOKINGS_WRITE) and booking.io.status in service.CANCELLABLE,
        show_notes=not subject.is_advertiser,
    )


@router.post("/io/{io_id}/cancel", response_class=HTMLResponse)
async def cancel_io(io_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(io_id, "insertion order")
    response = redirect(f"/io/{found_id}")
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            booking = await service.cancel_io(session, subject, found_id)
    except IoLocked as exc:
        set_notice(response, _sentence(exc.detail), "error")
        return response
    set_notice(response, f"{booking.io.number} is cancelled; its episode slots are free again.")
    return response


@dataclass
class Names:
    """What ids stand for on a page. Something removed since it was booked reads as removed, not as an error."""

    sponsors: dict[uuid.UUID, str] = field(default_factory=dict)
    campaigns: dict[uuid.UUID, str] = field(default_factory=dict)
    shows: dict[uuid.UUID, str] = field(default_factory=dict)
    ad_units: dict[uuid.UUID, Any] = field(default_factory=dict)
    episodes: dict[uuid.UUID, Any] = field(default_factory=dict)


async def _names(
    session: AsyncSession, subject: Subject, bookings: Sequence[service.Booking], *, episodes: bool = False
) -> Names:
    names = Names()
    for io in (b.io for b in bookings):
        if io.sponsor_id not in names.sponsors:
            names.sponsors[io.sponsor_id] = await _name(sales.get_sponsor(session, subject, io.sponsor_id), "name")
        if io.podcast_id not in names.shows:
            names.shows[io.podcast_id] = await _name(catalog.get_podcast(session, subject, io.podcast_id), "title")
        if episodes:
            names.campaigns[io.campaign_id] = await _name(sales.get_campaign(session, subject, io.campaign_id), "name")
            unit = await service.get_ad_unit(session, subject, io.ad_unit_id, include_deleted=True)
            names.ad_units[io.ad_unit_id] = unit
    for placement in (p for b in bookings for p in b.placements) if episodes else ():
        try:
            names.episodes[placement.episode_id] = await catalog.get_episode(session, subject, placement.episode_id)
        except NotFound:
            names.episodes[placement.episode_id] = None
    return names


def _in_release_order(booking: service.Booking, names: Names) -> list[tuple[Any, Any]]:
    """Placements with their episodes, earliest release first; undated and removed episodes last."""
    pairs = [(p, names.episodes.get(p.episode_id)) for p in booking.placements]
    latest = datetime.max.replace(tzinfo=UTC)
    return sorted(pairs, key=lambda pair: (pair[0].bonus, (pair[1] and pair[1].publish_date) or latest))


async def _name(lookup: Any, attribute: str) -> str:
    try:
        return str(getattr(await lookup, attribute))
    except NotFound:
        return "(removed)"


# --- The wizard --------------------------------------------------------------------------------------------------


async def _wizard(
    request: Request,
    subject: Subject,
    values: dict[str, str],
    episode_ids: list[str],
    errors: dict[str, str],
    *,
    status: int = 200,
    generate: str | None = None,
    prefill: bool = True,
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        choices = await _choices(session, subject, values)
        if generate in ("promo_code", "vanity_slug"):
            values[generate] = await _suggestion(session, subject, generate, values)
    # A refused booking shows what was sent, prices included.
    unit = _prefill_prices(values, choices.ad_units) if prefill else _chosen(values, choices.ad_units)
    return render(
        request,
        "bookings/io_new.html",
        status,
        values=values,
        errors=errors,
        chosen_episodes=set(episode_ids),
        choices=choices,
        pricing_choices=PRICING_CHOICES,
        pacing_choices=PACING_CHOICES,
        money=money,
        rate_card=f"{money(unit.rate_cpm_cents)} {choices.currency}" if unit else "",
        now=datetime.now(UTC),
    )


@dataclass
class Choices:
    campaigns: list[tuple[str, str]]
    shows: list[tuple[str, str]]
    ad_units: list[Any]
    episodes: list[Any]
    currency: str = "USD"


async def _choices(session: AsyncSession, subject: Subject, values: dict[str, str]) -> Choices:
    """What the wizard offers: open deals, shows, and the chosen show's ad units and latest and coming episodes."""
    cap = window(CHOICES_MAX, 0, "name", sales.CAMPAIGN_SORTS, CHOICES_MAX)
    open_stages = ("lead", "qualified", "proposal", "negotiation", "won")
    campaigns, _ = await sales.list_campaigns(session, subject, None, open_stages, None, cap)
    every_sponsor = window(CHOICES_MAX, 0, "name", sales.SPONSOR_SORTS, CHOICES_MAX)
    sponsors, _ = await sales.list_sponsors(session, subject, None, None, every_sponsor)
    sponsor_names = {s.id: s.name for s in sponsors}
    shows, _ = await catalog.list_podcasts(
        session, subject, None, None, None, window(CHOICES_MAX, 0, "title", catalog.PODCAST_SORTS, CHOICES_MAX)
    )
    choices = Choices(
        campaigns=[(str(c.id), f"{c.name} — {sponsor_names.get(c.sponsor_id, '')}".rstrip(" —")) for c in campaigns],
        shows=[(str(s.id), s.title) for s in shows],
        ad_units=[],
        episodes=[],
    )
    chosen = next((c for c in campaigns if str(c.id) == values.get("campaign_id")), None)
    choices.currency = chosen.currency if chosen else "USD"
    show_id = _uuid(values.get("podcast_id"))
    if show_id is not None and any(s.id == show_id for s in shows):
        units, _ = await service.list_ad_units(
            session, subject, show_id, window(CHOICES_MAX, 0, "created_at", service.AD_UNIT_SORTS, CHOICES_MAX)
        )
        choices.ad_units = list(units)
        latest = window(EPISODES_SHOWN, 0, "-publish_date", catalog.EPISODE_SORTS, EPISODES_SHOWN)
        choices.episodes = list((await catalog.list_episodes(session, subject, show_id, None, None, None, latest))[0])
    if values.get("ad_unit_id") not in {str(u.id) for u in choices.ad_units}:
        # A new show: the ad unit chosen before belongs to the old one. With one ad unit, there is nothing to choose.
        values["ad_unit_id"] = str(choices.ad_units[0].id) if len(choices.ad_units) == 1 else ""
    return choices


def _prefill_prices(values: dict[str, str], ad_units: Iterable[Any]) -> Any:
    """The chosen ad unit. When it changes, its rate card fills the prices (the seller may then change them)."""
    unit = _chosen(values, ad_units)
    if unit is None or values.get("priced_for") == str(unit.id):
        return unit
    values["cpm"] = money(unit.rate_cpm_cents).replace(",", "")
    if unit.flat_rate_cents is not None:
        values["flat"] = money(unit.flat_rate_cents).replace(",", "")
    values["priced_for"] = str(unit.id)
    return unit


def _chosen(values: Mapping[str, str], ad_units: Iterable[Any]) -> Any:
    return next((u for u in ad_units if str(u.id) == values.get("ad_unit_id")), None)


async def _suggestion(session: AsyncSession, subject: Subject, what: str, values: Mapping[str, str]) -> str:
    campaign_id = _uuid(values.get("campaign_id"))
    if what == "promo_code":
        return await service.suggest_promo_code(session, subject, campaign_id)
    return await service.suggest_vanity_slug(session, subject, campaign_id, _uuid(values.get("podcast_id")))


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _as_input(values: dict[str, str], episode_ids: list[str], errors: dict[str, str]) -> dict[str, Any]:
    """Form text as the API's input: amounts in currency units become cents, checkboxes booleans. Text that cannot
    be read adds a message to `errors` and is left out."""
    data: dict[str, Any] = {
        name: values[name] for name in ("campaign_id", "podcast_id", "ad_unit_id", "flight_start", "flight_end")
        if values.get(name)
    }  # fmt: skip
    data |= {name: optional(values.get(name)) for name in TEXT_FIELDS}
    data |= {name: values.get(name) == "on" for name in CHECKBOXES}
    data |= {name: values.get(name, "") for name in ("makegood_terms", "notes")}
    data["pricing_model"] = values.get("pricing_model") or "cpm"
    data["pacing_mode"] = values.get("pacing_mode") or "even"
    if values.get("episodes") == "chosen":  # "unassigned" disables the episode boxes, and ignores any sent
        if not episode_ids:
            errors["episode_ids"] = "Choose at least one episode, or book the IO unassigned within the flight."
        data["episode_ids"] = episode_ids
    goal = re.sub(r"[\s,_]", "", values.get("impression_goal", ""))
    if goal.isdigit():
        data["impression_goal"] = int(goal)
    else:
        errors["impression_goal"] = "Give a whole number of impressions, e.g. 50000."
    # Prices of the other models stay in the form (switching back keeps them) but are not part of this order.
    used = {*service.PRICES_BY_MODEL.get(data["pricing_model"], ()), "max_spend_cents"}
    for form_name, api_name in MONEY_FIELDS.items():
        data[api_name] = money_cents(values.get(form_name, ""), form_name, errors) if api_name in used else None
    return data


def _booking_errors(exc: AppError) -> dict[str, str]:
    """A refused booking's messages by form field (like `app_errors`, but keeping the case of IO numbers and codes)."""
    errors = {FORM_ERROR: _sentence(exc.detail) or exc.title}
    for item in exc.errors or []:
        name = str(item.get("field", FORM_ERROR))
        errors.setdefault(FORM_FIELD_OF.get(name, name), _sentence(str(item.get("reason", ""))) or "Not valid.")
    return errors


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _form_errors(errors: dict[str, str]) -> dict[str, str]:
    """Messages keyed by the API's field names, moved to the form's (prices are typed in units, not cents)."""
    return {FORM_FIELD_OF.get(name, name): message for name, message in errors.items()}
