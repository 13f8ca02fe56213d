"""Delivery and makegoods over REST: an order's and a campaign's numbers, makegood lists and each kind of settlement,
with the role matrix (anonymous 401, wrong role 403, another tenant or another sponsor 404) and the feature flag."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from podsponsor.db.engine import Database
from tests.bookings.delivery_world import Booking, book, downloads, io_row, open_makegood, rows, set_io, show
from tests.factories.identity import Tenant, make_tenant

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=9)  # day 10 of a 30-day flight
END = START + timedelta(days=29)


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "ops", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


def _sponsor_of_advertiser(tenant: Tenant) -> uuid.UUID:
    with tenant.client("advertiser") as api:
        return uuid.UUID(api.get("/api/v1/sponsors").json()["items"][0]["id"])


def _get(api: httpx.Client, path: str, status: int = 200, **params: Any) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    return response.json()


def _settle(api: httpx.Client, makegood_id: uuid.UUID, status: int, **body: Any) -> Any:
    response = api.post(f"/api/v1/makegoods/{makegood_id}/settle", json=body)
    assert response.status_code == status, response.text
    return response.json()


async def _live_order(tenant: Tenant, **fields: Any) -> Booking:
    tenant_id = uuid.UUID(tenant.id)
    on = await show(tenant_id, [START, START + timedelta(days=7)])
    order = await book(tenant_id, on, START, END, placed=[0], goal=3000, **fields)
    for offset, count in ((0, 300), (4, 200), (9, 300)):
        await downloads(tenant_id, on, 0, START + timedelta(days=offset), count)
    return order


async def test_an_orders_delivery_pacing_spend_and_daily_series(
    db: Database, tenant: Tenant, other: Tenant, anon: httpx.Client
) -> None:
    order = await _live_order(tenant, sponsor_id=_sponsor_of_advertiser(tenant))
    path = f"/api/v1/io/{order.io}/delivery"
    with tenant.client("sales") as api:
        body = _get(api, path)
    assert (body["goal"], body["delivered"], body["expected"], body["pacing_pct"]) == (3000, 800, 1000, 80.0)
    assert (body["spend_cents"], body["ecpm_cents"], body["spend_capped"], body["spend_note"]) == (
        2000,
        2500,
        False,
        None,
    )
    assert (body["flight_end"], body["counts_until"], body["as_of"]) == (
        END.isoformat(),
        END.isoformat(),
        TODAY.isoformat(),
    )
    assert (body["stored_delivered"], body["delivery_updated_at"]) == (0, None)  # the hourly refresh has not run
    assert len(body["daily"]) == 10
    assert body["daily"][0] == {"day": START.isoformat(), "delivered": 300, "cumulative": 300, "expected": 100}
    assert body["daily"][-1] == {"day": TODAY.isoformat(), "delivered": 300, "cumulative": 800, "expected": 1000}
    for role in ("owner", "ops", "creator", "advertiser"):
        with tenant.client(role) as api:
            assert _get(api, path)["delivered"] == 800
    stranger = await _live_order(tenant)
    with tenant.client("advertiser") as api:
        _get(api, f"/api/v1/io/{stranger.io}/delivery", 404)
    with other.client("sales") as api:
        _get(api, path, 404)
    with tenant.client("sales") as api:
        _get(api, f"/api/v1/io/{uuid.uuid4()}/delivery", 404)
    _get(anon, path, 401)


async def test_a_campaigns_delivery_sums_its_orders_and_weights_pacing_by_goal(
    db: Database, tenant: Tenant, other: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    first = await _live_order(tenant)
    on = await show(tenant_id, [TODAY - timedelta(days=4)])
    same: dict[str, Any] = {"sponsor_id": first.sponsor, "campaign_id": first.campaign, "placed": [0]}
    second = await book(tenant_id, on, TODAY - timedelta(days=4), TODAY + timedelta(days=5), goal=1000, **same)
    await downloads(tenant_id, on, 0, TODAY - timedelta(days=2), 600)
    on_cancelled = await show(tenant_id, [START])
    cancelled = await book(tenant_id, on_cancelled, START, END, goal=5000, **same)
    await downloads(tenant_id, on_cancelled, 0, START, 100)
    await set_io(tenant_id, cancelled.io, status="cancelled", status_changed_at=datetime.now(UTC))

    with tenant.client("sales") as api:
        body = _get(api, f"/api/v1/campaigns/{first.campaign}/delivery")

    by_io = {row["io_id"]: row for row in body["ios"]}
    assert set(by_io) == {str(first.io), str(second.io), str(cancelled.io)}
    assert (by_io[str(second.io)]["expected"], by_io[str(second.io)]["pacing_pct"]) == (500, 120.0)
    assert by_io[str(cancelled.io)]["status"] == "cancelled"
    # 3,000 at 80 % and 1,000 at 120 %: 90 % weighted by goal; the cancelled order is left out of the totals.
    assert body["totals"] == {
        "goal": 4000,
        "delivered": 1400,
        "expected": 1500,
        "pacing_pct": 90.0,
        "currency": "USD",
        "spend_cents": 3500,
        "ecpm_cents": 2500,
    }
    with tenant.client("advertiser") as api:  # another sponsor's campaign
        _get(api, f"/api/v1/campaigns/{first.campaign}/delivery", 404)
    with other.client("owner") as api:
        _get(api, f"/api/v1/campaigns/{first.campaign}/delivery", 404)


async def test_makegoods_are_listed_open_or_settled_and_advertisers_see_only_their_own(
    db: Database, tenant: Tenant, other: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    mine = await _live_order(tenant, sponsor_id=_sponsor_of_advertiser(tenant))
    theirs = await _live_order(tenant)
    mine_open = await open_makegood(tenant_id, mine.io, 3000, 2000, 2500)
    theirs_open = await open_makegood(tenant_id, theirs.io, 3000, 1000, 5000)
    with tenant.client("sales") as api:
        _settle(api, theirs_open, 200, settlement="credit", note="agreed on the phone")
        settled = _get(api, "/api/v1/makegoods", state="settled", io_id=str(theirs.io), limit=200)["items"]
        listed = _get(api, "/api/v1/makegoods", state="open", limit=200)["items"]
    assert [(m["id"], m["credit_cents"], m["note"]) for m in settled] == [
        (str(theirs_open), 5000, "agreed on the phone")
    ]
    assert str(mine_open) in {m["id"] for m in listed}
    assert str(theirs_open) not in {m["id"] for m in listed}
    with tenant.client("advertiser") as api:
        seen = _get(api, "/api/v1/makegoods", limit=200)["items"]
        _get(api, f"/api/v1/makegoods/{theirs_open}", 404)
        one = _get(api, f"/api/v1/makegoods/{mine_open}")
    assert {m["io_id"] for m in seen} == {str(mine.io)}
    assert (one["shortfall_impressions"], one["shortfall_cents"], one["state"]) == (1000, 2500, "open")
    with other.client("owner") as api:
        assert _get(api, "/api/v1/makegoods")["total"] == 0
        _get(api, f"/api/v1/makegoods/{mine_open}", 404)
    with tenant.client("sales") as api:
        _get(api, "/api/v1/makegoods", 422, state="owed")


async def test_settling_by_a_bonus_episode_books_a_bonus_slot_and_reopens_the_order(
    db: Database, tenant: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    order = await _live_order(tenant)
    makegood_id = await open_makegood(tenant_id, order.io, 3000, 800, 5500)
    elsewhere = await show(tenant_id, [TODAY])
    with tenant.client("sales") as api:
        wrong_show = _settle(api, makegood_id, 422, settlement="bonus_episode", episode_id=str(elsewhere.episodes[0]))
        missing = _settle(api, makegood_id, 422, settlement="bonus_episode")
        own_slot = _settle(api, makegood_id, 409, settlement="bonus_episode", episode_id=str(order.show.episodes[0]))
        body = _settle(api, makegood_id, 200, settlement="bonus_episode", episode_id=str(order.show.episodes[1]))
        again = _settle(api, makegood_id, 409, settlement="credit")
        events = _get(api, "/api/v1/events", type="makegood.settled", limit=200)["items"]
    assert [e["field"] for e in wrong_show["errors"]] == ["episode_id"]
    assert [e["field"] for e in missing["errors"]] == ["episode_id"]
    assert own_slot["type"].endswith("/slot-taken")
    assert (body["state"], body["settlement"], body["io_status"]) == ("settled", "bonus_episode", "active")
    assert (body["bonus_episode_id"], body["settled_by"]) == (str(order.show.episodes[1]), tenant.user_ids["sales"])
    assert again["type"].endswith("/makegood-settled")
    slots = await rows(
        tenant_id, "SELECT episode_id, bonus FROM io_placements WHERE io_id = :io ORDER BY bonus", io=order.io
    )
    assert [(row.episode_id, row.bonus) for row in slots] == [
        (order.show.episodes[0], False),
        (order.show.episodes[1], True),
    ]
    [event] = [e for e in events if e["subject_id"] == str(makegood_id)]
    assert event["payload"]["io_status"] == {"from": "makegood", "to": "active"}
    assert event["payload"]["settlement"] == "bonus_episode"


async def test_a_bonus_episode_keeps_competitive_separation_unless_waived(db: Database, tenant: Tenant) -> None:
    tenant_id = uuid.UUID(tenant.id)
    order = await _live_order(tenant)
    rival = await book(tenant_id, order.show, START, END, placed=[1], industry="sleep")
    makegood_id = await open_makegood(tenant_id, order.io, 3000, 800, None)
    bonus = {"settlement": "bonus_episode", "episode_id": str(order.show.episodes[1])}
    with tenant.client("ops") as api:
        clash = _settle(api, makegood_id, 409, **bonus)
        assert clash["type"].endswith("/competitive-separation")
        assert (await io_row(tenant_id, rival.io)).number in clash["detail"]
        await set_io(tenant_id, order.io, separation_waived=True)
        assert _settle(api, makegood_id, 200, **bonus)["io_status"] == "active"


async def test_settling_by_an_extended_flight_moves_the_end_and_reopens_the_order(db: Database, tenant: Tenant) -> None:
    tenant_id = uuid.UUID(tenant.id)
    order = await _live_order(tenant)
    makegood_id = await open_makegood(tenant_id, order.io, 3000, 800, 5500)
    with tenant.client("sales") as api:
        not_later = _settle(api, makegood_id, 422, settlement="extended_flight", extended_to=END.isoformat())
        mixed = _settle(
            api,
            makegood_id,
            422,
            settlement="extended_flight",
            extended_to=(END + timedelta(days=1)).isoformat(),
            credit_cents=10,
        )
        new_end = END + timedelta(days=14)
        body = _settle(api, makegood_id, 200, settlement="extended_flight", extended_to=new_end.isoformat())
    assert [e["field"] for e in not_later["errors"]] == ["extended_to"]
    assert [e["field"] for e in mixed["errors"]] == ["credit_cents"]
    assert (body["extended_to"], body["io_status"]) == (new_end.isoformat(), "active")
    io = await io_row(tenant_id, order.io)
    assert (io.flight_end, io.status) == (new_end, "active")


async def test_settling_by_a_credit_defaults_to_the_shortfalls_value_and_closes_it(
    db: Database, tenant: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    order = await _live_order(tenant)
    priced = await open_makegood(tenant_id, order.io, 3000, 800, 5500)
    with tenant.client("sales") as api:
        body = _settle(api, priced, 200, settlement="credit")
    assert (body["credit_cents"], body["io_status"], body["state"]) == (5500, "makegood", "settled")
    cpa = await _live_order(tenant, pricing_model="cpa", cpm_cents=None, cpa_cents=500)
    unpriced = await open_makegood(tenant_id, cpa.io, 3000, 800, None)
    with tenant.client("sales") as api:
        assert [e["field"] for e in _settle(api, unpriced, 422, settlement="credit")["errors"]] == ["credit_cents"]
        _settle(api, unpriced, 422, settlement="credit", credit_cents=-1)
        assert _settle(api, unpriced, 200, settlement="credit", credit_cents=0)["credit_cents"] == 0


async def test_only_bookings_writers_of_the_workspace_settle(
    db: Database, tenant: Tenant, other: Tenant, anon: httpx.Client
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    order = await _live_order(tenant, sponsor_id=_sponsor_of_advertiser(tenant))
    makegood_id = await open_makegood(tenant_id, order.io, 3000, 800, 5500)
    path = f"/api/v1/makegoods/{makegood_id}/settle"
    _settle(anon, makegood_id, 401, settlement="credit")
    for role in ("creator", "advertiser"):
        with tenant.client(role) as api:
            assert api.post(path, json={"settlement": "credit"}).status_code == 403
    with other.client("sales") as api:
        assert api.post(path, json={"settlement": "credit"}).status_code == 404
    assert (await io_row(tenant_id, order.io)).status == "makegood"
    with tenant.client("owner") as api:
        assert api.post(path, json={"settlement": "credit"}).status_code == 200


async def test_the_endpoints_are_not_found_when_io_bookings_are_switched_off(db: Database, server: str) -> None:
    workspace = make_tenant(server)
    order = await _live_order(workspace)
    with workspace.client() as api:
        assert api.put("/api/v1/feature-flags/ENABLE_IO_BOOKINGS", json={"enabled": False}).status_code == 200
        for path in (
            f"/api/v1/io/{order.io}/delivery",
            f"/api/v1/campaigns/{order.campaign}/delivery",
            "/api/v1/makegoods",
        ):
            assert api.get(path).status_code == 404
        assert api.put("/api/v1/feature-flags/ENABLE_IO_BOOKINGS", json={"enabled": None}).status_code == 200
        assert api.get(f"/api/v1/io/{order.io}/delivery").status_code == 200
