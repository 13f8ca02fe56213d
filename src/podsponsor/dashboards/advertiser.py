"""The advertiser's cards, for one sponsor: audience fit (its best-matching shows), projected CPM per ad unit, and
open inventory by week and position. Its campaigns' results are in advertiser_results."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings.inventory import CADENCE_SAMPLE, cadence, expected_days, monday
from podsponsor.bookings.pacing import round_half_up
from podsponsor.dashboards import repository
from podsponsor.dashboards.cards import column, share_pct, table, unavailable
from podsponsor.dashboards.schemas import Card, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.matching import service as matching
from podsponsor.sales.models import Sponsor

TOP_MATCHES: Final = 5
FORECAST_EPISODES: Final = 5
FORECAST_DAYS: Final = 30
INVENTORY_WEEKS: Final = 8
POSITIONS: Final = ("pre", "mid", "post")


# Audience fit ---------------------------------------------------------------------------------------------------------

SCORE_NOTE: Final = (
    "0-100: the weighted mean of the signals that could be computed (geo, demographics, topics, historical "
    "lift, inventory, brand safety), weights renormalised over those present; capped by a hard conflict"
)


async def audience_fit_card(session: AsyncSession, subject: Subject, sponsor: Sponsor, enabled: frozenset[str]) -> Card:
    card = Card(
        id="audience_fit",
        title="Audience fit",
        note=f"The {TOP_MATCHES} shows that best match {sponsor.name}, from the last matchmaking run.",
    )
    if "ENABLE_MATCHMAKING" not in enabled:
        return unavailable(card, "matchmaking is off for this workspace")
    found = await matching.top_matches(session, subject, sponsor.id, TOP_MATCHES)
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
    columns = [
        column("podcast_id", "Show id"),
        column("show", "Show"),
        column("score", "Score", "count", SCORE_NOTE),
        column("rationale", "Why", "text", "the signals that contributed most"),
        column("missing", "Not known", "text", "signals left out: no data"),
        column("conflict", "Conflict", "text", "a hard brand-safety clash"),
        column("computed_at", "Computed", "datetime"),
    ]
    return card.model_copy(
        update={
            "notices": [] if found else ["no match computed for this advertiser yet: recalculate matchmaking"],
            "figures": [
                Figure(label="Best score", value=rows[0]["score"] if rows else None, unit="count", note=SCORE_NOTE)
            ],
            "tables": [table("matches", "Best matches", columns, rows)],
        }
    )


# Projected CPM --------------------------------------------------------------------------------------------------------

PRICE_NOTE: Final = "the ad unit's flat price per episode; without one, the rate-card CPM x forecast ÷ 1000"
CPM_NOTE: Final = "price per episode ÷ forecast downloads x 1000; the rate-card CPM where the unit has no flat price"


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
    rows = [
        _ad_unit_row(unit, forecast.get(unit["podcast_id"]), len(basis.get(unit["podcast_id"], []))) for unit in units
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
                note=f"over the ad units with a forecast; each: {CPM_NOTE}",
            )
        ],
        tables=[_ad_units_table(rows, released_by), _basis_table(basis)],
    )


def _ad_unit_row(unit: dict[str, Any], expected: int | None, episodes: int) -> dict[str, Value]:
    """An ad unit's price and projected CPM from its show's forecast (`expected` downloads of `episodes`)."""
    price = unit["flat_rate_cents"]
    if price is None and expected is not None:
        price = round_half_up(Fraction(unit["rate_cpm_cents"] * expected, 1000))
    return {
        "ad_unit_id": str(unit["id"]),
        "show": unit["podcast_title"],
        "ad_unit": unit["name"],
        "position": unit["position"],
        "length_seconds": unit["length_seconds"],
        "forecast_downloads": expected,
        "episodes_in_forecast": episodes,
        "price_per_episode_cents": price,
        "projected_cpm_cents": unit["rate_cpm_cents"] if unit["flat_rate_cents"] is None else _cpm(price, expected),
    }


def _ad_units_table(rows: list[dict[str, Value]], released_by: date) -> Table:
    forecast_note = (
        f"mean downloads in the first {FORECAST_DAYS} days (one source per episode and day) of the show's "
        f"{FORECAST_EPISODES} latest episodes released by {released_by}"
    )
    columns = [
        column("ad_unit_id", "Ad unit id"),
        column("show", "Show"),
        column("ad_unit", "Ad unit"),
        column("position", "Position"),
        column("length_seconds", "Length (s)", "count", "the spot's length"),
        column("forecast_downloads", "Forecast", "downloads", forecast_note),
        column(
            "episodes_in_forecast",
            "Episodes used",
            "count",
            f"episodes the forecast averages (at most {FORECAST_EPISODES})",
        ),
        column("price_per_episode_cents", "Price", "cents", PRICE_NOTE),
        column("projected_cpm_cents", "Projected CPM", "cpm_cents", CPM_NOTE),
    ]
    return table("ad_units", "Ad units", columns, rows)


def _basis_table(basis: dict[uuid.UUID, list[repository.EpisodeTotal]]) -> Table:
    columns = [
        column("podcast_id", "Show id"),
        column("episode_id", "Episode id"),
        column("episode", "Episode"),
        column("released", "Released", "date", "UTC day of release (day 1)"),
        column(
            "downloads",
            f"Downloads, first {FORECAST_DAYS} days",
            "downloads",
            "IAB downloads, host logs over prefix where both counted the episode on a day",
        ),
    ]
    rows: list[dict[str, Value]] = [
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
    return table("forecast_basis", "Forecast basis", columns, rows)


def _cpm(price: int | None, expected: int | None) -> int | None:
    if price is None or not expected:
        return None
    return round_half_up(Fraction(price * 1000, expected))


# Inventory ------------------------------------------------------------------------------------------------------------

SLOT_NOTE: Final = (
    "slots (live ad unit x episode released that week, published or scheduled) that no live order holds, as on "
    "the inventory calendar"
)
BOOKED_SLOTS_NOTE: Final = "slots a live order holds"
EXPECTED_SLOTS_NOTE: Final = (
    "slots of the episodes each show is expected to release that week, stepped on from its latest release by "
    "its cadence (the median gap between its last 13 releases): sellable within a flight, not by episode"
)
FLIGHT_NOTE: Final = "orders (not cancelled) booked unassigned within a flight that runs that week"


async def inventory_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    first = monday(scope.today)
    weeks = [first + timedelta(days=7 * n) for n in range(INVENTORY_WEEKS)]
    cells = await _slots(session, subject, weeks, scope.today)
    open_total = sum(cell["open"] for cell in cells.values())
    booked_total = sum(cell["booked"] for cell in cells.values())
    return Card(
        id="inventory",
        title="Open inventory",
        note=f"Slots of every show for the {INVENTORY_WEEKS} weeks from the week of {first} (whatever the period).",
        figures=[
            Figure(label="Open slots", value=open_total, unit="count", note=SLOT_NOTE),
            Figure(label="Booked slots", value=booked_total, unit="count", note=BOOKED_SLOTS_NOTE),
            Figure(
                label="Sell-through",
                value=share_pct(booked_total, open_total + booked_total),
                unit="percent",
                note="booked ÷ (booked + open) slots",
            ),
            Figure(
                label="Expected slots",
                value=sum(cell["expected"] for cell in cells.values()),
                unit="count",
                note=EXPECTED_SLOTS_NOTE,
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
            for key, label, note in (("open", "Open", SLOT_NOTE), ("expected", "Expected", EXPECTED_SLOTS_NOTE))
            for position in POSITIONS
        ],
        tables=[_inventory_table(cells, weeks)],
    )


async def _slots(
    session: AsyncSession, subject: Subject, weeks: list[date], today: date
) -> dict[tuple[date, str], dict[str, int]]:
    """Per week and position: open and booked slots, slots expected from the shows' cadence, and the orders
    booked within a flight that runs that week."""
    first, last = weeks[0], weeks[0] + timedelta(days=7 * len(weeks) - 1)
    cells: dict[tuple[date, str], dict[str, int]] = {
        (week, position): {"open": 0, "booked": 0, "expected": 0, "flight_orders": 0}
        for week in weeks
        for position in POSITIONS
    }
    for week, position, free, booked in await repository.open_slots(session, subject.tenant_id, first, last):
        cells[(week, position)].update(open=free, booked=booked)
    await _expected_slots(session, subject, cells, first, last, today)
    for start, end, position in await repository.flight_orders(session, subject.tenant_id, first, last):
        for week in weeks:
            if start <= week + timedelta(days=6) and end >= week:
                cells[(week, position)]["flight_orders"] += 1
    return cells


def _inventory_table(cells: dict[tuple[date, str], dict[str, int]], weeks: list[date]) -> Table:
    columns = [
        column("week", "Week of", "date"),
        column("position", "Position"),
        column("open", "Open", "count", SLOT_NOTE),
        column("booked", "Booked", "count", BOOKED_SLOTS_NOTE),
        column("expected", "Expected", "count", EXPECTED_SLOTS_NOTE),
        column("flight_orders", "Flight orders", "count", FLIGHT_NOTE),
    ]
    rows: list[dict[str, Value]] = [
        {"week": week.isoformat(), "position": position, **cells[(week, position)]}
        for week in weeks
        for position in POSITIONS
    ]
    return table("by_week_and_position", "By week and position", columns, rows)


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
