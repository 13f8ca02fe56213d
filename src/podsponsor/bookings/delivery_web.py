"""Delivery pages: an IO's pacing (a section of the IO's page, loaded as a partial; opened directly it is a page of
its own), a campaign's delivery by IO, and the makegoods owed and settled, with the form that settles one.

Numbers are computed live as of today by `delivery`, as the API answers them; the rules are in docs/delivery.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery, makegoods, service
from podsponsor.bookings.delivery import HOW_COMPUTED, CampaignDelivery, IoDelivery
from podsponsor.bookings.delivery_schemas import MAX_CREDIT_CENTS
from podsponsor.bookings.models import InsertionOrder, Makegood
from podsponsor.bookings.pacing import expected_by, round_half_up
from podsponsor.bookings.web import money
from podsponsor.catalog import service as catalog
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError, NotFound
from podsponsor.flags.dependencies import feature
from podsponsor.listing import window
from podsponsor.sales import service as sales
from podsponsor.web.charts import Series, bar_chart, line_chart
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import FORM_ERROR, form_fields, page_number, pager, parse_id
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature("ENABLE_IO_BOOKINGS"))])
Reader = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_WRITE))]

ON_PACE_PCT: Final = 95.0
AT_RISK_PCT: Final = 80.0
MAKEGOODS_PER_PAGE: Final = 25
BONUS_EPISODES_OFFERED: Final = 60
STATES: Final = ("open", "settled")
# The form's field for each field the settlement rules name (the credit is typed in currency units, not cents).
FORM_FIELD_OF: Final = {"episode_id": "episode_id", "extended_to": "extended_to", "credit_cents": "credit"}
NOTE_MAX: Final = 2000
# Whole units either bare ("1250") or grouped by thousands ("1,250"), then at most two decimals.
_AMOUNT = re.compile(r"^(?P<units>\d+|\d{1,3}(?:,\d{3})+)(?:\.(?P<fraction>\d{1,2}))?$")


def today_utc() -> date:
    return datetime.now(UTC).date()


# --- Pacing status -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PacingStatus:
    label: str
    badge: str  # the badge's modifier class ("" is the plain accent badge)


def pacing_status(found: IoDelivery) -> PacingStatus:
    """How an order stands: its outcome once decided, else its pacing against the thresholds in docs/delivery.md."""
    io = found.io
    if io.status == "cancelled":
        return PacingStatus("Cancelled", "badge--muted")
    if io.status == "completed":
        return PacingStatus("Delivered", "badge--ok")
    if io.status == "makegood":
        return PacingStatus("Under-delivered", "badge--error")
    pct = found.pacing_pct
    if found.today < io.flight_start or pct is None:
        return PacingStatus("Not started", "badge--muted")
    # The shown (rounded) figure decides, so "95.0 %" never reads as behind.
    if pct >= ON_PACE_PCT:
        return PacingStatus("On pace", "badge--ok")
    if pct >= AT_RISK_PCT:
        return PacingStatus("Behind", "badge--warn")
    return PacingStatus("At risk", "badge--error")


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} %"


# --- One IO ------------------------------------------------------------------------------------------------------


@router.get("/io/{io_id}/delivery", response_class=HTMLResponse)
async def io_delivery(io_id: str, request: Request, subject: Reader) -> Response:
    found_id = parse_id(io_id, "insertion order")
    async with tenant_transaction(subject.tenant_id) as session:
        found = await delivery.io_delivery(session, subject, found_id, today=today_utc())
        campaign = await _name(sales.get_campaign(session, subject, found.io.campaign_id), "name")
        owed, _ = await makegoods.list_makegoods(
            session, subject, settled=False, io_id=found_id, page=window(1, 0, "-created_at", makegoods.SORTS, 1)
        )
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        "bookings/_delivery.html" if partial else "bookings/io_delivery.html",
        found=found,
        io=found.io,
        status=pacing_status(found),
        chart=pacing_chart(found),
        campaign_name=campaign,
        owed=owed[0][0] if owed else None,
        how_computed=HOW_COMPUTED,
        money=money,
        pct=pct,
    )


def pacing_chart(found: IoDelivery) -> Markup:
    """Cumulative delivered against expected, day by day across the flight (and the accrual days after it), with
    the goal. Expected reaches past today on the plan's line; delivered stops at the last day counted."""
    io = found.io
    last = max(io.flight_end, found.counts_until)
    counted = {d.day: d for d in found.daily}
    days = [io.flight_start + timedelta(days=n) for n in range((last - io.flight_start).days + 1)]
    expected = []
    for day in days:
        if day in counted:
            expected.append((day, float(counted[day].expected)))
        else:
            # Front-loaded expectations depend on what is in: after today, what is in now.
            plan = expected_by(io.impression_goal, io.pacing_mode, io.flight_start, io.flight_end, day, found.delivered)
            expected.append((day, float(round_half_up(plan))))
    return line_chart(
        [
            Series("Delivered", [(d.day, float(d.cumulative)) for d in found.daily]),
            Series("Expected", expected),
            Series("Goal", [(day, float(io.impression_goal)) for day in days]),
        ],
        title="Pacing: delivered against expected",
        x_label="UTC day",
        y_label="Impressions (cumulative)",
        chart_id="io-pacing",
        height=240,
    )


# --- One campaign ------------------------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id}/delivery", response_class=HTMLResponse)
async def campaign_delivery(campaign_id: str, request: Request, subject: Reader) -> Response:
    found_id = parse_id(campaign_id, "campaign")
    async with tenant_transaction(subject.tenant_id) as session:
        found = await delivery.campaign_delivery(session, subject, found_id, today=today_utc())
        sponsor = await _name(sales.get_sponsor(session, subject, found.sponsor_id), "name")
        shows = await _show_titles(session, subject, (d.io.podcast_id for d in found.ios))
    return render(
        request,
        "bookings/campaign_delivery.html",
        found=found,
        sponsor_name=sponsor,
        shows=shows,
        rows=[(d, pacing_status(d)) for d in found.ios],
        chart=campaign_chart(found),
        how_computed=HOW_COMPUTED,
        money=money,
        pct=pct,
    )


def campaign_chart(found: CampaignDelivery) -> Markup:
    # Cancelled orders stay in the table but, as in the totals, out of the chart: their goal is no longer sold.
    counted = [d for d in found.ios if d.io.status != "cancelled"]
    return bar_chart(
        [
            Series("Delivered", [(d.io.number, float(d.delivered)) for d in counted]),
            Series("Goal", [(d.io.number, float(d.io.impression_goal)) for d in counted]),
        ],
        title="Delivered against goal, by IO",
        x_label="IO",
        y_label="Impressions",
        empty_text="No insertion orders in this campaign yet",
        chart_id="campaign-delivery",
        height=240,
    )


# --- Makegoods ---------------------------------------------------------------------------------------------------


@dataclass
class Refused:
    """A settle form sent back: what was typed and why it was refused, shown on that makegood's row."""

    makegood_id: uuid.UUID
    values: dict[str, str]
    errors: dict[str, str]


@dataclass
class MakegoodRow:
    makegood: Makegood
    io: InsertionOrder
    sponsor: str
    show: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    episodes: list[tuple[str, str]] = field(default_factory=list)
    extend_from: date | None = None  # the earliest new flight end the rules allow
    settled_with: str = ""


@router.get("/makegoods", response_class=HTMLResponse)
async def makegoods_page(request: Request, subject: Reader) -> Response:
    state = request.query_params.get("state", STATES[0])
    return await _makegoods(request, subject, state if state in STATES else STATES[0])


@router.post("/makegoods/{makegood_id}/settle", response_class=HTMLResponse)
async def settle_makegood(makegood_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(makegood_id, "makegood")
    values = await form_fields(request)
    errors: dict[str, str] = {}
    settlement = read_settlement(values, errors)
    if settlement is None:
        return await _makegoods(request, subject, "open", status=422, refused=Refused(found_id, values, errors))
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            makegood, io = await makegoods.settle(session, subject, found_id, settlement, now=datetime.now(UTC))
            settled_with = await _settled_with_episode(session, subject, makegood, io)
    except NotFound:
        raise
    except AppError as exc:
        refused = Refused(found_id, values, settle_errors(exc))
        return await _makegoods(request, subject, "open", status=exc.status, refused=refused)
    response = redirect("/makegoods?state=settled")
    again = f"; {io.number} is active again until it is judged anew" if io.status == "active" else ""
    set_notice(response, f"The makegood of {io.number} is settled by {settled_with}{again}.")
    return response


async def _makegoods(
    request: Request, subject: Subject, state: str, *, status: int = 200, refused: Refused | None = None
) -> Response:
    number = page_number(request.query_params.get("page"))
    sort = "-settled_at" if state == "settled" else "-created_at"
    page = window(MAKEGOODS_PER_PAGE, (number - 1) * MAKEGOODS_PER_PAGE, sort, makegoods.SORTS, MAKEGOODS_PER_PAGE)
    can_settle = subject.can(Permission.BOOKINGS_WRITE)
    async with tenant_transaction(subject.tenant_id) as session:
        found, total = await makegoods.list_makegoods(
            session, subject, settled=state == "settled", io_id=None, page=page
        )
        counts = {s: await _count(session, subject, s) for s in STATES}
        rows = await _rows(session, subject, found, today_utc(), settle_forms=can_settle and state == "open")
    context: dict[str, Any] = {}
    if refused is not None:
        row = next((r for r in rows if r.makegood.id == refused.makegood_id), None)
        if row is not None:
            row.values, row.errors = refused.values, refused.errors
        else:  # settled meanwhile, or on another page: the message cannot sit beside its form
            message = refused.errors.get(FORM_ERROR) or "The makegood could not be settled."
            context["notice"] = {"kind": "error", "message": message}
    return render(
        request,
        "bookings/makegoods.html",
        status,
        state=state,
        states=STATES,
        counts=counts,
        rows=rows,
        can_settle=can_settle,
        show_notes=not subject.is_advertiser,
        pager=pager(request, number, MAKEGOODS_PER_PAGE, total),
        money=money,
        **context,
    )


async def _count(session: AsyncSession, subject: Subject, state: str) -> int:
    one = window(1, 0, "created_at", makegoods.SORTS, 1)
    _, total = await makegoods.list_makegoods(session, subject, settled=state == "settled", io_id=None, page=one)
    return total


async def _rows(
    session: AsyncSession,
    subject: Subject,
    found: Sequence[tuple[Makegood, InsertionOrder]],
    today: date,
    *,
    settle_forms: bool,
) -> list[MakegoodRow]:
    ios = [io for _, io in found]
    sponsors = await _sponsor_names(session, subject, (io.sponsor_id for io in ios))
    shows = await _show_titles(session, subject, (io.podcast_id for io in ios))
    rows = []
    for makegood, io in found:
        row = MakegoodRow(makegood, io, sponsors[io.sponsor_id], shows[io.podcast_id])
        if settle_forms:
            row.values = {"credit": _amount(makegood.shortfall_cents)}
            row.episodes = await _bonus_choices(session, subject, io)
            row.extend_from = max(io.flight_end + timedelta(days=1), today)
        elif makegood.settled_at is not None:
            row.settled_with = _sentence(await _settled_with_episode(session, subject, makegood, io))
        rows.append(row)
    return rows


async def _bonus_choices(session: AsyncSession, subject: Subject, io: InsertionOrder) -> list[tuple[str, str]]:
    """The show's latest and coming episodes that the order does not already run in."""
    held = {p.episode_id for p in (await service.get_io(session, subject, io.id)).placements}
    latest = window(BONUS_EPISODES_OFFERED, 0, "-publish_date", catalog.EPISODE_SORTS, BONUS_EPISODES_OFFERED)
    episodes, _ = await catalog.list_episodes(session, subject, io.podcast_id, None, None, None, latest)
    return [
        (str(e.id), f"{e.title} · {e.publish_date.date().isoformat() if e.publish_date else 'date not set'}")
        for e in episodes
        if e.id not in held
    ]


async def _settled_with_episode(session: AsyncSession, subject: Subject, makegood: Makegood, io: InsertionOrder) -> str:
    title = None
    if makegood.bonus_episode_id is not None:
        title = await _name(catalog.get_episode(session, subject, makegood.bonus_episode_id), "title")
    return _settled_with(makegood, io, title)


def _settled_with(makegood: Makegood, io: InsertionOrder, episode_title: str | None) -> str:
    if makegood.settlement == "bonus_episode":
        return f"a bonus episode ({episode_title})" if episode_title else "a bonus episode"
    if makegood.settlement == "extended_flight" and makegood.extended_to is not None:
        return f"extending the flight to {makegood.extended_to.isoformat()}"
    return f"a credit of {money(makegood.credit_cents, io.currency)}"


# --- Reading the settle form -------------------------------------------------------------------------------------


def read_settlement(values: dict[str, str], errors: dict[str, str]) -> makegoods.Settlement | None:
    """The settlement the form asks for, taking only the field of the chosen kind (the form shows all three).
    Anything unreadable adds a message to `errors` under its form field, and None is returned."""
    kind = values.get("settlement", "")
    note = values.get("note", "")
    if len(note) > NOTE_MAX:
        errors["note"] = f"Use at most {NOTE_MAX:,} characters."
    if kind == "bonus_episode":
        settlement = makegoods.Settlement(kind, episode_id=_episode_id(values.get("episode_id", ""), errors), note=note)
    elif kind == "extended_flight":
        settlement = makegoods.Settlement(kind, extended_to=_day(values.get("extended_to", ""), errors), note=note)
    elif kind == "credit":
        settlement = makegoods.Settlement(kind, credit_cents=credit_cents(values.get("credit", ""), errors), note=note)
    else:
        errors["settlement"] = "Choose how to make it good: a bonus episode, an extended flight or a credit."
        return None
    return None if errors else settlement


def _episode_id(raw: str, errors: dict[str, str]) -> uuid.UUID | None:
    if not raw:
        errors["episode_id"] = "Choose the episode that carries the bonus spot."
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        errors["episode_id"] = "Choose one of the offered episodes."
        return None


def _day(raw: str, errors: dict[str, str]) -> date | None:
    if not raw:
        errors["extended_to"] = "Give the flight's new last day."
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors["extended_to"] = "Give a date such as 2026-05-31."
        return None


def credit_cents(raw: str, errors: dict[str, str]) -> int | None:
    """An amount typed in currency units ("1,250.5") as integer cents, by integer arithmetic (no float on the way).
    Empty means "the shortfall's value", which the settlement rules fill in."""
    text = raw.removeprefix("$").strip()
    if not text:
        return None
    found = _AMOUNT.match(text)
    if found is None:
        errors["credit"] = "Give an amount such as 125.50: digits, with at most two decimals."
        return None
    cents = int(found["units"].replace(",", "")) * 100 + int((found["fraction"] or "0").ljust(2, "0"))
    if cents > MAX_CREDIT_CENTS:
        errors["credit"] = f"Give at most {money(MAX_CREDIT_CENTS)}."
        return None
    return cents


def settle_errors(exc: AppError) -> dict[str, str]:
    """A refused settlement's messages: its detail for the form, each failing field's reason beside that field."""
    errors = {FORM_ERROR: _sentence(exc.detail) or exc.title}
    for item in exc.errors or []:
        name = FORM_FIELD_OF.get(str(item.get("field")), FORM_ERROR)
        if name != FORM_ERROR:
            errors.setdefault(name, _sentence(str(item.get("reason", ""))) or "Not valid.")
    return errors


def _amount(cents: int | None) -> str:
    """Cents as the form shows an amount: "1250.50" (no thousands separator, so it reads back as typed)."""
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Names -------------------------------------------------------------------------------------------------------


async def _name(lookup: Any, attribute: str) -> str:
    """What an id stands for; something removed since reads as removed, not as an error."""
    try:
        return str(getattr(await lookup, attribute))
    except NotFound:
        return "(removed)"


async def _show_titles(session: AsyncSession, subject: Subject, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {show_id: await _name(catalog.get_podcast(session, subject, show_id), "title") for show_id in set(ids)}


async def _sponsor_names(session: AsyncSession, subject: Subject, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {sponsor: await _name(sales.get_sponsor(session, subject, sponsor), "name") for sponsor in set(ids)}
