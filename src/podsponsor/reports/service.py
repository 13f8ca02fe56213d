"""A campaign's report: its delivery by IO and by day, its attribution under the default model with intervals and
every model side by side, and the methodology note, assembled from the delivery and attribution services as of a
day. Whoever may read the campaign may read its report; each section also needs its own feature and permission,
and says why when it is left out. An advertiser user reads only their own sponsor's campaigns; any other campaign,
like another workspace's, is 404."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import results
from podsponsor.attribution import service as attribution
from podsponsor.attribution.results import Comparison, ModelResults, NotCalculated, Results, Split
from podsponsor.attribution.results_schemas import EstimateOut, IntervalOut, SpendOut
from podsponsor.auth import service as auth
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery
from podsponsor.bookings.delivery import IoDelivery
from podsponsor.bookings.settings import booking_settings
from podsponsor.catalog import service as catalog
from podsponsor.errors import NotFound
from podsponsor.flags import service as flags
from podsponsor.measurement.counting_job import tenant_settings
from podsponsor.reports import methodology
from podsponsor.reports.schemas import (
    AttributionOut,
    CampaignRef,
    DayOut,
    DeliveryOut,
    DeliveryTotalsOut,
    FigureOut,
    FigureUnit,
    IoRowOut,
    IoSplitOut,
    ModelOut,
    PeriodOut,
    ReportOut,
    SponsorRef,
)
from podsponsor.sales import service as sales

BOOKINGS_FLAG: Final = "ENABLE_IO_BOOKINGS"
# The models side by side are point figures: their intervals are not shown, so few draws keep the report quick.
COMPARISON_ITERATIONS: Final = 100
# The thresholds of the delivery pages' badges (docs/delivery.md, "In the app").
ON_PACE_PCT: Final = 95.0
AT_RISK_PCT: Final = 80.0


async def campaign_report(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, *, today: date) -> ReportOut:
    campaign = await sales.get_campaign(session, subject, campaign_id)
    sponsor = await sales.get_sponsor(session, subject, campaign.sponsor_id)
    tenant = await auth.get_tenant(session, subject.tenant_id)
    notes: list[str] = []
    found_delivery = await _delivery(session, subject, campaign.id, today, notes)
    found_attribution = await _attribution(session, subject, campaign.id, today, notes)
    setup = methodology.Setup(
        window=(await tenant_settings(session, subject.tenant_id)).window,
        accrual_days=(await booking_settings(session, subject.tenant_id)).accrual_days,
    )
    return ReportOut(
        campaign=CampaignRef(id=campaign.id, name=campaign.name, stage=campaign.stage),
        sponsor=SponsorRef(id=sponsor.id, name=sponsor.name),
        seller=tenant.name,
        as_of=today,
        period=_period(found_delivery),
        delivery=found_delivery,
        attribution=found_attribution,
        notes=notes,
        methodology=methodology.sections(setup, found_attribution),
    )


def _period(found: DeliveryOut | None) -> PeriodOut:
    live = [row for row in found.ios if row.status != "cancelled"] if found else []
    if not live:
        return PeriodOut(start=None, end=None)
    return PeriodOut(start=min(r.flight_start for r in live), end=max(r.flight_end for r in live))


# Delivery ------------------------------------------------------------------------------------------------------------


async def _delivery(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, today: date, notes: list[str]
) -> DeliveryOut | None:
    if not await flags.is_enabled(session, subject.tenant_id, BOOKINGS_FLAG):
        notes.append("Delivery is not shown: insertion orders are turned off for this workspace.")
        return None
    if not subject.can(Permission.BOOKINGS_READ):
        notes.append(f"Delivery is not shown: reading it needs the '{Permission.BOOKINGS_READ}' permission.")
        return None
    found = await delivery.campaign_delivery(session, subject, campaign_id, today=today)
    shows = {d.io.podcast_id: await _show_title(session, subject, d.io.podcast_id) for d in found.ios}
    return DeliveryOut(
        totals=DeliveryTotalsOut(
            goal=found.goal,
            delivered=found.delivered,
            expected=found.expected,
            pacing_pct=found.pacing_pct,
            currency=found.currency,
            spend_cents=found.spend_cents,
            ecpm_cents=found.ecpm_cents,
        ),
        ios=[_io_row(d, shows[d.io.podcast_id]) for d in found.ios],
        daily=campaign_daily(found.ios),
        notes=found.notes,
    )


async def _show_title(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID) -> str:
    try:
        return (await catalog.get_podcast(session, subject, podcast_id)).title
    except NotFound:
        return "(removed)"


def _io_row(found: IoDelivery, show: str) -> IoRowOut:
    io = found.io
    return IoRowOut(
        io_id=io.id,
        number=io.number,
        show=show,
        flight_start=io.flight_start,
        flight_end=io.flight_end,
        pacing_mode=io.pacing_mode,
        pricing_model=io.pricing_model,
        status=io.status,
        pacing_status=pacing_status(found),
        goal=io.impression_goal,
        delivered=found.delivered,
        expected=found.expected,
        pacing_pct=found.pacing_pct,
        currency=io.currency,
        spend_cents=found.spend.cents,
        ecpm_cents=found.ecpm_cents,
    )


def pacing_status(found: IoDelivery) -> str:
    """How an IO stands, as the delivery pages' badge words it: its outcome once decided, else its pacing."""
    io = found.io
    decided = {"cancelled": "Cancelled", "completed": "Delivered", "makegood": "Under-delivered"}
    if io.status in decided:
        return decided[io.status]
    pct = found.pacing_pct
    if found.today < io.flight_start or pct is None:
        return "Not started"
    if pct >= ON_PACE_PCT:
        return "On pace"
    return "Behind" if pct >= AT_RISK_PCT else "At risk"


def campaign_daily(ios: Sequence[IoDelivery]) -> list[DayOut]:
    """The campaign's day-by-day delivered and expected impressions: each IO's cumulative figures summed, an IO
    holding its last figures after its series ends and counting nothing before its flight. Cancelled IOs are left
    out, as from the totals."""
    counted = [found for found in ios if found.io.status != "cancelled" and found.daily]
    if not counted:
        return []
    first = min(found.daily[0].day for found in counted)
    last = max(found.daily[-1].day for found in counted)
    by_io = [{d.day: d for d in found.daily} for found in counted]
    held = [(0, 0)] * len(counted)
    days: list[DayOut] = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        delivered = 0
        for index, series in enumerate(by_io):
            if day in series:
                delivered += series[day].delivered
                held[index] = (series[day].cumulative, series[day].expected)
        days.append(
            DayOut(
                day=day,
                delivered=delivered,
                cumulative=sum(cumulative for cumulative, _ in held),
                expected=sum(expected for _, expected in held),
            )
        )
    return days


# Attribution ---------------------------------------------------------------------------------------------------------


async def _attribution(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, today: date, notes: list[str]
) -> AttributionOut | None:
    if not await attribution.attribution_enabled(session, subject.tenant_id):
        notes.append("Attribution is not shown: attribution is turned off for this workspace.")
        return None
    if not subject.can(Permission.ATTRIBUTION_READ):
        notes.append(f"Attribution is not shown: reading it needs the '{Permission.ATTRIBUTION_READ}' permission.")
        return None
    try:
        found = await results.campaign_results(
            session, subject, campaign_id, model=None, period=results.Period(), today=today
        )
        compared = await results.compare_models(
            session, subject, campaign_id, period=results.Period(), today=today, iterations=COMPARISON_ITERATIONS
        )
    except NotCalculated:
        notes.append("Attribution has not been calculated for this campaign yet.")
        return None
    return attribution_section(found, compared)


def model_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def attribution_section(found: Results, compared: Comparison) -> AttributionOut:
    used = found.runs[0]
    models = [_model(m) for m in compared.models]
    chosen = next((m for m in models if m.model == used.model.model), None)
    return AttributionOut(
        model=used.model.model,
        model_label=model_label(used.model.model),
        run_id=used.run.id,
        run_at=used.run.started_at,
        lookback_days=int((used.run.stats or {}).get("lookback_days") or used.model.lookback_days),
        conversions_considered=int((used.run.stats or {}).get("conversions_considered", 0)),
        households_reached=found.reach,
        households_converting=found.figures.households_converting,
        spend=[SpendOut(currency=currency, cents=cents) for currency, cents in sorted(found.spend.items())],
        figures=figure_rows(found),
        by_io=chosen.by_io if chosen else [],
        models=models,
        interval=IntervalOut(iterations=found.iterations, seed=found.seed),
    )


def figure_rows(found: Results) -> list[FigureOut]:
    figures = found.figures
    rows = [_figure("Attributed conversions", "conversions", None, figures.conversions)]
    rows += [_figure("Revenue", "money", c, split) for c, split in sorted(figures.revenue.items())]
    rows += [_figure("Cost per acquisition (CPA)", "money", c, split) for c, split in sorted(figures.cpa.items())]
    rows += [_figure("Return on ad spend (ROAS)", "ratio", c, split) for c, split in sorted(figures.roas.items())]
    rows.append(_figure("Conversion rate", "share", None, figures.conversion_rate))
    return rows


def _figure(name: str, unit: FigureUnit, currency: str | None, split: Split) -> FigureOut:
    return FigureOut(
        name=name,
        unit=unit,
        currency=currency,
        total=EstimateOut.of(split.total),
        deterministic=EstimateOut.of(split.deterministic),
        modeled=EstimateOut.of(split.modeled),
    )


def _model(found: ModelResults) -> ModelOut:
    conversions = found.figures.conversions
    return ModelOut(
        model=found.model.model,
        label=model_label(found.model.model),
        is_default=found.model.is_default,
        lookback_days=found.model.lookback_days,
        half_life_days=found.model.half_life_days,
        conversions=conversions.total.value or 0.0,
        deterministic=conversions.deterministic.value or 0.0,
        modeled=conversions.modeled.value or 0.0,
        revenue_cents={c: split.total.value or 0.0 for c, split in sorted(found.figures.revenue.items())},
        by_io=[
            IoSplitOut(
                io_id=io.io_id,
                number=io.number,
                conversions=io.conversions,
                deterministic=io.deterministic,
                modeled=io.modeled,
                revenue_cents=io.revenue_cents,
            )
            for io in found.by_io
        ],
    )
