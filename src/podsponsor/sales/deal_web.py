"""The deal board: a column per stage whose cards move by buttons (plain forms, no script needed) or by drag and
drop (deals-board.js posts the same form), and the weighted forecast as a server-rendered chart."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.dependencies import require_page, resolve_subject
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError, NotFound
from podsponsor.flags import service as flags
from podsponsor.flags.dependencies import feature
from podsponsor.listing import window
from podsponsor.sales import deals, service
from podsponsor.sales.deal_schemas import (
    CLOSED_STAGES,
    OPEN_STAGES,
    PIPELINE,
    DealCard,
    DealFilters,
    ForecastOut,
    StageMoveIn,
)
from podsponsor.web.chart_svg import MONTHS
from podsponsor.web.charts import Series, bar_chart
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import form_fields, parse_id, safe_next
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

FLAG: Final = "ENABLE_DEAL_PIPELINE"
FORECAST_MONTHS: Final = 6
SEARCH_MAX: Final = 200
STAGE_LABELS: Final = {stage: stage.capitalize() for stage in PIPELINE}

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(FLAG))])
Reader = Annotated[Subject, Depends(require_page(Permission.SALES_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.SALES_WRITE))]


async def show_deals_nav(request: Request) -> None:
    """Tells the layout whether to offer the board: to those who read sales, while the pipeline is on."""
    subject = await resolve_subject(request)
    shown = False
    if subject is not None and subject.can(Permission.SALES_READ):
        async with tenant_transaction(subject.tenant_id) as session:
            shown = await flags.is_enabled(session, subject.tenant_id, FLAG)
    request.state.deals_nav = shown


@router.get("/deals", response_class=HTMLResponse)
async def board_page(request: Request, subject: Reader) -> Response:
    filters = _filters(request, subject)
    cap = get_settings().page_size_max
    async with tenant_transaction(subject.tenant_id) as session:
        board = await deals.board(session, subject, filters, deals.BOARD_LIMIT)
        forecast = await deals.forecast(session, subject, FORECAST_MONTHS, filters)
        sellers = [] if subject.is_advertiser else await deals.sellers(session, subject)
        sponsors = [] if subject.is_advertiser else await _sponsor_choices(session, subject, cap)
    return render(
        request,
        "sales/deals.html",
        board=board,
        forecast=forecast,
        forecast_chart=_forecast_chart(forecast),
        filters=filters,
        sellers=sellers,
        sponsors=sponsors,
        can_write=subject.can(Permission.SALES_WRITE),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        stage_labels=STAGE_LABELS,
        quick_moves=quick_moves,
        money=money,
        percent=percent,
    )


@router.post("/deals/{campaign_id}/stage", response_class=HTMLResponse)
async def move_deal(campaign_id: str, request: Request, subject: Writer) -> Response:
    """Moves a deal and goes back to the board with what happened; a refused move comes back as an error notice.
    The board's script posts here too, with the token in the X-CSRF-Token header, and shows the page it gets."""
    await verify_csrf(request)
    found_id = parse_id(campaign_id, "deal")
    values = await form_fields(request)
    response = redirect(_back_to(values.get("next")))
    try:
        move = StageMoveIn.model_validate(
            {
                "stage": values.get("stage"),
                "note": values.get("note", ""),
                "from_stage": values.get("from_stage") or None,
            }
        )
    except ValidationError:
        set_notice(response, "Choose one of the stages to move the deal to.", "error")
        return response
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            deal = await deals.move(session, subject, found_id, move)
    except NotFound:
        raise
    except AppError as exc:
        set_notice(response, exc.detail[0].upper() + exc.detail[1:] + ".", "error")
        return response
    moved_from = deal.history[-1].from_stage or deal.stage
    set_notice(response, f"{deal.name} moved from {STAGE_LABELS[moved_from]} to {STAGE_LABELS[deal.stage]}.")
    return response


def _filters(request: Request, subject: Subject) -> DealFilters:
    params = request.query_params
    q = params.get("q", "").strip()[:SEARCH_MAX]
    # An advertiser sees one sponsor's deals whatever the address says; the filters do not apply.
    if subject.is_advertiser:
        return DealFilters(q=q or None)
    return DealFilters(
        seller_id=_id_or_none(params.get("seller")), sponsor_id=_id_or_none(params.get("sponsor")), q=q or None
    )


def _id_or_none(raw: str | None) -> uuid.UUID | None:
    """A filter's id from the address; an unreadable one is no filter rather than an error page."""
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


async def _sponsor_choices(session: AsyncSession, subject: Subject, cap: int) -> list[tuple[uuid.UUID, str]]:
    page = window(cap, 0, "name", service.SPONSOR_SORTS, cap)
    sponsors, _ = await service.list_sponsors(session, subject, None, None, page)
    return [(sponsor.id, sponsor.name) for sponsor in sponsors]


def _back_to(target: str | None) -> str:
    """Back to the board the form was on, filters kept; never anywhere else."""
    path = safe_next(target)
    return path if path == "/deals" or path.startswith("/deals?") else "/deals"


def quick_moves(card: DealCard) -> list[tuple[str, str, str]]:
    """The buttons on a card, as (stage, text, what it does): one stage on, one back, lost; reopen if closed."""
    if not card.moves:
        return []
    if card.stage in CLOSED_STAGES:
        return [("negotiation", "Reopen", "Reopen")] if "negotiation" in card.moves else []
    index = PIPELINE.index(card.stage)
    buttons: list[tuple[str, str, str]] = [(PIPELINE[index + 1], f"→ {STAGE_LABELS[PIPELINE[index + 1]]}", "Move")]
    if index > 0:
        buttons.append((OPEN_STAGES[index - 1], f"← {STAGE_LABELS[OPEN_STAGES[index - 1]]}", "Move back"))
    buttons.append(("lost", "Lost", "Mark as lost"))
    return buttons


def money(cents: int, currency: str) -> str:
    return f"{Decimal(cents) / 100:,.2f} {currency}"


def percent(share: float) -> str:
    return f"{share:.0%}" if round(share * 100, 1).is_integer() else f"{share:.1%}"


def _month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def _forecast_chart(forecast: ForecastOut) -> Markup:
    currencies = sorted({total.currency for month in forecast.months for total in month.totals})
    series = [
        Series(
            f"Weighted {currency}",
            [
                (
                    _month_label(month.month),
                    sum(t.weighted_value_cents for t in month.totals if t.currency == currency) / 100,
                )
                for month in forecast.months
            ],
        )
        for currency in currencies
    ]
    return bar_chart(
        series,
        title="Weighted forecast by expected close month",
        x_label="Expected close",
        y_label="Weighted value",
        empty_text="No open or won deal is expected to close in these months",
        chart_id="deal-forecast-chart",
    )
