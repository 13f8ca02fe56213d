"""Matchmaking pages: an advertiser's best-fit shows with its brief, and a show's best-fit advertisers; each match
with its score, rationale and signal breakdown, the best one also as a chart, and a button to recalculate.

Hidden (404) while ENABLE_MATCHMAKING is off. An advertiser user sees only its own sponsor's page (another sponsor's
is 404), and neither recalculates nor edits the brief.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page, resolve_subject
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.catalog import service as catalog
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import ValidationFailed
from podsponsor.flags import service as flags
from podsponsor.flags.dependencies import feature
from podsponsor.matching import service
from podsponsor.matching.breakdown import signal_chart, views
from podsponsor.matching.inputs import POSITIONS
from podsponsor.matching.models import MatchBrief
from podsponsor.matching.schemas import BriefIn
from podsponsor.sales import service as sales
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import (
    FORM_ERROR,
    Pager,
    app_errors,
    form_fields,
    form_list,
    optional,
    page_number,
    pager,
    parse_id,
    validation_errors,
)
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(service.FLAG))])
Reader = Annotated[Subject, Depends(require_page(Permission.MATCH_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.MATCH_WRITE))]
MATCHES_PER_PAGE: Final = 20
# Only these pages link to matchmaking, so only they pay for reading the flag.
NAV_PATHS: Final = ("/sponsors/", "/podcasts/", "/settings")
POSITION_CHOICES: Final = [("pre", "Pre-roll"), ("mid", "Mid-roll"), ("post", "Post-roll")]
assert tuple(value for value, _ in POSITION_CHOICES) == POSITIONS
MAX_FILTER_DAYS: Final = 365  # the inventory horizon
FILTER_FIELDS: Final = ("min_score", "category", "available_from", "available_to", "min_slots")


async def show_matching_nav(request: Request) -> None:
    """Tells the sponsor, show and settings pages whether to link to matchmaking: for readers of matches, while the
    feature is on."""
    shown = False
    if request.url.path.startswith(NAV_PATHS):
        subject = await resolve_subject(request)
        if subject is not None and subject.can(Permission.MATCH_READ):
            async with tenant_transaction(subject.tenant_id) as session:
                shown = await flags.is_enabled(session, subject.tenant_id, service.FLAG)
    request.state.matching_nav = shown


# --- Filters -------------------------------------------------------------------------------------------------------


@dataclass
class Filters:
    """The filter form as typed (to show it again) and as understood."""

    typed: dict[str, str]
    positions: list[str]
    errors: dict[str, str] = field(default_factory=dict)
    min_score: float | None = None
    category: str | None = None
    availability: service.Availability | None = None

    @property
    def active(self) -> bool:
        return any(self.typed.values()) or bool(self.positions)


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        errors[name] = "Give a day such as 2026-05-01."
        return None


def read_filters(request: Request, *, inventory: bool = True) -> Filters:
    asked = request.query_params
    typed = {name: asked.get(name, "").strip() for name in FILTER_FIELDS}
    found = Filters(typed, [p for p in asked.getlist("position") if p])
    errors = found.errors
    if typed["min_score"]:
        try:
            found.min_score = float(typed["min_score"])
        except ValueError:
            found.min_score = None
        if found.min_score is None or not 0 <= found.min_score <= 100:
            errors["min_score"] = "Give a score from 0 to 100."
    found.category = typed["category"][:200] or None
    if not inventory:
        return found
    start = _day(typed["available_from"], "available_from", errors)
    end = _day(typed["available_to"], "available_to", errors)
    slots = 1
    if typed["min_slots"]:
        if typed["min_slots"].isdigit() and 1 <= int(typed["min_slots"]) <= 10_000:
            slots = int(typed["min_slots"])
        else:
            errors["min_slots"] = "Give a whole number from 1 to 10,000."
    if any(p not in POSITIONS for p in found.positions):
        errors["position"] = "Choose pre-, mid- or post-roll."
    wants_inventory = bool(typed["min_slots"] or found.positions)
    if (start is None) != (end is None) or (wants_inventory and start is None and end is None):
        missing = "available_to" if start else "available_from"
        errors.setdefault(missing, "Give both days to count open slots in.")
    if start and end and end < start:
        errors["available_to"] = "The last day comes before the first."
    elif start and end and (end - start).days > MAX_FILTER_DAYS:
        errors["available_to"] = f"Look at {MAX_FILTER_DAYS} days at most."
    if start and end and not errors:
        found.availability = service.Availability(start, end, tuple(found.positions), slots)
    return found


# --- An advertiser's shows ----------------------------------------------------------------------------------------


@dataclass
class BriefForm:
    """The brief form's fields as typed, and what was wrong with them."""

    values: dict[str, str]
    positions: list[str]
    errors: dict[str, str] = field(default_factory=dict)


def brief_form(brief: MatchBrief | None) -> BriefForm:
    if brief is None:
        return BriefForm({}, [])
    values = {
        "flight_start": brief.flight_start.isoformat() if brief.flight_start else "",
        "flight_end": brief.flight_end.isoformat() if brief.flight_end else "",
        "slots_needed": str(brief.slots_needed) if brief.slots_needed else "",
        "keywords": ", ".join(brief.keywords),
        "blocked_categories": ", ".join(brief.blocked_categories),
    }
    return BriefForm(values, list(brief.positions))


@router.get("/sponsors/{sponsor_id}/matches", response_class=HTMLResponse)
async def sponsor_matches(sponsor_id: str, request: Request, subject: Reader) -> Response:
    return await _sponsor_page(request, subject, parse_id(sponsor_id, "sponsor"))


async def _sponsor_page(
    request: Request, subject: Subject, sponsor_id: uuid.UUID, form: BriefForm | None = None, status: int = 200
) -> Response:
    filters = read_filters(request)
    number = page_number(request.query_params.get("page"))
    matches: list[service.RankedMatch] = []
    total = 0
    async with tenant_transaction(subject.tenant_id) as session:
        sponsor = await sales.get_sponsor(session, subject, sponsor_id)
        if not filters.errors:
            try:
                matches, total = await service.ranked(
                    session,
                    subject,
                    sponsor_id=sponsor.id,
                    min_score=filters.min_score,
                    category=filters.category,
                    availability=filters.availability,
                    limit=MATCHES_PER_PAGE,
                    offset=(number - 1) * MATCHES_PER_PAGE,
                )
            except ValidationFailed as exc:
                filters.errors.update(app_errors(exc))
        brief = await service.get_brief(session, subject, sponsor.id)
        computed = await service.last_computed(session, subject, sponsor_id=sponsor.id)
    form = form or brief_form(brief)
    shown = views(matches)
    return render(
        request,
        "matching/sponsor_matches.html",
        status if not filters.errors else 422,
        sponsor=sponsor,
        matches=shown,
        chart=signal_chart(shown[0], f"Signals of the best match: {shown[0].match.podcast_title}")
        if shown and number == 1
        else None,
        filters=filters,
        pager=_pager(request, f"/sponsors/{sponsor.id}/matches", number, total),
        brief=brief,
        values=form.values,
        brief_positions=form.positions,
        errors=form.errors,
        position_choices=POSITION_CHOICES,
        computed=computed,
        can_write=subject.can(Permission.MATCH_WRITE),
        back=_back(request),
    )


def _pager(request: Request, path: str, number: int, total: int) -> Pager:
    """The pages of the list; a refused brief is shown again under its form's address, so its links go to the
    page's own."""
    if request.url.path == path:
        return pager(request, number, MATCHES_PER_PAGE, total)
    return Pager(1, MATCHES_PER_PAGE, total, None, f"{path}?page=2" if total > MATCHES_PER_PAGE else None)


def _back(request: Request) -> str:
    """The page's filters, kept across a recalculation."""
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k in FILTER_FIELDS or k == "position"])


def _return_to(path: str, back: str) -> str:
    # Re-encoded, so a tampered field can add only query parameters to our own page.
    kept = urlencode([(k, v) for k, v in parse_qsl(back) if k in FILTER_FIELDS or k == "position"])
    return f"{path}?{kept}" if kept else path


@router.post("/sponsors/{sponsor_id}/matches/recalculate", response_class=HTMLResponse)
async def recalculate_sponsor(sponsor_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(sponsor_id, "sponsor")
    fields = await form_fields(request)
    async with tenant_transaction(subject.tenant_id) as session:
        run = await service.recalculate(session, subject, sponsor_id=found_id)
    response = redirect(_return_to(f"/sponsors/{found_id}/matches", fields.get("back", "")))
    set_notice(response, f"Recalculated: {run.pairs_stored} show{'s' if run.pairs_stored != 1 else ''} scored.")
    return response


def _words(raw: str) -> list[str]:
    return [word.strip() for word in raw.replace("\n", ",").split(",") if word.strip()]


def read_brief(fields: dict[str, str], positions: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The brief as the API takes it, and the messages (in the form's words) for what cannot be read."""
    errors: dict[str, str] = {}
    start, end = fields.get("flight_start", ""), fields.get("flight_end", "")
    if bool(start) != bool(end):
        errors["flight_end" if start else "flight_start"] = "Give both days of the flight, or neither."
    elif start and end and end < start:
        errors["flight_end"] = "The flight ends before it starts."
    slots: int | None = None
    if raw := fields.get("slots_needed", ""):
        if raw.isdigit():
            slots = int(raw)
        else:
            errors["slots_needed"] = "Give a whole number from 1 to 10,000."
    keywords, blocked = _words(fields.get("keywords", "")), _words(fields.get("blocked_categories", ""))
    for name, words in (("keywords", keywords), ("blocked_categories", blocked)):
        if any(len(word) > 100 for word in words):
            errors[name] = "Each one is at most 100 characters."
    data = {
        "flight_start": optional(start),
        "flight_end": optional(end),
        "positions": positions,
        "slots_needed": slots,
        "keywords": keywords,
        "blocked_categories": blocked,
    }
    return data, errors


@router.post("/sponsors/{sponsor_id}/matches/brief", response_class=HTMLResponse)
async def save_brief(sponsor_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(sponsor_id, "sponsor")
    fields = await form_fields(request)
    positions = await form_list(request, "positions")
    form = BriefForm(fields, positions)
    data, form.errors = read_brief(fields, positions)
    try:
        brief = BriefIn.model_validate(data)
    except ValidationError as exc:
        found = validation_errors(exc)
        if form.errors:
            # The brief's own checks across fields (the flight) are already said above, in the form's words.
            found.pop(FORM_ERROR, None)
        form.errors = found | form.errors
    if form.errors:
        return await _sponsor_page(request, subject, found_id, form, 422)
    async with tenant_transaction(subject.tenant_id) as session:
        await service.put_brief(session, subject, found_id, brief.values())
    response = redirect(f"/sponsors/{found_id}/matches#brief")
    set_notice(response, "The brief is saved. Recalculate to score the shows against it.")
    return response


# --- A show's advertisers -----------------------------------------------------------------------------------------


@router.get("/podcasts/{podcast_id}/matches", response_class=HTMLResponse)
async def podcast_matches(podcast_id: str, request: Request, subject: Reader) -> Response:
    found_id = parse_id(podcast_id, "podcast")
    filters = read_filters(request, inventory=False)
    number = page_number(request.query_params.get("page"))
    matches: list[service.RankedMatch] = []
    total = 0
    async with tenant_transaction(subject.tenant_id) as session:
        show = await catalog.get_podcast(session, subject, found_id)
        if not filters.errors:
            matches, total = await service.ranked(
                session,
                subject,
                podcast_id=show.id,
                min_score=filters.min_score,
                limit=MATCHES_PER_PAGE,
                offset=(number - 1) * MATCHES_PER_PAGE,
            )
        computed = await service.last_computed(session, subject, podcast_id=show.id)
    shown = views(matches)
    return render(
        request,
        "matching/podcast_matches.html",
        422 if filters.errors else 200,
        show=show,
        matches=shown,
        chart=signal_chart(shown[0], f"Signals of the best match: {shown[0].match.sponsor_name}")
        if shown and number == 1
        else None,
        filters=filters,
        pager=pager(request, number, MATCHES_PER_PAGE, total),
        computed=computed,
        can_write=subject.can(Permission.MATCH_WRITE),
        back=_back(request),
    )


@router.post("/podcasts/{podcast_id}/matches/recalculate", response_class=HTMLResponse)
async def recalculate_podcast(podcast_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(podcast_id, "podcast")
    fields = await form_fields(request)
    async with tenant_transaction(subject.tenant_id) as session:
        run = await service.recalculate(session, subject, podcast_id=found_id)
    response = redirect(_return_to(f"/podcasts/{found_id}/matches", fields.get("back", "")))
    set_notice(response, f"Recalculated: {run.pairs_stored} advertiser{'s' if run.pairs_stored != 1 else ''} scored.")
    return response
