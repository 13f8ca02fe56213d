"""The advertiser's cards, for one sponsor: audience fit (its best-matching shows), projected CPM per ad unit, open
inventory by week and position, and its campaigns' results."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import results as attribution
from podsponsor.auth.subject import Subject
from podsponsor.bookings.inventory import CADENCE_SAMPLE, cadence, expected_days, monday
from podsponsor.bookings.pacing import round_half_up
from podsponsor.dashboards import repository
from podsponsor.dashboards.deliveries import OrderDelivery, deliveries
from podsponsor.dashboards.schemas import Card, Column, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.matching import service as matching
from podsponsor.sales.models import Sponsor

TOP_MATCHES: Final = 5
FORECAST_EPISODES: Final = 5
FORECAST_DAYS: Final = 30
INVENTORY_WEEKS: Final = 8
CAMPAIGNS_MAX: Final = 10
POSITIONS: Final = ("pre", "mid", "post")
LIVE_OR_DONE: Final = ("scheduled", "active", "completed", "makegood")


# Audience fit ---------------------------------------------------------------------------------------------------------


async def audience_fit_card(session: AsyncSession, subject: Subject, sponsor: Sponsor, enabled: frozenset[str]) -> Card:
    card = Card(
        id="audience_fit",
        title="Audience fit",
        note=f"The {TOP_MATCHES} shows that best match {sponsor.name}, from the last matchmaking run.",
    )
    if "ENABLE_MATCHMAKING" not in enabled:
        return card.model_copy(update={"available": False, "notices": ["matchmaking is off for this workspace"]})
    found = await matching.top_matches(session, subject, sponsor.id, TOP_MATCHES)
    score_note = (
        "0-100: the weighted mean of the signals that could be computed (geo, demographics, topics, historical "
        "lift, inventory, brand safety), weights renormalised over those present; capped by a hard conflict"
    )
    rows: list[dict[str, Value]] = [
        {
            "podcast_id": str(match.podcast_id),
            "show": match.podcast_title,
            "score": round(match.score, 1),
            "rationale": match.rationale,
            "missing": ", ".join(match.missing),
            "conflict": match.conflict,
            "computed_at": match.computed_at.isoformat(),
        }
        for match in found
    ]
    return card.model_copy(
        update={
            "notices": [] if found else ["no match computed for this advertiser yet: recalculate matchmaking"],
            "figures": [
                Figure(
                    label="Best score",
                    value=rows[0]["score"] if rows else None,
                    unit="count",
                    note=score_note,
                )
            ],
            "tables": [
                Table(
                    key="matches",
                    label="Best matches",
                    columns=[
                        Column(key="podcast_id", label="Show id", unit="text"),
                        Column(key="show", label="Show", unit="text"),
                        Column(key="score", label="Score", unit="count", note=score_note),
                        Column(key="rationale", label="Why", unit="text", note="the signals that contributed most"),
                        Column(key="missing", label="Not known", unit="text", note="signals left out: no data"),
                        Column(key="conflict", label="Conflict", unit="text", note="a hard brand-safety clash"),
                        Column(key="computed_at", label="Computed", unit="datetime"),
                    ],
                    rows=rows,
                    total_rows=len(rows),
                )
            ],
        }
    )


# Projected CPM --------------------------------------------------------------------------------------------------------


async def projected_cpm_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    released_by = scope.as_of - timedelta(days=FORECAST_DAYS)
    units = await repository.ad_units(session, subject.tenant_id)
    basis = await repository.forecast_basis(
        session,
        subject.tenant_id,
        released_by=released_by,
        episodes=FORECAST_EPISODES,
        days=FORECAST_DAYS,
        podcast_ids=list(dict.fromkeys(unit["podcast_id"] for unit in units)),
    )
    forecast = {
        show: round_half_up(Fraction(sum(e.downloads for e in sample), len(sample)))
        for show, sample in basis.items()
        if sample
    }
    forecast_note = (
        f"mean downloads in the first {FORECAST_DAYS} days (one source per episode and day) of the show's "
        f"{FORECAST_EPISODES} latest episodes released by {released_by}"
    )
    price_note = "the ad unit's flat price per episode; without one, the rate-card CPM x forecast ÷ 1000"
    cpm_note = "price per episode ÷ forecast downloads x 1000; the rate-card CPM where the unit has no flat price"
    rows: list[dict[str, Value]] = []
    for unit in units:
        expected = forecast.get(unit["podcast_id"])
        price = unit["flat_rate_cents"]
        if price is None and expected is not None:
            price = round_half_up(Fraction(unit["rate_cpm_cents"] * expected, 1000))
        cpm = unit["rate_cpm_cents"] if unit["flat_rate_cents"] is None else _cpm(price, expected)
        rows.append(
            {
                "ad_unit_id": str(unit["id"]),
                "show": unit["podcast_title"],
                "ad_unit": unit["name"],
                "position": unit["position"],
                "length_seconds": unit["length_seconds"],
                "forecast_downloads": expected,
                "episodes_in_forecast": len(basis.get(unit["podcast_id"], [])),
                "price_per_episode_cents": price,
                "projected_cpm_cents": cpm,
            }
        )
    episodes: list[dict[str, Value]] = [
        {
            "podcast_id": str(show),
            "episode_id": str(e.episode_id),
            "episode": e.title,
            "released": e.released.isoformat(),
            "downloads": e.downloads,
        }
        for show, sample in basis.items()
        for e in sample
    ]
    cpms = [row["projected_cpm_cents"] for row in rows if isinstance(row["projected_cpm_cents"], int)]
    return Card(
        id="projected_cpm",
        title="Projected CPM",
        note="What a spot on each ad unit is expected to cost per thousand downloads, from the show's recent episodes.",
        notices=[] if forecast else [f"no show has an episode {FORECAST_DAYS} days old yet: nothing to forecast from"],
        figures=[
            Figure(
                label="Median projected CPM",
                value=sorted(cpms)[len(cpms) // 2] if cpms else None,
                unit="cpm_cents",
                note=f"over the ad units with a forecast; each: {cpm_note}",
            )
        ],
        tables=[
            Table(
                key="ad_units",
                label="Ad units",
                columns=[
                    Column(key="ad_unit_id", label="Ad unit id", unit="text"),
                    Column(key="show", label="Show", unit="text"),
                    Column(key="ad_unit", label="Ad unit", unit="text"),
                    Column(key="position", label="Position", unit="text"),
                    Column(key="length_seconds", label="Length (s)", unit="count", note="the spot's length"),
                    Column(key="forecast_downloads", label="Forecast", unit="downloads", note=forecast_note),
                    Column(
                        key="episodes_in_forecast",
                        label="Episodes used",
                        unit="count",
                        note=f"episodes the forecast averages (at most {FORECAST_EPISODES})",
                    ),
                    Column(key="price_per_episode_cents", label="Price", unit="cents", note=price_note),
                    Column(key="projected_cpm_cents", label="Projected CPM", unit="cpm_cents", note=cpm_note),
                ],
                rows=rows,
                total_rows=len(rows),
            ),
            Table(
                key="forecast_basis",
                label="Forecast basis",
                columns=[
                    Column(key="podcast_id", label="Show id", unit="text"),
                    Column(key="episode_id", label="Episode id", unit="text"),
                    Column(key="episode", label="Episode", unit="text"),
                    Column(key="released", label="Released", unit="date", note="UTC day of release (day 1)"),
                    Column(
                        key="downloads",
                        label=f"Downloads, first {FORECAST_DAYS} days",
                        unit="downloads",
                        note="IAB downloads, host logs over prefix where both counted the episode on a day",
                    ),
                ],
                rows=episodes,
                total_rows=len(episodes),
            ),
        ],
    )


def _cpm(price: int | None, expected: int | None) -> int | None:
    if price is None or not expected:
        return None
    return round_half_up(Fraction(price * 1000, expected))


# Inventory ------------------------------------------------------------------------------------------------------------


async def inventory_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    first = monday(scope.today)
    last = first + timedelta(days=7 * INVENTORY_WEEKS - 1)
    weeks = [first + timedelta(days=7 * n) for n in range(INVENTORY_WEEKS)]
    cells: dict[tuple[date, str], dict[str, int]] = {
        (week, position): {"open": 0, "booked": 0, "expected": 0, "flight_orders": 0}
        for week in weeks
        for position in POSITIONS
    }
    for week, position, free, booked in await repository.open_slots(session, subject.tenant_id, first, last):
        cells[(week, position)].update(open=free, booked=booked)
    await _expected_slots(session, subject, cells, first, last, scope.today)
    for start, end, position in await repository.flight_orders(session, subject.tenant_id, first, last):
        for week in weeks:
            if start <= week + timedelta(days=6) and end >= week:
                cells[(week, position)]["flight_orders"] += 1
    open_total = sum(cell["open"] for cell in cells.values())
    booked_total = sum(cell["booked"] for cell in cells.values())
    slot_note = (
        "slots (live ad unit x episode released that week, published or scheduled) that no live order holds, as on "
        "the inventory calendar"
    )
    expected_note = (
        "slots of the episodes each show is expected to release that week, stepped on from its latest release by "
        "its cadence (the median gap between its last 13 releases): sellable within a flight, not by episode"
    )
    flight_note = "orders (not cancelled) booked unassigned within a flight that runs that week"
    rows: list[dict[str, Value]] = [
        {"week": week.isoformat(), "position": position, **cells[(week, position)]}
        for week in weeks
        for position in POSITIONS
    ]
    return Card(
        id="inventory",
        title="Open inventory",
        note=f"Slots of every show for the {INVENTORY_WEEKS} weeks from the week of {first} (whatever the period).",
        figures=[
            Figure(label="Open slots", value=open_total, unit="count", note=slot_note),
            Figure(label="Booked slots", value=booked_total, unit="count", note="slots a live order holds"),
            Figure(
                label="Sell-through",
                value=round(100 * booked_total / (open_total + booked_total), 1) if open_total + booked_total else None,
                unit="percent",
                note="booked ÷ (booked + open) slots",
            ),
            Figure(
                label="Expected slots",
                value=sum(cell["expected"] for cell in cells.values()),
                unit="count",
                note=expected_note,
            ),
        ],
        series=[
            Series(
                key=key,
                label=f"{label} {position}-roll",
                unit="count",
                group=position,
                note=f"per week (Monday): {note}",
                points=[Point(x=week.isoformat(), y=cells[(week, position)][key]) for week in weeks],
            )
            for key, label, note in (("open", "Open", slot_note), ("expected", "Expected", expected_note))
            for position in POSITIONS
        ],
        tables=[
            Table(
                key="by_week_and_position",
                label="By week and position",
                columns=[
                    Column(key="week", label="Week of", unit="date"),
                    Column(key="position", label="Position", unit="text"),
                    Column(key="open", label="Open", unit="count", note=slot_note),
                    Column(key="booked", label="Booked", unit="count", note="slots a live order holds"),
                    Column(key="expected", label="Expected", unit="count", note=expected_note),
                    Column(key="flight_orders", label="Flight orders", unit="count", note=flight_note),
                ],
                rows=rows,
                total_rows=len(rows),
            )
        ],
    )


async def _expected_slots(
    session: AsyncSession,
    subject: Subject,
    cells: dict[tuple[date, str], dict[str, int]],
    first: date,
    last: date,
    today: date,
) -> None:
    """Adds each show's expected episodes x its live ad units by position, as the inventory calendar projects
    them (bookings.inventory.cadence and expected_days)."""
    units: dict[uuid.UUID, list[str]] = defaultdict(list)
    for unit in await repository.ad_units(session, subject.tenant_id):
        units[unit["podcast_id"]].append(unit["position"])
    releases = await repository.recent_releases(session, subject.tenant_id, today, CADENCE_SAMPLE)
    for show, positions in units.items():
        released = releases.get(show, [])
        for day in expected_days(max(released, default=None), cadence(released), first, last, today):
            for position in positions:
                cells[(monday(day), position)]["expected"] += 1


# Campaign results -----------------------------------------------------------------------------------------------------


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
    orders = await repository.orders(
        session, subject.tenant_id, statuses=LIVE_OR_DONE, campaign_ids=[campaign_id for campaign_id, _ in shown]
    )
    by_campaign: dict[uuid.UUID, list[OrderDelivery]] = defaultdict(list)
    for found in await deliveries(session, subject.tenant_id, orders, scope.as_of):
        by_campaign[found.order.io.campaign_id].append(found)
    for campaign_id, name in shown:
        row = _campaign_delivery(campaign_id, name, by_campaign[campaign_id])
        if with_attribution:
            try:
                results = await attribution.campaign_results(
                    session,
                    subject,
                    campaign_id,
                    model=None,
                    period=attribution.Period(scope.start, scope.end),
                    today=scope.as_of,
                )
            except attribution.NotCalculated:
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


CONVERSIONS_NOTE: Final = (
    "conversions credited to the campaign's orders (promo code and vanity URL: deterministic; household match: "
    "modeled) under its default model; 95 % bootstrap interval over households"
)
CPA_NOTE: Final = "spend to date ÷ attributed conversions; 95 % interval"
ROAS_NOTE: Final = "attributed revenue ÷ spend to date; 95 % interval"


def _result_figures(name: str, found: attribution.Results, row: dict[str, Value]) -> list[Figure]:
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
    figures = [
        Figure(
            label=f"Conversions: {name}",
            value=total.value,
            unit="count",
            low=total.low,
            high=total.high,
            note=CONVERSIONS_NOTE,
        )
    ]
    for currency, split in sorted(found.figures.cpa.items()):
        cpa = split.total
        figures.append(
            Figure(
                label=f"CPA: {name}",
                value=round(cpa.value) if cpa.value is not None else None,
                unit="cents",
                currency=currency,
                low=cpa.low,
                high=cpa.high,
                note=CPA_NOTE,
            )
        )
        row.update({"cpa_cents": figures[-1].value, "cpa_low": cpa.low, "cpa_high": cpa.high})
    for currency, split in sorted(found.figures.roas.items()):
        roas = split.total
        figures.append(
            Figure(
                label=f"ROAS: {name}",
                value=roas.value,
                unit="ratio",
                currency=currency,
                low=roas.low,
                high=roas.high,
                note=ROAS_NOTE,
            )
        )
        row.update({"roas": roas.value, "roas_low": roas.low, "roas_high": roas.high})
    return figures


def _results_table(rows: list[dict[str, Value]]) -> Table:
    columns = [
        Column(key="campaign_id", label="Campaign id", unit="text"),
        Column(key="campaign", label="Campaign", unit="text"),
        Column(key="goal", label="Goal", unit="impressions", note="sum of the orders' goals (not cancelled)"),
        Column(key="delivered", label="Delivered", unit="impressions", note="to date, as delivery counts them"),
        Column(key="spend_cents", label="Spend", unit="cents", note="spend to date; empty across currencies"),
        Column(key="currency", label="Currency", unit="text"),
        Column(
            key="reach",
            label="Households reached",
            unit="count",
            note="households (address and device family) with a download counted for the campaign's orders",
        ),
        Column(
            key="households_converting",
            label="Households converting",
            unit="count",
            note="reached households with an attributed conversion",
        ),
        Column(key="conversions", label="Conversions", unit="count", note=CONVERSIONS_NOTE),
        Column(key="conversions_low", label="Conversions (low)", unit="count", note="95 % interval, lower end"),
        Column(key="conversions_high", label="Conversions (high)", unit="count", note="95 % interval, upper end"),
        Column(key="cpa_cents", label="CPA", unit="cents", note=CPA_NOTE),
        Column(key="cpa_low", label="CPA (low)", unit="cents", note="95 % interval, lower end"),
        Column(key="cpa_high", label="CPA (high)", unit="cents", note="95 % interval, upper end"),
        Column(key="roas", label="ROAS", unit="ratio", note=ROAS_NOTE),
        Column(key="roas_low", label="ROAS (low)", unit="ratio", note="95 % interval, lower end"),
        Column(key="roas_high", label="ROAS (high)", unit="ratio", note="95 % interval, upper end"),
    ]
    filled = [{column.key: row.get(column.key) for column in columns} for row in rows]
    return Table(key="campaigns", label="Campaigns", columns=columns, rows=filled, total_rows=len(filled))
