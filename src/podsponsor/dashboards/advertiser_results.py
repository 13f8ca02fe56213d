"""The advertiser's campaign results card: for each of the sponsor's campaigns with an order running in the period,
its delivery to date and, where attribution is on, its conversions, CPA and ROAS under its default model."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import results as attribution
from podsponsor.attribution.intervals import Estimate
from podsponsor.auth.subject import Subject
from podsponsor.dashboards import repository
from podsponsor.dashboards.cards import column, table
from podsponsor.dashboards.deliveries import OrderDelivery, deliveries
from podsponsor.dashboards.schemas import Card, Figure, Table, Unit, Value
from podsponsor.dashboards.scope import Period
from podsponsor.sales.models import Sponsor

CAMPAIGNS_MAX: Final = 10
LIVE_OR_DONE: Final = ("scheduled", "active", "completed", "makegood")
CONVERSIONS_NOTE: Final = (
    "conversions credited to the campaign's orders (promo code and vanity URL: deterministic; household match: "
    "modeled) under its default model; 95 % bootstrap interval over households"
)
CPA_NOTE: Final = "spend to date ÷ attributed conversions; 95 % interval"
ROAS_NOTE: Final = "attributed revenue ÷ spend to date; 95 % interval"
LOW_NOTE: Final = "95 % interval, lower end"
HIGH_NOTE: Final = "95 % interval, upper end"


async def campaign_results_card(
    session: AsyncSession, subject: Subject, sponsor: Sponsor, scope: Period, enabled: frozenset[str]
) -> Card:
    campaigns = await repository.sponsor_campaigns(session, subject.tenant_id, sponsor.id, scope.start, scope.end)
    with_attribution = "ENABLE_ATTRIBUTION" in enabled
    notices = [] if campaigns else [f"no campaign of {sponsor.name} has an order running in this period"]
    if len(campaigns) > CAMPAIGNS_MAX:
        notices.append(f"the first {CAMPAIGNS_MAX} of {len(campaigns)} campaigns (by name)")
    if not with_attribution:
        notices.append("attribution is off for this workspace: conversions, CPA and ROAS are not shown")
    rows: list[dict[str, Value]] = []
    figures: list[Figure] = []
    shown = campaigns[:CAMPAIGNS_MAX]
    by_campaign = await _campaign_deliveries(session, subject, [campaign_id for campaign_id, _ in shown], scope)
    for campaign_id, name in shown:
        row = _campaign_delivery(campaign_id, name, by_campaign[campaign_id])
        if with_attribution:
            results = await _results(session, subject, campaign_id, scope)
            if results is None:
                notices.append(f"{name}: no attribution calculated yet")
            else:
                figures += _result_figures(name, results, row)
        rows.append(row)
    return Card(
        id="campaign_results",
        title="Campaign results",
        note=(
            f"Campaigns of {sponsor.name} with an order running in {scope.start} to {scope.end}: delivery to "
            f"{scope.as_of}, conversions of the period under each campaign's default attribution model."
        ),
        notices=notices,
        figures=[
            Figure(
                label="Delivered",
                value=sum(int(row["delivered"] or 0) for row in rows),
                unit="impressions",
                note="impressions of the campaigns' orders (not cancelled) to date, as delivery counts them",
            ),
            *figures,
        ],
        tables=[_results_table(rows)],
    )


async def _campaign_deliveries(
    session: AsyncSession, subject: Subject, campaign_ids: list[uuid.UUID], scope: Period
) -> dict[uuid.UUID, list[OrderDelivery]]:
    """Delivery of the campaigns' orders that are live or done, by campaign."""
    orders = await repository.orders(session, subject.tenant_id, statuses=LIVE_OR_DONE, campaign_ids=campaign_ids)
    by_campaign: dict[uuid.UUID, list[OrderDelivery]] = defaultdict(list)
    for found in await deliveries(session, subject.tenant_id, orders, scope.as_of):
        by_campaign[found.order.io.campaign_id].append(found)
    return by_campaign


async def _results(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, scope: Period
) -> attribution.Results | None:
    """The campaign's results in the period under its default model; None before its first attribution run."""
    try:
        return await attribution.campaign_results(
            session,
            subject,
            campaign_id,
            model=None,
            period=attribution.Period(scope.start, scope.end),
            today=scope.as_of,
        )
    except attribution.NotCalculated:
        return None


def _campaign_delivery(campaign_id: uuid.UUID, name: str, found: list[OrderDelivery]) -> dict[str, Value]:
    """A campaign's totals over its orders that are not cancelled, as bookings.delivery.campaign_delivery sums them."""
    currencies = {d.order.io.currency for d in found}
    return {
        "campaign_id": str(campaign_id),
        "campaign": name,
        "goal": sum(d.order.io.impression_goal for d in found),
        "delivered": sum(d.found.delivered for d in found),
        "spend_cents": sum(d.found.spend.cents for d in found) if len(currencies) == 1 else None,
        "currency": next(iter(currencies)) if len(currencies) == 1 else None,
    }


def _result_figures(name: str, found: attribution.Results, row: dict[str, Value]) -> list[Figure]:
    """The campaign's conversions, CPA and ROAS (a CPA and a ROAS per currency), each also written into its `row`."""
    total = found.figures.conversions.total
    row.update(
        {
            "reach": found.reach,
            "households_converting": found.figures.households_converting,
            "conversions": total.value,
            "conversions_low": total.low,
            "conversions_high": total.high,
        }
    )
    figures = [_estimated(f"Conversions: {name}", total.value, "count", None, total, CONVERSIONS_NOTE)]
    for currency, split in sorted(found.figures.cpa.items()):
        cpa = split.total
        cents = round(cpa.value) if cpa.value is not None else None
        figures.append(_estimated(f"CPA: {name}", cents, "cents", currency, cpa, CPA_NOTE))
        row.update({"cpa_cents": cents, "cpa_low": cpa.low, "cpa_high": cpa.high})
    for currency, split in sorted(found.figures.roas.items()):
        roas = split.total
        figures.append(_estimated(f"ROAS: {name}", roas.value, "ratio", currency, roas, ROAS_NOTE))
        row.update({"roas": roas.value, "roas_low": roas.low, "roas_high": roas.high})
    return figures


def _estimated(label: str, value: Value, unit: Unit, currency: str | None, interval: Estimate, note: str) -> Figure:
    """A figure with its 95 % interval (`interval`'s low and high; its value may be shown rounded)."""
    return Figure(
        label=label, value=value, unit=unit, currency=currency, low=interval.low, high=interval.high, note=note
    )


def _results_table(rows: list[dict[str, Value]]) -> Table:
    columns = [
        column("campaign_id", "Campaign id"),
        column("campaign", "Campaign"),
        column("goal", "Goal", "impressions", "sum of the orders' goals (not cancelled)"),
        column("delivered", "Delivered", "impressions", "to date, as delivery counts them"),
        column("spend_cents", "Spend", "cents", "spend to date; empty across currencies"),
        column("currency", "Currency"),
        column(
            "reach",
            "Households reached",
            "count",
            "households (address and device family) with a download counted for the campaign's orders",
        ),
        column(
            "households_converting",
            "Households converting",
            "count",
            "reached households with an attributed conversion",
        ),
        column("conversions", "Conversions", "count", CONVERSIONS_NOTE),
        column("conversions_low", "Conversions (low)", "count", LOW_NOTE),
        column("conversions_high", "Conversions (high)", "count", HIGH_NOTE),
        column("cpa_cents", "CPA", "cents", CPA_NOTE),
        column("cpa_low", "CPA (low)", "cents", LOW_NOTE),
        column("cpa_high", "CPA (high)", "cents", HIGH_NOTE),
        column("roas", "ROAS", "ratio", ROAS_NOTE),
        column("roas_low", "ROAS (low)", "ratio", LOW_NOTE),
        column("roas_high", "ROAS (high)", "ratio", HIGH_NOTE),
    ]
    filled: list[dict[str, Value]] = [{c.key: row.get(c.key) for c in columns} for row in rows]
    return table("campaigns", "Campaigns", columns, filled)
