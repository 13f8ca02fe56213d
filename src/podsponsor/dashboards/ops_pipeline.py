"""Ad ops' sales cards: the deal pipeline's forecast by expected close month and by stage, and the deals won and lost
in the period by seller, sponsor and month."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.dashboards import repository
from podsponsor.dashboards.cards import column, money_figure, pct, table, unavailable
from podsponsor.dashboards.schemas import Card, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.sales import deals
from podsponsor.sales.deal_schemas import PIPELINE, DealFilters, ForecastOut, WinLossOut

FORECAST_MONTHS: Final = 6
PIPELINE_OFF: Final = "the deal pipeline is off for this workspace"
WEIGHTED_NOTE: Final = "deal value x its stage's probability (won: 100 %, lost: 0 %), summed"
RATE_NOTE: Final = "won ÷ (won + lost) deals closed in the period; a deal reopened and closed again counts once"


# Pipeline -------------------------------------------------------------------------------------------------------------


async def pipeline_card(session: AsyncSession, subject: Subject, scope: Period, enabled: frozenset[str]) -> Card:
    card = Card(
        id="pipeline_forecast",
        title="Pipeline forecast",
        note=f"Deals by stage, and by expected close month for the {FORECAST_MONTHS} months from this one.",
    )
    if "ENABLE_DEAL_PIPELINE" not in enabled:
        return unavailable(card, PIPELINE_OFF)
    forecast = await deals.forecast(session, subject, FORECAST_MONTHS, DealFilters(), today=scope.today)
    probabilities = {stage: Decimal(str(value)) for stage, value in forecast.stage_probabilities.model_dump().items()}
    totals = await repository.stage_totals(session, subject.tenant_id, probabilities)
    months = _month_rows(forecast)
    weighted: dict[str, int] = defaultdict(int)
    by_month: dict[str, dict[str, int]] = defaultdict(dict)
    for row in months:
        weighted[str(row["currency"])] += int(row["weighted_value_cents"] or 0)
        by_month[str(row["currency"])][str(row["month"])] = int(row["weighted_value_cents"] or 0)
    in_months = f"deals expected to close in the {FORECAST_MONTHS} months: {WEIGHTED_NOTE}"
    return card.model_copy(
        update={
            "notices": _pipeline_notices(forecast),
            "figures": [
                money_figure("Weighted forecast", cents, currency, in_months)
                for currency, cents in sorted(weighted.items())
            ],
            "series": _weighted_series(forecast, by_month),
            "tables": [_months_table(months), _stages_table(_stage_rows(totals, probabilities))],
        }
    )


def _month_rows(forecast: ForecastOut) -> list[dict[str, Value]]:
    return [
        {
            "month": month.month,
            "deals": month.deals,
            "open_deals": month.open_deals,
            "won_deals": month.won_deals,
            "currency": total.currency,
            "value_cents": total.value_cents,
            "weighted_value_cents": total.weighted_value_cents,
            "won_value_cents": total.won_value_cents,
        }
        for month in forecast.months
        for total in month.totals or []
    ]


def _stage_rows(totals: list[dict[str, Any]], probabilities: dict[str, Decimal]) -> list[dict[str, Value]]:
    return [
        {
            "stage": total["stage"],
            "probability_pct": pct(float(probabilities[total["stage"]])),
            "deals": int(total["deals"]),
            "currency": total["currency"],
            "value_cents": int(total["value_cents"]),
            "weighted_value_cents": int(total["weighted_value_cents"]),
        }
        for total in sorted(totals, key=lambda row: (PIPELINE.index(row["stage"]), row["currency"]))
    ]


def _pipeline_notices(forecast: ForecastOut) -> list[str]:
    notices = []
    if forecast.overdue.deals:
        notices.append(f"{forecast.overdue.deals} open deal(s) are past their expected close month")
    if forecast.unscheduled.deals:
        notices.append(f"{forecast.unscheduled.deals} open deal(s) have no expected close date")
    return notices


def _weighted_series(forecast: ForecastOut, by_month: dict[str, dict[str, int]]) -> list[Series]:
    return [
        Series(
            key="weighted",
            label=f"Weighted ({currency})",
            unit="cents",
            currency=currency,
            group=currency,
            note=f"by expected close month: {WEIGHTED_NOTE}",
            points=[Point(x=month.month, y=values.get(month.month, 0)) for month in forecast.months],
        )
        for currency, values in sorted(by_month.items())
    ]


def _months_table(rows: list[dict[str, Value]]) -> Table:
    columns = [
        column("month", "Month"),
        column("deals", "Deals", "count", "open and won deals closing that month"),
        column("open_deals", "Open", "count", "not won or lost yet"),
        column("won_deals", "Won", "count", "won, closing that month"),
        column("currency", "Currency"),
        column("value_cents", "Value", "cents", "deal values, summed"),
        column("weighted_value_cents", "Weighted", "cents", WEIGHTED_NOTE),
        column("won_value_cents", "Won value", "cents", "won deals' values"),
    ]
    return table("by_month", "By expected close month", columns, rows)


def _stages_table(rows: list[dict[str, Value]]) -> Table:
    columns = [
        column("stage", "Stage"),
        column("probability_pct", "Probability", "percent", "the workspace's setting"),
        column("deals", "Deals", "count", "every deal in the stage"),
        column("currency", "Currency"),
        column("value_cents", "Value", "cents", "deal values, summed"),
        column("weighted_value_cents", "Weighted", "cents", "value x probability"),
    ]
    return table("by_stage", "By stage", columns, rows)


# Win / loss -----------------------------------------------------------------------------------------------------------

WinLossBy = Literal["seller", "sponsor", "month"]


async def win_loss_card(session: AsyncSession, subject: Subject, scope: Period, enabled: frozenset[str]) -> Card:
    card = Card(
        id="win_loss",
        title="Win / loss",
        note=f"Deals won or lost {scope.start} to {scope.end}, by seller, sponsor and month.",
    )
    if "ENABLE_DEAL_PIPELINE" not in enabled:
        return unavailable(card, PIPELINE_OFF)
    groupings: tuple[WinLossBy, ...] = ("seller", "sponsor", "month")
    found = {by: await deals.win_loss(session, subject, by, scope.start, scope.end) for by in groupings}
    total = found["month"].total
    figures = [
        Figure(label="Won", value=total.won_deals, unit="count", note="deals whose last close in the period was won"),
        Figure(
            label="Lost", value=total.lost_deals, unit="count", note="deals whose last close in the period was lost"
        ),
        Figure(label="Win rate", value=pct(total.win_rate), unit="percent", note=RATE_NOTE),
    ]
    figures += [
        money_figure("Won value", value.won_value_cents, value.currency, "values of the deals won, summed")
        for value in total.values
    ]
    return card.model_copy(update={"figures": figures, "tables": [_win_loss_table(by, found[by]) for by in groupings]})


def _win_loss_table(by: WinLossBy, found: WinLossOut) -> Table:
    rows: list[dict[str, Value]] = [
        {
            "key": group.key,
            "label": group.label,
            "won_deals": group.won_deals,
            "lost_deals": group.lost_deals,
            "win_rate_pct": pct(group.win_rate),
            "currency": value.currency,
            "won_value_cents": value.won_value_cents,
            "lost_value_cents": value.lost_value_cents,
        }
        for group in found.groups
        for value in group.values or []
    ]
    columns = [
        column("key", f"{by.capitalize()} key"),
        column("label", by.capitalize()),
        column("won_deals", "Won", "count", "deals won"),
        column("lost_deals", "Lost", "count", "deals lost"),
        column("win_rate_pct", "Win rate", "percent", RATE_NOTE),
        column("currency", "Currency"),
        column("won_value_cents", "Won value", "cents", "values of the deals won"),
        column("lost_value_cents", "Lost value", "cents", "values of the deals lost"),
    ]
    return table(f"by_{by}", f"By {by}", columns, rows)
