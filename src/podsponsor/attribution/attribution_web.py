"""A campaign's attribution page: its figures under a chosen model (each with its interval, split into deterministic
and modeled), every model's credit per order side by side, the lift, the latest validations, and a button to
recalculate. Hidden (404) while ENABLE_ATTRIBUTION is off; an advertiser sees only their own sponsor's campaigns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from podsponsor.attribution import results, service, validation
from podsponsor.attribution.credit import MODELS
from podsponsor.attribution.intervals import Estimate
from podsponsor.attribution.results import Comparison, NotCalculated, Results, Split
from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.sales import service as sales
from podsponsor.web.charts import Series, bar_chart
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import parse_id
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(service.FLAG))])
Reader = Annotated[Subject, Depends(require_page(Permission.ATTRIBUTION_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.ATTRIBUTION_WRITE))]
MODEL_LABELS: Final = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based",
    "custom": "Custom",
}
# The side-by-side chart shows point figures only; fewer draws keep the page quick.
COMPARISON_ITERATIONS: Final = 100
VALIDATIONS_SHOWN: Final = 5


@dataclass(frozen=True)
class FigureRow:
    """One figure as the table shows it: total, deterministic and modeled, each a value with its interval."""

    name: str
    total: str
    deterministic: str
    modeled: str


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _money(cents: float | None) -> str:
    return "—" if cents is None else f"{cents / 100:,.2f}"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def _with_interval(found: Estimate, show: Callable[[float | None], str]) -> str:
    high = "∞" if found.high is None and found.low is not None else show(found.high)
    return f"{show(found.value)} ({show(found.low)} to {high})"


def _row(name: str, split: Split, show: Callable[[float | None], str]) -> FigureRow:
    return FigureRow(
        name,
        _with_interval(split.total, show),
        _with_interval(split.deterministic, show),
        _with_interval(split.modeled, show),
    )


def figure_rows(found: Results) -> list[FigureRow]:
    figures = found.figures
    rows = [_row("Attributed conversions", figures.conversions, _number)]
    rows += [_row(f"Revenue ({currency})", split, _money) for currency, split in sorted(figures.revenue.items())]
    rows += [_row(f"CPA ({currency})", split, _money) for currency, split in sorted(figures.cpa.items())]
    rows += [
        _row(f"ROAS ({currency})", split, lambda v: _number(v, 2)) for currency, split in sorted(figures.roas.items())
    ]
    rows.append(_row("Conversion rate", figures.conversion_rate, _percent))
    return rows


def comparison_chart(compared: Comparison) -> Markup:
    series = [
        Series(
            MODEL_LABELS.get(m.model.model, m.model.model),
            [(io.number or str(io.io_id)[:8], io.conversions) for io in m.by_io],
        )
        for m in compared.models
    ]
    return bar_chart(
        series,
        title="Attributed conversions per IO, by model",
        x_label="Insertion order",
        y_label="Attributed conversions",
        empty_text="No conversions attributed yet",
        chart_id="models-per-io",
    )


def _chosen_model(request: Request) -> str | None:
    chosen = request.query_params.get("model")
    return chosen if chosen in MODELS else None


@router.get("/attribution/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(campaign_id: str, request: Request, subject: Reader) -> Response:
    found_id = parse_id(campaign_id, "campaign")
    today = datetime.now(UTC).date()
    chosen = _chosen_model(request)
    found: Results | None = None
    compared: Comparison | None = None
    async with tenant_transaction(subject.tenant_id) as session:
        campaign = await sales.get_campaign(session, subject, found_id)
        sponsor = await sales.get_sponsor(session, subject, campaign.sponsor_id)
        try:
            found = await results.campaign_results(
                session, subject, campaign.id, model=chosen, period=results.Period(), today=today
            )
            compared = await results.compare_models(
                session, subject, campaign.id, period=results.Period(), today=today, iterations=COMPARISON_ITERATIONS
            )
        except NotCalculated:
            found = compared = None
        lift = await validation.lift(session, subject, campaign.id, today=today)
        validations = await validation.list_validations(session, subject, campaign.id, VALIDATIONS_SHOWN)
    model = found.runs[0].model.model if found else None
    return render(
        request,
        "attribution/campaign.html",
        campaign=campaign,
        sponsor=sponsor,
        results=found,
        run=found.runs[0].run if found else None,
        model=model,
        models=[
            (m.model.model, MODEL_LABELS.get(m.model.model, m.model.model), m.model.is_default) for m in compared.models
        ]
        if compared
        else [],
        rows=figure_rows(found) if found else [],
        chart=comparison_chart(compared) if compared else None,
        lift=lift,
        lift_text=_with_interval(lift.lift, _percent),
        percent=_percent,
        validations=validations,
        labels=MODEL_LABELS,
        can_write=subject.can(Permission.ATTRIBUTION_WRITE),
    )


@router.post("/attribution/campaigns/{campaign_id}/recalculate", response_class=HTMLResponse)
async def recalculate(campaign_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(campaign_id, "campaign")
    async with tenant_transaction(subject.tenant_id) as session:
        queued = await results.request_recalculation(session, subject, found_id)
    response = redirect(f"/attribution/campaigns/{found_id}")
    if queued:
        set_notice(response, "The recalculation is queued: the figures update when it has run.")
    else:
        set_notice(response, "A recalculation of this campaign is already waiting to run.")
    return response
