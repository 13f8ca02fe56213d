"""Matchmaking over the API on real PostgreSQL: each signal from the data it reads, missing inputs dropped and the
weights renormalised, hard conflicts capping the score, the scopes of a recalculation, ranking and filters, and who
may see what."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from podsponsor.db.tenancy import tenant_transaction
from podsponsor.matching import tasks
from tests.bookings.booking_world import ok, problem
from tests.factories.identity import make_tenant
from tests.matching.world import TODAY, World, add_downloads, enable, make_world, match, recalculate


@pytest.fixture(scope="module")
async def world(server: str, db: Any) -> World:
    built = make_world(server)
    await add_downloads(built.tenant, built.tech, {"US": 120, "CA": 30, "GB": 50})
    await add_downloads(built.tenant, built.cooking, {"US": 20})  # too few to say where its audience is
    return built


def weighted(found: dict[str, Any]) -> float:
    present = {n: s for n, s in found["signals"].items() if s["value"] is not None}
    return float(
        100 * sum(s["value"] * s["weight"] for s in present.values()) / sum(s["weight"] for s in present.values())
    )


async def test_pair_signals_come_from_the_data(world: World) -> None:
    run = recalculate(world.owner, advertiser_id=world.software, podcast_id=world.tech)
    assert run["scope"] == "pair"
    assert run["status"] == "completed"
    assert run["pairs_stored"] == 1
    found = match(world.owner, world.software, world.tech)
    signals = found["signals"]
    assert signals["geo"]["value"] == pytest.approx(120 / 200, abs=1e-3)
    assert signals["geo"]["inputs"]["top_countries"][0] == ["US", 0.6]
    # 70 % of the audience is 25-44 and every listener is of a targeted gender.
    assert signals["demographic"]["value"] == pytest.approx(0.7, abs=1e-3)
    assert "technology" in signals["topic"]["inputs"]["shared_terms"]
    assert signals["brand_safety"]["value"] == pytest.approx(1.0)
    assert set(found["missing"]) == {"lift", "inventory"}
    assert "no attributed results" in signals["lift"]["missing"]
    assert found["score"] == pytest.approx(weighted(found), abs=0.01)
    assert "Missing: historical lift" in found["rationale"]
    assert found["rationale"].count(".") <= 4


async def test_missing_geo_is_dropped_and_named(world: World) -> None:
    recalculate(world.owner, advertiser_id=world.software, podcast_id=world.cooking)
    found = match(world.owner, world.software, world.cooking)
    assert "geo" in found["missing"]
    assert "only 20 downloads with a known country" in found["signals"]["geo"]["missing"]
    assert "demographic" in found["missing"]
    assert found["score"] == pytest.approx(weighted(found), abs=0.01)


async def test_advertiser_scope_ranks_its_shows(world: World) -> None:
    run = recalculate(world.owner, advertiser_id=world.software)
    assert run["scope"] == "advertiser"
    assert run["pairs_total"] == 3
    page = ok(world.owner.get("/api/v1/match", params={"advertiser_id": world.software}), 200)
    titles = [item["podcast_title"] for item in page["items"]]
    assert titles[0].startswith("Build Log")
    assert page["items"][0]["score"] >= page["items"][1]["score"] >= page["items"][2]["score"]
    crime = next(item for item in page["items"] if item["podcast_id"] == world.crime)
    # A strict advertiser next to an explicit show about murders.
    assert crime["signals"]["brand_safety"]["value"] < 0.3
    assert "murder" in crime["signals"]["brand_safety"]["inputs"]["sensitive_terms"]
    strong = ok(world.owner.get("/api/v1/match", params={"advertiser_id": world.software, "min_score": 60}), 200)
    assert all(item["score"] >= 60 for item in strong["items"])
    technology = ok(
        world.owner.get("/api/v1/match", params={"advertiser_id": world.software, "category": "technology"}), 200
    )
    assert [item["podcast_id"] for item in technology["items"]] == [world.tech]


async def test_blocked_category_caps_the_score(server: str) -> None:
    world = make_world(server)
    ok(world.owner.put(f"/api/v1/match/briefs/{world.software}", json={"blocked_categories": ["Technology"]}), 200)
    recalculate(world.owner, advertiser_id=world.software, podcast_id=world.tech)
    found = match(world.owner, world.software, world.tech)
    assert found["score"] <= 20
    assert found["conflict"] == "blocked category Technology"
    assert "capped by a hard conflict" in found["rationale"]


async def test_competitor_exclusivity_caps_the_score(server: str) -> None:
    world = make_world(server)
    ok(world.owner.put("/api/v1/feature-flags/ENABLE_IO_BOOKINGS", json={"enabled": True}), 200)
    rival = ok(world.owner.post("/api/v1/sponsors", json={"name": "Rival Soft", "industry": "Software"}))
    campaign = ok(world.owner.post("/api/v1/campaigns", json={"sponsor_id": rival["id"], "name": "Rival push"}))
    unit = ok(
        world.owner.post(f"/api/v1/podcasts/{world.tech}/ad-units", json={"position": "mid", "length_seconds": 60})
    )
    body = {
        "campaign_id": campaign["id"],
        "podcast_id": world.tech,
        "ad_unit_id": unit["id"],
        "flight_start": (TODAY + timedelta(days=3)).isoformat(),
        "flight_end": (TODAY + timedelta(days=40)).isoformat(),
        "impression_goal": 10_000,
        "pricing_model": "cpm",
        "cpm_cents": 2500,
        "exclusivity": True,
    }
    ok(world.owner.post("/api/v1/io", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}))
    recalculate(world.owner, advertiser_id=world.software, podcast_id=world.tech)
    found = match(world.owner, world.software, world.tech)
    assert found["score"] <= 20
    assert "Rival Soft (software) holds competitive exclusivity" in found["conflict"]


async def test_inventory_fit_and_the_availability_filter(server: str) -> None:
    world = make_world(server)
    for position in ("pre", "mid"):
        ok(
            world.owner.post(
                f"/api/v1/podcasts/{world.tech}/ad-units", json={"position": position, "length_seconds": 30}
            )
        )
    start, end = TODAY + timedelta(days=1), TODAY + timedelta(days=56)
    brief = {"flight_start": str(start), "flight_end": str(end), "positions": ["mid"], "slots_needed": 16}
    ok(world.owner.put(f"/api/v1/match/briefs/{world.software}", json=brief), 200)
    recalculate(world.owner, advertiser_id=world.software)
    found = match(world.owner, world.software, world.tech)
    inventory = found["signals"]["inventory"]
    # Weekly releases projected over eight weeks: eight mid-roll slots for sixteen wanted.
    assert inventory["inputs"]["open_slots"] == 8
    assert inventory["value"] == pytest.approx(0.5)
    crime = match(world.owner, world.software, world.crime)
    assert crime["signals"]["inventory"]["value"] == 0  # it sells no ad units
    params = {"advertiser_id": world.software, "available_from": str(start), "available_to": str(end)}
    page = ok(world.owner.get("/api/v1/match", params=params), 200)
    assert [item["podcast_id"] for item in page["items"]] == [world.tech]
    assert page["items"][0]["open_slots"] == 16  # pre and mid
    bad = world.owner.get("/api/v1/match", params={**params, "available_to": str(start - timedelta(days=1))})
    problem(bad, 422, "validation-error")


async def test_weights_are_the_workspaces(world: World) -> None:
    ok(
        world.owner.patch(
            "/api/v1/match/settings",
            json={"weights": {"geo": 0, "demographic": 0, "topic": 1, "lift": 0, "inventory": 0, "brand_safety": 0}},
        ),
        200,
    )
    try:
        recalculate(world.owner, advertiser_id=world.software, podcast_id=world.tech)
        found = match(world.owner, world.software, world.tech)
        assert found["score"] == pytest.approx(100 * found["signals"]["topic"]["value"], abs=0.01)
    finally:
        ok(
            world.owner.patch(
                "/api/v1/match/settings",
                json={
                    "weights": {
                        "geo": 0.2,
                        "demographic": 0.15,
                        "topic": 0.25,
                        "lift": 0.2,
                        "inventory": 0.1,
                        "brand_safety": 0.1,
                    }
                },
            ),
            200,
        )
    problem(world.owner.patch("/api/v1/match/settings", json={"weights": {"geo": -1}}), 422, "validation-error")


async def test_whole_workspace_is_an_admin_job_with_progress(world: World) -> None:
    sales = world.tenant.client("sales")
    problem(sales.post("/api/v1/match/recalculate"), 403, "forbidden")
    response = world.owner.post("/api/v1/match/recalculate")
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] == "queued"
    await tasks.run_tenant(uuid.UUID(world.tenant.id), uuid.UUID(run["id"]))
    done = ok(world.owner.get(f"/api/v1/match/runs/{run['id']}"), 200)
    assert done["status"] == "completed"
    assert done["progress"] == 1.0
    assert done["pairs_scored"] == done["pairs_total"] == 3
    async with tenant_transaction(uuid.UUID(world.tenant.id)) as session:
        events = (
            (await session.execute(text("SELECT payload FROM events WHERE type = 'match.recalculated' ORDER BY at")))
            .scalars()
            .all()
        )
    assert events[-1]["scope"] == "tenant"
    assert events[-1]["pairs_stored"] == 3


async def test_flag_tenancy_and_advertisers(server: str, world: World) -> None:
    other = make_tenant(server)
    enable(other.client())
    problem(other.client().get(f"/api/v1/match/{world.software}/{world.tech}"), 404, "not-found")
    problem(
        other.client().post("/api/v1/match/recalculate", params={"advertiser_id": world.software}), 404, "not-found"
    )
    assert ok(other.client().get("/api/v1/match"), 200)["total"] == 0
    enable(world.owner, False)
    try:
        assert world.owner.get("/api/v1/match").status_code == 404
    finally:
        enable(world.owner, True)


async def test_advertiser_users_see_only_their_sponsor(server: str) -> None:
    world = make_world(server, roles=("owner", "advertiser"))
    recalculate(world.owner, advertiser_id=world.software)
    advertiser = world.tenant.client("advertiser")
    page = ok(advertiser.get("/api/v1/match"), 200)
    assert all(item["sponsor_id"] != world.software for item in page["items"])
    problem(advertiser.get("/api/v1/match", params={"advertiser_id": world.software}), 404, "not-found")
    problem(advertiser.get(f"/api/v1/match/{world.software}/{world.tech}"), 404, "not-found")
    assert advertiser.post("/api/v1/match/recalculate", params={"advertiser_id": world.software}).status_code == 403


def test_brief_validation(server: str, world: World) -> None:
    bad = world.owner.put(f"/api/v1/match/briefs/{world.software}", json={"flight_start": str(TODAY)})
    assert "flight_end" in problem(bad, 422, "validation-error")["detail"] + str(bad.json().get("errors"))
    bad = world.owner.put(f"/api/v1/match/briefs/{world.software}", json={"positions": ["side"]})
    assert any("positions" in str(e.get("field")) for e in problem(bad, 422, "validation-error")["errors"])
    kept = world.owner.get(f"/api/v1/match/briefs/{world.software}").json()
    assert kept["positions"] == []
