"""The creator's dashboard over REST: each card's numbers against hand-computed values, and an order's pacing equal to
what its own delivery endpoint says."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podsponsor.db.engine import Database
from tests.bookings.delivery_world import Booking, book, downloads, open_makegood, show
from tests.dashboards.world import TODAY, attributed, card, dashboard, figure, table
from tests.factories.identity import Tenant, make_tenant

START = TODAY - timedelta(days=9)  # day 10 of a 30-day flight
PERIOD_START = TODAY - timedelta(days=29)


class World:
    paced: Booking
    asap: Booking


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "creator", "sales", "advertiser"))


@pytest.fixture(scope="module")
async def world(db: Database, tenant: Tenant) -> World:
    tenant_id = uuid.UUID(tenant.id)
    built = World()
    first = await show(tenant_id, [START, START + timedelta(days=7)], title="Sleep Talk")
    built.paced = await book(tenant_id, first, START, START + timedelta(days=29), placed=[0], goal=3000)
    for offset, count in ((0, 300), (4, 200), (9, 300)):
        await downloads(tenant_id, first, 0, START + timedelta(days=offset), count)
    # The host logs counted the same episode on day 5: they count, the prefix's 200 do not.
    await downloads(tenant_id, first, 0, START + timedelta(days=4), 150, source="logs")
    second = await show(tenant_id, [TODAY - timedelta(days=3)], title="Night Owls")
    built.asap = await book(tenant_id, second, TODAY - timedelta(days=4), TODAY + timedelta(days=5), pacing_mode="asap")
    await downloads(tenant_id, second, 0, TODAY - timedelta(days=2), 100)
    # Ended under goal long ago: a makegood is owed, and its order is outside the period.
    old = await book(tenant_id, second, TODAY - timedelta(days=60), TODAY - timedelta(days=40), goal=1000)
    await open_makegood(tenant_id, old.io, 1000, 600, 1000)
    await attributed(
        tenant_id,
        sponsor_id=built.paced.sponsor,
        campaign_id=built.paced.campaign,
        io_id=built.paced.io,
        occurred=datetime.combine(TODAY - timedelta(days=1), datetime.min.time(), tzinfo=UTC),
        value_cents=10_000,
        credit=0.5,
    )
    return built


def _body(tenant: Tenant) -> Any:
    with tenant.client("creator") as api:
        return dashboard(api, "creator")


async def test_the_period_defaults_to_the_last_30_days(world: World, tenant: Tenant) -> None:
    body = _body(tenant)
    assert (body["dashboard"], body["start"], body["end"], body["as_of"]) == (
        "creator",
        PERIOD_START.isoformat(),
        TODAY.isoformat(),
        TODAY.isoformat(),
    )
    assert [c["id"] for c in body["cards"]] == [
        "pacing",
        "sponsor_revenue",
        "makegoods",
        "downloads_trend",
        "episode_lifecycle",
    ]
    for found in body["cards"]:
        assert all(f["note"] for f in found["figures"]), found["id"]
        assert all(s["note"] for s in found["series"]), found["id"]
        for shown in found["tables"]:
            assert all(c["note"] for c in shown["columns"] if c["unit"] not in ("text", "date", "datetime"))


async def test_pacing_of_every_live_order_matches_its_delivery(world: World, tenant: Tenant) -> None:
    pacing = card(_body(tenant), "pacing")
    rows = {row["io_id"]: row for row in table(pacing, "orders")}
    assert set(rows) == {str(world.paced.io), str(world.asap.io)}
    paced = rows[str(world.paced.io)]
    # 300 + 150 (logs over prefix) + 300; even pacing expects 3000 x 10 / 30 by day 10.
    assert (paced["goal"], paced["delivered"], paced["expected"], paced["pacing_pct"]) == (3000, 750, 1000, 75.0)
    asap = rows[str(world.asap.io)]
    assert (asap["delivered"], asap["expected"], asap["pacing_pct"]) == (100, 1000, 10.0)
    # (0.75 x 3000 + 0.1 x 1000) / 4000 = 58.75 %
    assert figure(pacing, "Pacing") == 58.8
    assert (figure(pacing, "Live orders"), figure(pacing, "Delivered"), figure(pacing, "Behind")) == (2, 850, 2)
    with tenant.client("owner") as api:
        for io_id, row in rows.items():
            own = api.get(f"/api/v1/io/{io_id}/delivery").json()
            assert (row["delivered"], row["expected"], row["pacing_pct"]) == (
                own["delivered"],
                own["expected"],
                own["pacing_pct"],
            )
            series = {s["key"]: s for s in pacing["series"] if s["group"] == io_id}
            daily = {d["day"]: d for d in own["daily"]}
            assert [p["y"] for p in series["delivered"]["points"]] == [
                daily[p["x"]]["cumulative"] for p in series["delivered"]["points"]
            ]
            assert [p["y"] for p in series["expected"]["points"]] == [
                daily[p["x"]]["expected"] for p in series["expected"]["points"]
            ]
    paced_series = next(s for s in pacing["series"] if s["group"] == str(world.paced.io) and s["key"] == "delivered")
    assert paced_series["points"][0] == {"x": START.isoformat(), "y": 300}
    assert paced_series["points"][-1] == {"x": TODAY.isoformat(), "y": 750}


async def test_sponsor_revenue_by_month_books_delivers_and_attributes(world: World, tenant: Tenant) -> None:
    revenue = card(_body(tenant), "sponsor_revenue")
    rows = table(revenue, "by_month_and_sponsor")
    booked: dict[str, int] = defaultdict(int)
    delivered: dict[str, int] = defaultdict(int)
    # 3000 x $25 CPM = 7,500 cents over 30 days: 250 a day of the flight that falls in the period (10 days).
    for offset in range(10):
        booked[(START + timedelta(days=offset)).strftime("%Y-%m")] += 250
    # 1000 x $25 CPM = 2,500 cents over 10 days: 250 a day, 5 of them in the period.
    for offset in range(5):
        booked[(TODAY - timedelta(days=4 - offset)).strftime("%Y-%m")] += 250
    for day, cents in ((START, 750), (START + timedelta(days=4), 375), (TODAY, 750), (TODAY - timedelta(days=2), 250)):
        delivered[day.strftime("%Y-%m")] += cents
    by_month_booked: dict[str, int] = defaultdict(int)
    by_month_delivered: dict[str, int] = defaultdict(int)
    for row in rows:
        by_month_booked[row["month"]] += row["booked_cents"]
        by_month_delivered[row["month"]] += row["delivered_cents"]
    assert dict(by_month_booked) == dict(booked)
    assert dict(by_month_delivered) == dict(delivered)
    # Half of a $100 order, under the latest run's default (linear) model only.
    month = (TODAY - timedelta(days=1)).strftime("%Y-%m")
    assert sum(r["attributed_revenue_cents"] for r in rows) == 5000
    assert [r["month"] for r in rows if r["attributed_revenue_cents"]] == [month]
    assert figure(revenue, "Booked (USD)") == 2500 + 1250
    assert figure(revenue, "Delivered (USD)") == 750 + 375 + 750 + 250
    assert figure(revenue, "Attributed (USD)") == 5000


async def test_makegoods_owed_whatever_the_period(world: World, tenant: Tenant) -> None:
    owed = card(_body(tenant), "makegoods")
    assert (figure(owed, "Makegoods owed"), figure(owed, "Impressions owed"), figure(owed, "Value due (USD)")) == (
        1,
        400,
        1000,
    )
    [row] = table(owed, "owed")
    assert (row["goal"], row["delivered"], row["shortfall_impressions"], row["shortfall_cents"]) == (
        1000,
        600,
        400,
        1000,
    )
    assert row["days_open"] == 0


async def test_downloads_by_day_and_the_latest_episodes_first_days(world: World, tenant: Tenant) -> None:
    body = _body(tenant)
    trend = card(body, "downloads_trend")
    points = {p["x"]: p["y"] for p in trend["series"][0]["points"]}
    assert len(points) == 30
    assert points[START.isoformat()] == 300
    assert points[(START + timedelta(days=4)).isoformat()] == 150  # the logs' count, not 200 + 150
    assert points[(TODAY - timedelta(days=2)).isoformat()] == 100
    assert sum(points.values()) == figure(trend, "Downloads") == 850
    assert figure(trend, "Per day") == round(850 / 30, 1)
    assert figure(trend, "Best day") == TODAY.isoformat()  # 300, tied with the flight's first day: the later
    lifecycle = card(body, "episode_lifecycle")
    rows = {row["episode_id"]: row for row in table(lifecycle, "episodes")}
    first_episode = next(
        row for row in rows.values() if row["published"] == START.isoformat() and row["title"] == "Episode 0"
    )
    # Every source counts here, as in the audience report: 300, then 200 + 150 on day 5, then 300 on day 10.
    assert (first_episode["day_1"], first_episode["day_7"], first_episode["day_30"]) == (300, 650, None)
    assert first_episode["so_far"] == 950
    series = next(s for s in lifecycle["series"] if s["group"] == first_episode["episode_id"])
    assert [p["y"] for p in series["points"]][:5] == [300, 300, 300, 300, 650]
