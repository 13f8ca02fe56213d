"""A show's ad units over REST: the default rate card, changes, soft removal refused under live IOs, roles, tenants."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.bookings.booking_world import add_deal, add_show, book, io_body, ok, problem, set_status
from tests.factories.identity import Tenant, make_tenant


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "ops", "creator", "advertiser"))


@pytest.fixture(scope="module")
def show_id(tenant: Tenant) -> str:
    with tenant.client() as owner:
        return str(ok(owner.post("/api/v1/podcasts", json={"title": "Rate card show"}))["id"])


@pytest.mark.parametrize(
    ("position", "length", "cpm_cents", "name"),
    [
        ("mid", 60, 2500, "Mid-roll :60 host read"),
        ("pre", 60, 2000, "Pre-roll :60 host read"),
        ("post", 60, 1800, "Post-roll :60 host read"),
        ("mid", 30, 1800, "Mid-roll :30 host read"),
        ("pre", 15, 1000, "Pre-roll :15 host read"),
        ("mid", 90, 3250, "Mid-roll :90 host read"),
    ],
)
def test_an_ad_unit_without_a_rate_gets_the_default_rate_card(
    tenant: Tenant, show_id: str, position: str, length: int, cpm_cents: int, name: str
) -> None:
    with tenant.client("sales") as api:
        unit = ok(
            api.post(f"/api/v1/podcasts/{show_id}/ad-units", json={"position": position, "length_seconds": length})
        )
    assert (unit["rate_cpm_cents"], unit["name"], unit["podcast_id"]) == (cpm_cents, name, show_id)
    assert (unit["read_type"], unit["insertion"], unit["flat_rate_cents"]) == ("host_read", "baked_in", None)


def test_an_ad_unit_is_added_read_changed_and_removed(tenant: Tenant, show_id: str) -> None:
    body = {
        "name": "Sponsor read",
        "position": "pre",
        "length_seconds": 30,
        "read_type": "announcer",
        "insertion": "dynamic",
        "rate_cpm_cents": 3100,
        "flat_rate_cents": 45_000,
    }
    with tenant.client("ops") as api:
        unit = ok(api.post(f"/api/v1/podcasts/{show_id}/ad-units", json=body))
        assert {k: unit[k] for k in body} == body
        assert ok(api.get(f"/api/v1/ad-units/{unit['id']}"), 200) == unit
        listed = ok(api.get(f"/api/v1/podcasts/{show_id}/ad-units", params={"limit": 200}), 200)
        assert unit["id"] in {u["id"] for u in listed["items"]}
        changed = ok(
            api.patch(f"/api/v1/ad-units/{unit['id']}", json={"rate_cpm_cents": 2900, "flat_rate_cents": None}), 200
        )
        assert (changed["rate_cpm_cents"], changed["flat_rate_cents"], changed["name"]) == (2900, None, "Sponsor read")
        assert api.delete(f"/api/v1/ad-units/{unit['id']}").status_code == 204
        problem(api.get(f"/api/v1/ad-units/{unit['id']}"), 404, "not-found")
        listed = ok(api.get(f"/api/v1/podcasts/{show_id}/ad-units", params={"limit": 200}), 200)
        assert unit["id"] not in {u["id"] for u in listed["items"]}
        kinds = [
            e["type"]
            for e in api.get("/api/v1/events", params={"limit": 200}).json()["items"]
            if e["subject_id"] == unit["id"]
        ]
        assert sorted(kinds) == ["ad_unit.created", "ad_unit.deleted", "ad_unit.updated"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"position": "middle", "length_seconds": 60}, "position"),
        ({"position": "mid", "length_seconds": 45}, "length_seconds"),
        ({"position": "mid", "length_seconds": 60, "read_type": "robot"}, "read_type"),
        ({"position": "mid", "length_seconds": 60, "insertion": "stitched"}, "insertion"),
        ({"position": "mid", "length_seconds": 60, "rate_cpm_cents": -1}, "rate_cpm_cents"),
        ({"position": "mid", "length_seconds": 60, "rate_cpm_cents": 25.5}, "rate_cpm_cents"),
        ({"position": "mid", "length_seconds": 60, "flat_rate_cents": -5}, "flat_rate_cents"),
        ({"length_seconds": 60}, "position"),
    ],
)
def test_bad_ad_units_are_refused_naming_the_field(
    tenant: Tenant, show_id: str, fields: dict[str, Any], field: str
) -> None:
    with tenant.client("sales") as api:
        refused = problem(api.post(f"/api/v1/podcasts/{show_id}/ad-units", json=fields), 422, "validation-error")
    assert field in {e["field"] for e in refused["errors"]}


async def test_an_ad_unit_under_live_ios_keeps_its_shape_and_cannot_be_removed(db: Any, tenant: Tenant) -> None:
    with tenant.client() as owner:
        show, deal = add_show(owner), add_deal(owner)
    with tenant.client("sales") as api:
        io = book(api, io_body(show, deal))
        in_use = problem(api.delete(f"/api/v1/ad-units/{show.mid}"), 409, "ad-unit-in-use")
        assert in_use["ios"] == [{"id": io["id"], "number": io["number"]}]
        assert io["number"] in in_use["detail"]
        reshaped = problem(
            api.patch(f"/api/v1/ad-units/{show.mid}", json={"length_seconds": 30}), 409, "ad-unit-in-use"
        )
        assert "length_seconds" in reshaped["detail"]
        assert (
            ok(api.patch(f"/api/v1/ad-units/{show.mid}", json={"rate_cpm_cents": 2700}), 200)["rate_cpm_cents"] == 2700
        )
        await set_status(tenant, io["id"], "makegood")
        problem(api.delete(f"/api/v1/ad-units/{show.mid}"), 409, "ad-unit-in-use")
        await set_status(tenant, io["id"], "completed")
        assert api.delete(f"/api/v1/ad-units/{show.mid}").status_code == 204
        # The finished order still shows what it booked.
        assert ok(api.get(f"/api/v1/io/{io['id']}"), 200)["ad_unit_id"] == show.mid
        removed = problem(post_unit_io(api, show, deal), 422, "invalid-booking")
        assert {e["field"] for e in removed["errors"]} == {"ad_unit_id"}


def post_unit_io(api: Any, show: Any, deal: Any) -> Any:
    return api.post(
        "/api/v1/io", json=io_body(show, deal, episode_ids=[]), headers={"Idempotency-Key": str(uuid.uuid4())}
    )


def test_sales_and_ops_keep_the_rate_card_and_the_others_read_it(tenant: Tenant, show_id: str) -> None:
    with tenant.client("sales") as api:
        unit = ok(api.post(f"/api/v1/podcasts/{show_id}/ad-units", json={"position": "mid", "length_seconds": 60}))
    for role in ("creator", "advertiser"):
        with tenant.client(role) as api:
            assert ok(api.get(f"/api/v1/ad-units/{unit['id']}"), 200)["id"] == unit["id"]
            assert ok(api.get(f"/api/v1/podcasts/{show_id}/ad-units"), 200)["total"] >= 1
            body = {"position": "mid", "length_seconds": 60}
            problem(api.post(f"/api/v1/podcasts/{show_id}/ad-units", json=body), 403, "forbidden")
            problem(api.patch(f"/api/v1/ad-units/{unit['id']}", json={"name": "x"}), 403, "forbidden")
            problem(api.delete(f"/api/v1/ad-units/{unit['id']}"), 403, "forbidden")


def test_another_workspaces_shows_and_ad_units_are_not_found(server: str, tenant: Tenant, show_id: str) -> None:
    refused: list[int] = []
    with tenant.client("sales") as api:
        unit = ok(api.post(f"/api/v1/podcasts/{show_id}/ad-units", json={"position": "mid", "length_seconds": 60}))
    stranger = make_tenant(server, roles=("owner", "sales"))
    with stranger.client("sales") as api:
        refused.append(problem(api.get(f"/api/v1/ad-units/{unit['id']}"), 404, "not-found")["status"])
        refused.append(
            problem(api.patch(f"/api/v1/ad-units/{unit['id']}", json={"name": "mine"}), 404, "not-found")["status"]
        )
        refused.append(problem(api.delete(f"/api/v1/ad-units/{unit['id']}"), 404, "not-found")["status"])
        refused.append(problem(api.get(f"/api/v1/podcasts/{show_id}/ad-units"), 404, "not-found")["status"])
        body = {"position": "mid", "length_seconds": 60}
        refused.append(problem(api.post(f"/api/v1/podcasts/{show_id}/ad-units", json=body), 404, "not-found")["status"])

    assert refused == [404, 404, 404, 404, 404]
