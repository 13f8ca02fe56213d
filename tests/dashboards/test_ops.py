"""Ad ops' dashboard over REST: pipeline forecast and win/loss from deals moved through the API, and the health of
metrics imports, measurement and attribution from the rows their jobs write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from podsponsor.db.engine import Database
from tests.dashboards.world import (
    TODAY,
    card,
    dashboard,
    etl_import,
    figure,
    source_health,
    table,
    tallies,
    unknown_agents,
)
from tests.factories.identity import Tenant, make_tenant

NOW = datetime.now(UTC)


class World:
    sponsor: uuid.UUID


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "ops", "sales", "creator", "advertiser"))


def _deal(api: httpx.Client, sponsor: str, seller: str, stage: str, value: int, to: str | None = None) -> str:
    body = {
        "sponsor_id": sponsor,
        "seller_id": seller,
        "name": f"Deal {uuid.uuid4().hex[:6]}",
        "stage": stage,
        "value_cents": value,
        "expected_close": TODAY.isoformat(),
    }
    created = api.post("/api/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    deal_id = str(created.json()["id"])
    if to is not None:
        moved = api.patch(f"/api/v1/deals/{deal_id}/stage", json={"stage": to})
        assert moved.status_code == 200, moved.text
    return deal_id


@pytest.fixture(scope="module")
async def world(db: Database, tenant: Tenant) -> World:
    tenant_id = uuid.UUID(tenant.id)
    built = World()
    seller = tenant.user_ids["sales"]
    with tenant.client("sales") as api:
        sponsor = api.post("/api/v1/sponsors", json={"name": "Snooze Co", "industry": "sleep"}).json()["id"]
        built.sponsor = uuid.UUID(sponsor)
        _deal(api, sponsor, seller, "proposal", 100_000)  # 50 %
        _deal(api, sponsor, seller, "negotiation", 40_000)  # 75 %
        _deal(api, sponsor, seller, "negotiation", 20_000, to="won")
        _deal(api, sponsor, seller, "proposal", 10_000, to="lost")
    await etl_import(tenant_id, "libsyn", "completed", NOW - timedelta(hours=30), rows_skipped=2)
    await etl_import(tenant_id, "libsyn", "failed", NOW - timedelta(hours=2), error_count=3)
    await etl_import(tenant_id, "spotify", "completed", NOW - timedelta(days=60))
    await tallies(tenant_id, TODAY - timedelta(days=1), counted=900, bot_ua=60, bot_keyword=40, head=100)
    await tallies(tenant_id, TODAY - timedelta(days=45), bot_ua=5000)  # outside the period
    await unknown_agents(tenant_id, pending=2, labelled=1)
    await source_health(
        tenant_id, built.sponsor, failures=3, last_failure=NOW - timedelta(days=1), outcomes=["stored", "stored"]
    )
    await source_health(
        tenant_id, built.sponsor, failures=1, last_failure=NOW - timedelta(days=90), outcomes=["ignored"]
    )
    return built


def _body(tenant: Tenant, role: str = "ops", status: int = 200, /, **params: str) -> Any:
    with tenant.client(role) as api:
        return dashboard(api, "ops", status, **params)


async def test_pipeline_forecast_weights_open_deals_by_stage(world: World, tenant: Tenant) -> None:
    pipeline = card(_body(tenant), "pipeline_forecast")
    # 100,000 x 50 % + 40,000 x 75 % + the won 20,000 at 100 %, all expected to close this month.
    assert figure(pipeline, "Weighted forecast (USD)") == 100_000
    months = table(pipeline, "by_month")
    assert [(r["month"], r["deals"], r["weighted_value_cents"]) for r in months] == [
        (TODAY.strftime("%Y-%m"), 3, 100_000)
    ]
    stages = {r["stage"]: r for r in table(pipeline, "by_stage")}
    assert (stages["proposal"]["weighted_value_cents"], stages["negotiation"]["weighted_value_cents"]) == (
        50_000,
        30_000,
    )
    assert stages["lost"]["weighted_value_cents"] == 0
    with tenant.client("ops") as api:
        board = api.get("/api/v1/deals").json()
    for column in board["columns"]:
        for total in column["totals"]:
            shown = stages[column["stage"]]
            assert (shown["deals"], shown["value_cents"], shown["weighted_value_cents"]) == (
                column["count"],
                total["value_cents"],
                total["weighted_value_cents"],
            )


async def test_win_loss_by_seller_sponsor_and_month(world: World, tenant: Tenant) -> None:
    found = card(_body(tenant), "win_loss")
    assert (figure(found, "Won"), figure(found, "Lost"), figure(found, "Win rate")) == (1, 1, 50.0)
    assert figure(found, "Won value (USD)") == 20_000
    [seller] = table(found, "by_seller")
    assert (seller["key"], seller["won_deals"], seller["lost_deals"]) == (tenant.user_ids["sales"], 1, 1)
    [sponsor] = table(found, "by_sponsor")
    assert (sponsor["label"], sponsor["won_value_cents"], sponsor["lost_value_cents"]) == ("Snooze Co", 20_000, 10_000)
    before = card(_body(tenant, **{"from": "2020-01-01", "to": "2020-12-31"}), "win_loss")
    assert (figure(before, "Won"), figure(before, "Lost"), figure(before, "Win rate")) == (0, 0, None)


async def test_metrics_imports_per_source(world: World, tenant: Tenant) -> None:
    etl = card(_body(tenant), "etl_health")
    rows = {row["source"]: row for row in table(etl, "sources")}
    libsyn = rows["libsyn"]
    assert (libsyn["last_status"], libsyn["imports"], libsyn["failed"], libsyn["rows_rejected"]) == (
        "failed",
        2,
        1,
        3,
    )
    assert libsyn["rows_skipped"] == 2
    assert 29.9 <= libsyn["hours_since_success"] <= 30.2  # the completed import 30 h ago (finished a minute later)
    spotify = rows["spotify"]
    assert (spotify["last_status"], spotify["imports"]) == ("completed", 0)  # its only import is before the period
    assert (figure(etl, "Sources"), figure(etl, "Failed imports"), figure(etl, "Rows rejected")) == (2, 1, 3)
    assert figure(etl, "Stalest source (hours)") == spotify["hours_since_success"]


async def test_measurement_health(world: World, tenant: Tenant) -> None:
    health = card(_body(tenant), "measurement_health")
    assert figure(health, "Unknown user agents") == 2
    assert figure(health, "Requests") == 1100
    assert figure(health, "Bot share") == round(100 * 100 / 1100, 1)
    reasons = {row["reason"]: row["requests"] for row in table(health, "reasons")}
    assert reasons == {"counted": 900, "bot_ua": 60, "bot_keyword": 40, "head": 100}
    assert figure(health, "Spill backlog") == 0
    assert figure(health, "Oldest spill (hours)") is None


async def test_attribution_health(world: World, tenant: Tenant) -> None:
    health = card(_body(tenant), "attribution_health")
    assert (figure(health, "Sources"), figure(health, "Signature failures"), figure(health, "Sources failing")) == (
        2,
        4,
        1,
    )
    assert figure(health, "Events delivered") == 3
    assert {r["outcome"]: r["events"] for r in table(health, "deliveries")} == {"stored": 2, "ignored": 1}
    assert figure(health, "Highest unusable-address share") is None  # no attribution run yet


async def test_another_workspace_sees_none_of_it(world: World, server: str) -> None:
    other = make_tenant(server)
    body = _body(other, "owner")
    assert figure(card(body, "etl_health"), "Sources") == 0
    assert figure(card(body, "measurement_health"), "Unknown user agents") == 0
    assert figure(card(body, "measurement_health"), "Requests") == 0
    assert figure(card(body, "attribution_health"), "Sources") == 0
    assert table(card(body, "win_loss"), "by_sponsor") == []
    assert table(card(body, "pipeline_forecast"), "by_stage") == []


def test_who_may_read_the_ops_dashboard(tenant: Tenant, anon: httpx.Client) -> None:
    _body(tenant, "owner")
    for role in ("sales", "creator", "advertiser"):
        assert _body(tenant, role, 403)["status"] == 403
    assert anon.get("/api/v1/dashboard/ops").status_code == 401
