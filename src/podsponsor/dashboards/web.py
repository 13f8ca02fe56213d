"""The dashboards as pages: the creator's, the advertiser's (advertiser users see their own advertiser; others pick
one) and ad ops', each over a period of UTC days; every card a panel with its figures (how each is computed on hover
and on focus), its charts, its tables, and its data as CSV and XLSX; the whole dashboard as XLSX and PDF.

Hidden (404) while ENABLE_NEW_DASHBOARD_CARDS is off. The pages read the same services, with the same permissions,
as GET /api/v1/dashboard/….
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.dependencies import require_page, resolve_subject
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.dashboards import card_files, scope, service
from podsponsor.dashboards.card_pdf import render_pdf
from podsponsor.dashboards.card_view import dashboard_views
from podsponsor.dashboards.schemas import Dashboard, DashboardKind
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import Forbidden, NotFound, ValidationFailed
from podsponsor.flags import service as flags
from podsponsor.flags.dependencies import feature
from podsponsor.listing import window
from podsponsor.reports import exports
from podsponsor.sales import service as sales
from podsponsor.web.forms import parse_id
from podsponsor.web.render import render
from podsponsor.web.session import redirect

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(service.FLAG))])
SignedIn = Annotated[Subject, Depends(require_page())]
CreatorReader = Annotated[Subject, Depends(require_page(Permission.DASHBOARD_CREATOR))]
AdvertiserReader = Annotated[Subject, Depends(require_page(Permission.DASHBOARD_ADVERTISER))]
OpsReader = Annotated[Subject, Depends(require_page(Permission.DASHBOARD_OPS))]

# The order the tabs (and the Dashboard link's choice) follow: the first one a role may read is its own.
KINDS: Final[tuple[tuple[DashboardKind, Permission, str], ...]] = (
    ("creator", Permission.DASHBOARD_CREATOR, "Creator"),
    ("ops", Permission.DASHBOARD_OPS, "Ad ops"),
    ("advertiser", Permission.DASHBOARD_ADVERTISER, "Advertiser"),
)
TITLES: Final[dict[DashboardKind, str]] = {
    "creator": "Creator dashboard",
    "advertiser": "Advertiser dashboard",
    "ops": "Ad ops dashboard",
}
PAPERS: Final = ("a4", "letter")


def readable(subject: Subject) -> list[tuple[DashboardKind, str]]:
    return [(kind, label) for kind, permission, label in KINDS if subject.can(permission)]


async def show_dashboard_nav(request: Request) -> None:
    """Tells the layout whether to offer the dashboards: to roles that may read one, while the feature is on."""
    subject = await resolve_subject(request)
    shown = False
    if subject is not None and readable(subject):
        async with tenant_transaction(subject.tenant_id) as session:
            shown = await flags.is_enabled(session, subject.tenant_id, service.FLAG)
    request.state.dashboard_nav = shown


@dataclass
class Asked:
    """The period form as typed (to show it again) and as understood."""

    typed: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    period: scope.Period | None = None
    sponsor_id: uuid.UUID | None = None


def _asked(request: Request) -> Asked:
    params = request.query_params
    asked = Asked({name: params.get(name, "").strip() for name in ("from", "to", "sponsor_id", "io")})
    start, end = _day(asked, "from"), _day(asked, "to")
    if asked.typed["sponsor_id"]:
        asked.sponsor_id = parse_id(asked.typed["sponsor_id"], "advertiser")
    if asked.errors:
        return asked
    try:
        asked.period = scope.period(start, end, today=datetime.now(UTC).date())
    except ValidationFailed as exc:
        for error in exc.errors or []:
            asked.errors[str(error["field"])] = f"{exc.detail[0].upper()}{exc.detail[1:]}."
    return asked


def _day(asked: Asked, name: str) -> date | None:
    raw = asked.typed[name]
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        asked.errors[name] = "Give a day as YYYY-MM-DD."
        return None


async def _dashboard(session: AsyncSession, subject: Subject, kind: DashboardKind, asked: Asked) -> Dashboard:
    if asked.period is None:
        raise ValidationFailed(
            "the period is not valid", errors=[{"field": k, "reason": v} for k, v in asked.errors.items()]
        )
    if kind == "creator":
        return await service.creator_dashboard(session, subject, asked.period)
    if kind == "ops":
        return await service.ops_dashboard(session, subject, asked.period)
    return await service.advertiser_dashboard(session, subject, asked.period, asked.sponsor_id)


def _query(dashboard: Dashboard) -> str:
    """The query string that asks again for exactly this dashboard: its days, and its advertiser."""
    query = f"from={dashboard.start.isoformat()}&to={dashboard.end.isoformat()}"
    return query + (f"&sponsor_id={dashboard.sponsor_id}" if dashboard.dashboard == "advertiser" else "")


# --- Pages -------------------------------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_home(subject: SignedIn) -> Response:
    """The first dashboard the caller may read: a creator's, ad ops', or an advertiser's."""
    kinds = readable(subject)
    if not kinds:
        raise Forbidden(f"your role ({subject.role}) has no dashboard")
    return redirect(f"/dashboard/{kinds[0][0]}")


@router.get("/dashboard/creator", response_class=HTMLResponse)
async def creator_page(request: Request, subject: CreatorReader) -> Response:
    return await _page(request, subject, "creator")


@router.get("/dashboard/advertiser", response_class=HTMLResponse)
async def advertiser_page(request: Request, subject: AdvertiserReader) -> Response:
    return await _page(request, subject, "advertiser")


@router.get("/dashboard/ops", response_class=HTMLResponse)
async def ops_page(request: Request, subject: OpsReader) -> Response:
    return await _page(request, subject, "ops")


async def _page(request: Request, subject: Subject, kind: DashboardKind) -> Response:
    asked = _asked(request)
    found: Dashboard | None = None
    choices: list[tuple[str, str]] = []
    sponsor_name = ""
    async with tenant_transaction(subject.tenant_id) as session:
        if kind == "advertiser" and not subject.is_advertiser:
            choices = await _sponsor_choices(session, subject)
        picking = kind == "advertiser" and not subject.is_advertiser and asked.sponsor_id is None
        if not asked.errors and not picking:
            found = await _dashboard(session, subject, kind, asked)
            if found.sponsor_id is not None:
                sponsor_name = (await sales.get_sponsor(session, subject, found.sponsor_id)).name
    values = dict(asked.typed)
    if found is not None:
        values.update({"from": found.start.isoformat(), "to": found.end.isoformat()})
        values["sponsor_id"] = str(found.sponsor_id or "")
    return render(
        request,
        "dashboards/dashboard.html",
        422 if asked.errors else 200,
        kind=kind,
        title=TITLES[kind],
        tabs=readable(subject),
        dashboard=found,
        views=dashboard_views(found, order=asked.typed["io"] or None) if found else [],
        query=_query(found) if found else "",
        sponsor_name=sponsor_name,
        sponsors=choices,
        values=values,
        errors=asked.errors,
    )


async def _sponsor_choices(session: AsyncSession, subject: Subject) -> list[tuple[str, str]]:
    cap = get_settings().page_size_max
    sponsors, _ = await sales.list_sponsors(
        session, subject, None, None, window(cap, 0, "name", sales.SPONSOR_SORTS, cap)
    )
    return [(str(sponsor.id), sponsor.name) for sponsor in sponsors]


# --- Files -------------------------------------------------------------------------------------------------------


@router.get("/dashboard/creator/cards/{card_id}.{extension}")
async def creator_card_file(card_id: str, extension: str, request: Request, subject: CreatorReader) -> Response:
    return await _card_file(request, subject, "creator", card_id, extension)


@router.get("/dashboard/advertiser/cards/{card_id}.{extension}")
async def advertiser_card_file(card_id: str, extension: str, request: Request, subject: AdvertiserReader) -> Response:
    return await _card_file(request, subject, "advertiser", card_id, extension)


@router.get("/dashboard/ops/cards/{card_id}.{extension}")
async def ops_card_file(card_id: str, extension: str, request: Request, subject: OpsReader) -> Response:
    return await _card_file(request, subject, "ops", card_id, extension)


@router.get("/dashboard/creator.{extension}")
async def creator_file(extension: str, request: Request, subject: CreatorReader) -> Response:
    return await _dashboard_file(request, subject, "creator", extension)


@router.get("/dashboard/advertiser.{extension}")
async def advertiser_file(extension: str, request: Request, subject: AdvertiserReader) -> Response:
    return await _dashboard_file(request, subject, "advertiser", extension)


@router.get("/dashboard/ops.{extension}")
async def ops_file(extension: str, request: Request, subject: OpsReader) -> Response:
    return await _dashboard_file(request, subject, "ops", extension)


async def _card_file(request: Request, subject: Subject, kind: DashboardKind, card_id: str, extension: str) -> Response:
    """The card's data: CSV of one part (`?part=` a table's key, `series` or `figures`; by default its first
    table, else its series, else its figures), or XLSX of every part."""
    if extension not in ("csv", "xlsx"):
        raise NotFound("no such file")
    asked = _asked(request)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await _dashboard(session, subject, kind, asked)
    card = next((card for card in found.cards if card.id == card_id), None)
    if card is None:
        raise NotFound("no such card")
    if extension == "xlsx":
        return _file(card_files.card_xlsx(card), exports.XLSX_MEDIA_TYPE, card_files.filename(found, "xlsx", card))
    part = card_files.card_part(card, request.query_params.get("part") or None)
    if part is None:
        raise NotFound("no such part of the card")
    name = card_files.filename(found, "csv", card, part.key)
    return _file(card_files.part_csv(part), exports.CSV_MEDIA_TYPE, name)


async def _dashboard_file(request: Request, subject: Subject, kind: DashboardKind, extension: str) -> Response:
    """Every card: XLSX (the figures, a sheet per card, how each column is computed) or PDF (`?paper=a4|letter`)."""
    paper = request.query_params.get("paper", "a4")
    if extension not in ("xlsx", "pdf") or paper not in PAPERS:
        raise NotFound("no such file")
    asked = _asked(request)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await _dashboard(session, subject, kind, asked)
        sponsor = await sales.get_sponsor(session, subject, found.sponsor_id) if found.sponsor_id else None
    if extension == "xlsx":
        return _file(card_files.dashboard_xlsx(found), exports.XLSX_MEDIA_TYPE, card_files.filename(found, "xlsx"))
    subtitle = subject.tenant_name + (f" · for {sponsor.name}" if sponsor else "")
    content = await asyncio.to_thread(
        render_pdf, found, workspace=subject.tenant_name, title=TITLES[kind], subtitle=subtitle, paper=paper
    )
    return _file(content, "application/pdf", card_files.filename(found, "pdf"))


def _file(content: bytes, media_type: str, filename: str) -> Response:
    # A dashboard carries the workspace's money and its advertisers' results: no shared cache may keep it.
    headers = {"Content-Disposition": exports.content_disposition(filename), "Cache-Control": "private, no-store"}
    return Response(content, media_type=media_type, headers=headers)
