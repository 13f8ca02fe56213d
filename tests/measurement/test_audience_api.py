"""The audience endpoints over real HTTP: downloads with raw requests beside them, dimensions, listeners per
period, lifecycle ages, the audit export, explanations, runs, recounts, settings, and who may see what."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories.identity import Tenant, make_tenant
from tests.measurement.test_counting_job import APP_UA, BOT_UA, MONDAY, _count, _hits, _show, at


@pytest.fixture
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "creator", "advertiser", "sales"))


async def _seed(tenant: Tenant) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    tenant_id = uuid.UUID(tenant.id)
    podcast_id, episode_id = await _show(tenant_id)
    tuesday = MONDAY + timedelta(days=1)
    ids = await _hits(
        tenant_id,
        podcast_id,
        [
            {"ts": at(MONDAY, 8), "ip_hash": "a", "country": "US"},
            {"ts": at(MONDAY, 9), "ip_hash": "a", "country": "US"},  # same listener, same day
            {"ts": at(MONDAY, 10), "ip_hash": "b", "country": "DE"},
            {"ts": at(MONDAY, 11), "method": "HEAD", "ip_hash": "c"},
            {"ts": at(tuesday, 8), "ip_hash": "a", "country": "US"},
            {"ts": at(tuesday, 9), "user_agent": BOT_UA, "ip_hash": "d"},
        ],
    )
    await _count(tenant_id, MONDAY)
    await _count(tenant_id, tuesday)
    return podcast_id, episode_id, ids


def _range() -> dict[str, str]:
    return {"start": MONDAY.isoformat(), "end": (MONDAY + timedelta(days=6)).isoformat()}


async def test_downloads_by_day_sit_beside_raw_requests_with_the_reasons(db, tenant: Tenant) -> None:
    podcast_id, _, _ = await _seed(tenant)
    with tenant.client() as client:
        body = client.get("/api/v1/measurement/downloads", params={**_range(), "podcast_id": str(podcast_id)}).json()
    assert body["window_types"] == ["calendar_day"]
    assert [(r["day"], r["downloads"], r["raw_requests"]) for r in body["rows"]] == [
        (MONDAY.isoformat(), 2, 4),
        ((MONDAY + timedelta(days=1)).isoformat(), 1, 2),
    ]
    assert (body["total_downloads"], body["total_raw_requests"]) == (3, 6)
    assert {r["reason"]: r["requests"] for r in body["reasons"]} == {
        "counted": 3,
        "duplicate_in_window": 1,
        "head": 1,
        "bot_keyword": 1,
    }
    assert "IAB" in body["how_computed"]


async def test_dimensions_group_downloads_and_drop_the_raw_column(db, tenant: Tenant) -> None:
    await _seed(tenant)
    with tenant.client() as client:
        body = client.get("/api/v1/measurement/downloads", params={**_range(), "by": "country"}).json()
        bad = client.get("/api/v1/measurement/downloads", params={**_range(), "by": "day,planet"})
        backwards = client.get("/api/v1/measurement/downloads", params={"start": "2026-02-02", "end": "2026-02-01"})
    assert [(r["country"], r["downloads"], r["raw_requests"]) for r in body["rows"]] == [
        ("DE", 1, None),
        ("US", 2, None),
    ]
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["value"] == "planet"
    assert backwards.status_code == 422


async def test_listeners_per_week_count_a_returning_listener_once(db, tenant: Tenant) -> None:
    await _seed(tenant)
    with tenant.client("creator") as client:
        daily = client.get("/api/v1/measurement/listeners", params={**_range(), "period": "day"}).json()
        weekly = client.get("/api/v1/measurement/listeners", params={**_range(), "period": "week"}).json()
        wrong = client.get("/api/v1/measurement/listeners", params={"period": "fortnight"})
    assert [r["listeners"] for r in daily["rows"]] == [2, 1]
    assert weekly["rows"] == [{"period_start": MONDAY.isoformat(), "listeners": 2}]
    assert wrong.status_code == 422


async def test_lifecycle_gives_downloads_at_fixed_ages_after_release(db, tenant: Tenant) -> None:
    podcast_id, episode_id, _ = await _seed(tenant)
    with tenant.client() as client:
        rows = client.get("/api/v1/measurement/lifecycle", params={"podcast_id": str(podcast_id)}).json()
    # Released the Friday before MONDAY: Monday is age 3 (day 4), Tuesday age 4 (day 5).
    (episode,) = rows
    assert episode["episode_id"] == str(episode_id)
    assert episode["at_age"]["1"] == 0 and episode["at_age"]["3"] == 0
    assert episode["at_age"]["7"] == 3
    assert episode["so_far"] == 3
    assert episode["pacing"][:6] == [0, 0, 0, 2, 3, 3]
    days_since = (datetime.now(UTC).date() - (MONDAY - timedelta(days=3))).days
    assert episode["at_age"]["90"] is None if days_since < 90 else episode["at_age"]["90"] == 3


async def test_the_export_lists_every_request_with_its_tag_and_explain_says_why(db, tenant: Tenant) -> None:
    _, episode_id, ids = await _seed(tenant)
    with tenant.client() as client:
        exported = client.get("/api/v1/measurement/hits/export", params={"day": MONDAY.isoformat(), "format": "tsv"})
        counted = client.get(f"/api/v1/measurement/hits/{ids[0]}/explain").json()
        duplicate = client.get(f"/api/v1/measurement/hits/{ids[1]}/explain").json()
        head = client.get(f"/api/v1/measurement/hits/{ids[3]}/explain").json()
        missing = client.get(f"/api/v1/measurement/hits/{uuid.uuid4()}/explain")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/tab-separated-values")
    rows = list(csv.DictReader(io.StringIO(exported.text), delimiter="\t"))
    assert [(r["id"], r["reason"]) for r in rows] == [
        (str(ids[0]), "counted"),
        (str(ids[1]), "duplicate_in_window"),
        (str(ids[2]), "counted"),
        (str(ids[3]), "head"),
    ]
    assert rows[1]["counted_as"] == str(ids[0]) and rows[0]["episode_id"] == str(episode_id)
    assert rows[0]["user_agent"] == APP_UA and rows[0]["ts"].endswith("Z")
    assert counted["counted"] is True and counted["sentence"].startswith("Counted")
    assert counted["run_id"] is not None and counted["window"] == "calendar_day"
    assert duplicate["reason"] == "duplicate_in_window" and str(ids[0]) in duplicate["sentence"]
    assert head["sentence"].startswith("Not counted: a HEAD request")
    assert missing.status_code == 404


async def test_runs_recounts_and_settings(db, tenant: Tenant) -> None:
    await _seed(tenant)
    with tenant.client() as client:
        runs = client.get("/api/v1/measurement/count-runs", params={"day": MONDAY.isoformat()}).json()
        queued = client.post("/api/v1/measurement/count", json={"start": MONDAY.isoformat()})
        too_long = client.post("/api/v1/measurement/count", json={"start": "2026-01-01", "end": "2026-12-31"})
        changed = client.patch("/api/v1/measurement/settings", json={"window": "extending_24h"})
        unknown = client.patch("/api/v1/measurement/settings", json={"window": "fortnight"})
        now = client.get("/api/v1/measurement/settings").json()
    assert runs["total"] == 1 and runs["items"][0]["downloads"] == 2
    assert runs["items"][0]["window_type"] == "calendar_day" and runs["items"][0]["status"] == "completed"
    assert queued.status_code == 202 and queued.json()["queued"] == 1
    assert too_long.status_code == 422
    assert changed.status_code == 200 and now["window"] == "extending_24h"
    assert unknown.status_code == 422


@pytest.mark.parametrize("path", ["downloads", "listeners", "lifecycle", "count-runs", "settings"])
async def test_advertisers_see_no_audience_numbers_and_other_tenants_see_none_of_ours(
    db, tenant: Tenant, server: str, path: str
) -> None:
    await _seed(tenant)
    with tenant.client("advertiser") as client:
        assert client.get(f"/api/v1/measurement/{path}").status_code == 403
    with tenant.client("sales") as client:
        assert client.post("/api/v1/measurement/count", json={"start": MONDAY.isoformat()}).status_code == 403
    other = make_tenant(server)
    with other.client() as client:
        response = client.get(f"/api/v1/measurement/{path}", params=_range() if path != "lifecycle" else {})
    assert response.status_code == 200
    body = response.json()
    if path == "downloads":
        assert body["rows"] == [] and body["total_raw_requests"] == 0
    elif path == "count-runs":
        assert body["total"] == 0
    elif path in {"listeners"}:
        assert body["rows"] == []
    elif path == "lifecycle":
        assert body == []
