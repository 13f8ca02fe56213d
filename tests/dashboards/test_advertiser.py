"""The advertiser's dashboard over REST: audience fit, projected CPM with its basis, open inventory by week and
position, campaign results; an advertiser user sees only their own sponsor, another tenant's sponsor is 404."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from podsponsor.bookings.inventory import monday
from podsponsor.db.engine import Database
from tests.bookings.delivery_world import Booking, Show, book, downloads, set_io, show
from tests.dashboards.world import TODAY, ad_unit, card, dashboard, figure, match, place, table
from tests.factories.identity import Tenant, make_tenant


class World:
    sponsor: uuid.UUID
    other_sponsor: uuid.UUID
    shows: Show
    flat_unit: uuid.UUID
    cpm_unit: uuid.UUID
    own: Booking
    theirs: Booking
    week: str


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "ops", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner",))


@pytest.fixture(scope="module")
async def world(db: Database, tenant: Tenant) -> World:
    tenant_id = uuid.UUID(tenant.id)
    built = World()
    with tenant.client("advertiser") as api:
        built.sponsor = uuid.UUID(api.get("/api/v1/sponsors").json()["items"][0]["id"])
    with tenant.client("owner") as api:
        created = api.post("/api/v1/sponsors", json={"name": "Rival Beds", "industry": "retail"})
        built.other_sponsor = uuid.UUID(created.json()["id"])
    # Two old episodes with 30 full days behind them, one newer (not in the forecast), one upcoming (inventory).
    upcoming = TODAY + timedelta(days=3)
    shows = await show(
        tenant_id,
        [TODAY - timedelta(days=50), TODAY - timedelta(days=40), TODAY - timedelta(days=10), upcoming],
        title="Deep Sleep",
    )
    built.shows = shows
    built.week = monday(upcoming).isoformat()
    built.flat_unit = await ad_unit(tenant_id, shows, "mid", rate_cpm_cents=3000, flat_rate_cents=50_000)
    built.cpm_unit = await ad_unit(tenant_id, shows, "pre", rate_cpm_cents=2000)
    for episode, day, count in ((0, 0, 600), (0, 10, 400), (0, 30, 500), (1, 0, 2000), (2, 0, 900), (2, 9, 70)):
        released = [TODAY - timedelta(days=50), TODAY - timedelta(days=40), TODAY - timedelta(days=10)][episode]
        await downloads(tenant_id, shows, episode, released + timedelta(days=day), count)
    built.own = await book(
        tenant_id, shows, TODAY - timedelta(days=5), TODAY + timedelta(days=10), sponsor_id=built.sponsor, goal=2000
    )
    await place(tenant_id, built.own.io, built.flat_unit, shows.episodes[3])
    # The same campaign also runs across the whole show (unassigned), so it delivers the newest episode's downloads.
    await book(
        tenant_id,
        shows,
        TODAY - timedelta(days=5),
        TODAY + timedelta(days=10),
        sponsor_id=built.sponsor,
        campaign_id=built.own.campaign,
    )
    built.theirs = await book(
        tenant_id, shows, TODAY - timedelta(days=5), TODAY + timedelta(days=10), sponsor_id=built.other_sponsor
    )
    # A cancelled order holds no slot.
    cancelled = await book(tenant_id, shows, TODAY, TODAY + timedelta(days=10), sponsor_id=built.other_sponsor)
    await place(tenant_id, cancelled.io, built.cpm_unit, shows.episodes[3])
    await set_io(tenant_id, cancelled.io, status="cancelled")
    await match(tenant_id, built.sponsor, shows.id, "81.50")
    await match(tenant_id, built.other_sponsor, shows.id, "40.00")
    return built


def _get(tenant: Tenant, role: str, status: int = 200, /, **params: str) -> Any:
    with tenant.client(role) as api:
        return dashboard(api, "advertiser", status, **params)


async def test_an_advertiser_user_sees_their_own_sponsor(world: World, tenant: Tenant) -> None:
    body = _get(tenant, "advertiser")
    assert body["sponsor_id"] == str(world.sponsor)
    assert [c["id"] for c in body["cards"]] == ["audience_fit", "projected_cpm", "inventory", "campaign_results"]
    assert _get(tenant, "advertiser", sponsor_id=str(world.sponsor))["sponsor_id"] == str(world.sponsor)
    problem = _get(tenant, "advertiser", 404, sponsor_id=str(world.other_sponsor))
    assert problem["status"] == 404


async def test_ops_name_the_sponsor_and_another_tenant_cannot(world: World, tenant: Tenant, other: Tenant) -> None:
    assert _get(tenant, "ops", sponsor_id=str(world.other_sponsor))["sponsor_id"] == str(world.other_sponsor)
    missing = _get(tenant, "ops", 422)
    assert [e["field"] for e in missing["errors"]] == ["sponsor_id"]
    _get(other, "owner", 404, sponsor_id=str(world.sponsor))
    _get(tenant, "creator", 403, sponsor_id=str(world.sponsor))


async def test_audience_fit_lists_the_sponsors_own_matches(world: World, tenant: Tenant) -> None:
    fit = card(_get(tenant, "advertiser"), "audience_fit")
    [row] = table(fit, "matches")
    assert (row["podcast_id"], row["score"], row["missing"]) == (str(world.shows.id), 81.5, "historical_lift")
    assert figure(fit, "Best score") == 81.5
    rival = card(_get(tenant, "ops", sponsor_id=str(world.other_sponsor)), "audience_fit")
    assert [r["score"] for r in table(rival, "matches")] == [40.0]


async def test_projected_cpm_from_the_latest_episodes_first_30_days(world: World, tenant: Tenant) -> None:
    projected = card(_get(tenant, "advertiser"), "projected_cpm")
    units = {row["ad_unit_id"]: row for row in table(projected, "ad_units")}
    # Episodes 40 and 50 days old: 600 + 400 (the 500 on day 31 is outside) and 2000; mean 1500. The 10-day-old
    # episode has no 30 full days yet.
    flat = units[str(world.flat_unit)]
    assert (flat["forecast_downloads"], flat["episodes_in_forecast"]) == (1500, 2)
    assert (flat["price_per_episode_cents"], flat["projected_cpm_cents"]) == (50_000, 33_333)  # 500 $ / 1.5 k
    cpm = units[str(world.cpm_unit)]
    assert (cpm["price_per_episode_cents"], cpm["projected_cpm_cents"]) == (3000, 2000)  # $20 CPM x 1.5 k
    basis = [row for row in table(projected, "forecast_basis") if row["podcast_id"] == str(world.shows.id)]
    assert sorted(row["downloads"] for row in basis) == [1000, 2000]


async def test_open_inventory_by_week_and_position(world: World, tenant: Tenant) -> None:
    inventory = card(_get(tenant, "advertiser"), "inventory")
    rows = {(row["week"], row["position"]): row for row in table(inventory, "by_week_and_position")}
    assert len(rows) == 8 * 3
    assert rows[(world.week, "mid")]["booked"] == 1  # the sponsor's own order holds the mid-roll
    assert rows[(world.week, "pre")]["open"] >= 1  # the cancelled order's pre-roll is open again
    assert rows[(world.week, "pre")]["booked"] == 0
    with tenant.client("owner") as api:
        calendar = api.get("/api/v1/inventory", params={"podcast_id": str(world.shows.id), "weeks": 8}).json()
    week = next(w for w in calendar["weeks"] if w["start"] == world.week)
    assert week["open"] == sum(rows[(world.week, p)]["open"] for p in ("pre", "mid", "post"))
    # Episodes expected from the show's cadence (releases 50, 40 and 10 days ago: every 20 days) are counted apart,
    # slot for slot as the calendar projects them, and so are the orders unassigned within a flight.
    for shown in calendar["weeks"]:
        projected = sum(len(e["slots"]) for e in shown["episodes"] if e["kind"] == "expected")
        assert sum(rows[(shown["start"], p)]["expected"] for p in ("pre", "mid", "post")) == projected
        flights = sum(rows[(shown["start"], p)]["flight_orders"] for p in ("pre", "mid", "post"))
        assert flights == len(shown["flight_bookings"])
    assert figure(inventory, "Expected slots") > 0
    this_week = monday(TODAY).isoformat()
    assert rows[(this_week, "mid")]["flight_orders"] == 2  # the sponsor's and its rival's, not the cancelled one


async def test_campaign_results_of_the_sponsor_only(world: World, tenant: Tenant) -> None:
    results = card(_get(tenant, "advertiser"), "campaign_results")
    [row] = table(results, "campaigns")
    assert row["campaign_id"] == str(world.own.campaign)
    # The booked slot's episode has not aired; the order across the show has the newest episode's 70 downloads.
    assert (row["goal"], row["delivered"], row["conversions"]) == (2000 + 1000, 70, None)
    assert figure(results, "Delivered") == 70
    with tenant.client("owner") as api:
        totals = api.get(f"/api/v1/campaigns/{world.own.campaign}/delivery").json()["totals"]
    assert (row["goal"], row["delivered"], row["spend_cents"], row["currency"]) == (
        totals["goal"],
        totals["delivered"],
        totals["spend_cents"],
        totals["currency"],
    )
    assert any("no attribution calculated yet" in notice for notice in results["notices"])


async def test_audience_fit_is_marked_unavailable_while_matchmaking_is_off(world: World, tenant: Tenant) -> None:
    with tenant.client("owner") as owner:
        flag = "/api/v1/feature-flags/ENABLE_MATCHMAKING"
        assert owner.put(flag, json={"enabled": False}).status_code == 200
        try:
            fit = card(_get(tenant, "advertiser"), "audience_fit")
        finally:
            assert owner.put(flag, json={"enabled": None}).status_code == 200
    assert (fit["available"], fit["tables"]) == (False, [])


def test_anonymous_is_401(anon: httpx.Client) -> None:
    assert anon.get("/api/v1/dashboard/advertiser").status_code == 401
