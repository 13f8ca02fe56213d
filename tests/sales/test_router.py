"""Sponsors and campaigns (deals) over REST: rules, roles, advertiser scoping, tenants, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories.identity import Tenant, make_tenant

WRITE_ROLES_DENIED = ("ops", "creator", "advertiser")


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "ops", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def add_sponsor(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Sponsor"), "industry": "beverages", **fields}
    response = api.post("/api/v1/sponsors", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_campaign(api: httpx.Client, sponsor_id: str, **fields: Any) -> dict[str, Any]:
    body = {"sponsor_id": sponsor_id, "name": unique("Deal"), "value_cents": 250_000, **fields}
    response = api.post("/api/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def fields_of(response: httpx.Response) -> set[str]:
    return {str(e["field"]) for e in response.json()["errors"]}


def events_of(api: httpx.Client, kind: str, subject_id: str) -> list[dict[str, Any]]:
    events = api.get("/api/v1/events", params={"type": kind, "limit": 200}).json()["items"]
    return [e for e in events if e["subject_id"] == subject_id]


def test_sales_user_adds_changes_and_removes_a_sponsor(tenant: Tenant) -> None:
    name = unique("Brightside Coffee")
    with tenant.client("sales") as api:
        created = api.post(
            "/api/v1/sponsors",
            json={
                "name": name,
                "industry": "beverages",
                "website_url": "https://brightside.example",
                "contact_email": "ads@brightside.example",
                "target_geo": ["us", "ca", "US"],
                "target_demo": {"age": ["25-34"], "gender": "any"},
                "target_topics": ["business", " comedy "],
                "brand_safety": "strict",
                "notes": "met at the upfronts",
            },
        )
        assert created.status_code == 201, created.text
        sponsor = created.json()
        assert sponsor["target_geo"] == ["US", "CA"]
        assert sponsor["target_topics"] == ["business", "comedy"]
        assert sponsor["brand_safety"] == "strict"
        assert api.get(f"/api/v1/sponsors/{sponsor['id']}").json()["name"] == name
        found = api.get("/api/v1/sponsors", params={"q": name.split()[-1]}).json()
        assert [s["id"] for s in found["items"]] == [sponsor["id"]]
        patched = api.patch(f"/api/v1/sponsors/{sponsor['id']}", json={"brand_safety": "moderate", "website_url": None})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["brand_safety"], patched.json()["website_url"]) == ("moderate", None)
        assert api.delete(f"/api/v1/sponsors/{sponsor['id']}").status_code == 204
        assert api.get(f"/api/v1/sponsors/{sponsor['id']}").status_code == 404
        assert api.get("/api/v1/sponsors", params={"q": name}).json()["total"] == 0
        assert events_of(api, "sponsor.created", sponsor["id"])[0]["payload"] == {"name": name, "industry": "beverages"}
        assert events_of(api, "sponsor.updated", sponsor["id"])[0]["payload"] == {
            "fields": ["brand_safety", "website_url"]
        }
        assert len(events_of(api, "sponsor.deleted", sponsor["id"])) == 1


def test_sponsor_list_filters_sorts_and_caps_its_pages(tenant: Tenant) -> None:
    industry = unique("podcast-tools")
    with tenant.client("sales") as api:
        names = [
            add_sponsor(api, name=f"{n} {industry}", industry=industry)["name"] for n in ("bravo", "Alpha", "charlie")
        ]
        listed = api.get("/api/v1/sponsors", params={"industry": industry.upper(), "sort": "name"}).json()
        assert [s["name"] for s in listed["items"]] == [names[1], names[0], names[2]]
        descending = api.get("/api/v1/sponsors", params={"industry": industry, "sort": "-name"}).json()
        assert [s["name"] for s in descending["items"]] == [names[2], names[0], names[1]]
        first = api.get("/api/v1/sponsors", params={"industry": industry, "limit": 2}).json()
        assert (len(first["items"]), first["total"], first["next_offset"]) == (2, 3, 2)
        too_many = api.get("/api/v1/sponsors", params={"limit": 201})
        assert too_many.status_code == 422
        assert fields_of(too_many) == {"limit"}
        assert api.get("/api/v1/sponsors", params={"limit": 200}).status_code == 200
        bad_sort = api.get("/api/v1/sponsors", params={"sort": "notes"})
        assert bad_sort.status_code == 422
        assert fields_of(bad_sort) == {"sort"}


def test_duplicate_sponsor_name_is_409_ignoring_case_and_free_again_after_delete(tenant: Tenant) -> None:
    name = unique("Acme Mattress")
    with tenant.client("sales") as api:
        first = add_sponsor(api, name=name)
        again = api.post("/api/v1/sponsors", json={"name": name.upper(), "industry": "sleep"})
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        assert fields_of(again) == {"name"}
        assert again.json()["sponsor_id"] == first["id"]
        second = add_sponsor(api)
        renamed = api.patch(f"/api/v1/sponsors/{second['id']}", json={"name": f"  {name.lower()} "})
        assert renamed.status_code == 409
        assert fields_of(renamed) == {"name"}
        recased = api.patch(f"/api/v1/sponsors/{first['id']}", json={"name": name.lower()})
        assert recased.status_code == 200
        assert recased.json()["name"] == name.lower()
        assert api.delete(f"/api/v1/sponsors/{first['id']}").status_code == 204
        assert api.post("/api/v1/sponsors", json={"name": name, "industry": "sleep"}).status_code == 201


def test_sponsor_names_are_unique_per_tenant_only(tenant: Tenant, other: Tenant) -> None:
    name = unique("Shared Name")
    with tenant.client("sales") as mine, other.client("sales") as theirs:
        add_sponsor(mine, name=name)
        assert theirs.post("/api/v1/sponsors", json={"name": name, "industry": "x"}).status_code == 201


def test_bad_sponsor_input_is_422_naming_each_field(tenant: Tenant) -> None:
    with tenant.client("sales") as api:
        response = api.post(
            "/api/v1/sponsors",
            json={
                "name": "",
                "industry": "software",
                "website_url": "not a url",
                "contact_email": "nobody",
                "target_geo": ["US", "XX", "USA"],
                "brand_safety": "reckless",
                "target_topics": [""],
                "owner_id": "hijack",
            },
        )
        assert response.status_code == 422
        assert fields_of(response) >= {
            "name",
            "website_url",
            "contact_email",
            "target_geo",
            "brand_safety",
            "target_topics",
            "owner_id",
        }
        geo = next(e for e in response.json()["errors"] if e["field"] == "target_geo")
        assert "XX" in geo["reason"]
        assert "USA" in geo["reason"]
        sponsor = add_sponsor(api)
        cleared = api.patch(f"/api/v1/sponsors/{sponsor['id']}", json={"name": None, "industry": None})
        assert cleared.status_code == 422
        assert fields_of(cleared) == {"name", "industry"}
        not_uuid = api.get("/api/v1/sponsors/not-a-uuid")
        assert not_uuid.status_code == 422
        assert fields_of(not_uuid) == {"path.sponsor_id"}


def test_campaign_is_created_with_its_stage_and_logged(tenant: Tenant) -> None:
    with tenant.client("sales") as api:
        sponsor = add_sponsor(api)
        response = api.post(
            "/api/v1/campaigns",
            json={
                "sponsor_id": sponsor["id"],
                "seller_id": tenant.user_ids["sales"],
                "name": "Q3 host-read flight",
                "stage": "proposal",
                "value_cents": 1_250_000,
                "currency": "eur",
                "probability": 0.4,
                "expected_close": "2027-03-31",
                "notes": "wants mid-rolls only",
            },
        )
        assert response.status_code == 201, response.text
        deal = response.json()
        assert (deal["stage"], deal["currency"], deal["probability"]) == ("proposal", "EUR", 0.4)
        assert deal["seller_id"] == tenant.user_ids["sales"]
        stage_changed = datetime.fromisoformat(deal["stage_changed_at"])
        assert abs(stage_changed - datetime.now(UTC)) < timedelta(minutes=1)
        assert api.get(f"/api/v1/campaigns/{deal['id']}").json()["expected_close"] == "2027-03-31"
        logged = events_of(api, "campaign.created", deal["id"])
        assert len(logged) == 1
        assert logged[0]["payload"]["stage"] == "proposal"
        assert logged[0]["actor_user_id"] == tenant.user_ids["sales"]


def test_campaign_is_changed_and_removed_with_events(tenant: Tenant) -> None:
    with tenant.client("sales") as api:
        deal = add_campaign(api, add_sponsor(api)["id"])
        patched = api.patch(f"/api/v1/campaigns/{deal['id']}", json={"value_cents": 900_000, "probability": None})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["value_cents"], patched.json()["probability"]) == (900_000, None)
        assert patched.json()["stage_changed_at"] == deal["stage_changed_at"]
        assert api.delete(f"/api/v1/campaigns/{deal['id']}").status_code == 204
        assert api.get(f"/api/v1/campaigns/{deal['id']}").status_code == 404
        assert api.patch(f"/api/v1/campaigns/{deal['id']}", json={"name": "x"}).status_code == 404
        updated = events_of(api, "campaign.updated", deal["id"])
        assert updated[0]["payload"] == {"fields": ["probability", "value_cents"]}
        assert len(events_of(api, "campaign.deleted", deal["id"])) == 1


def test_patch_cannot_move_the_stage(tenant: Tenant) -> None:
    with tenant.client("sales") as api:
        deal = add_campaign(api, add_sponsor(api)["id"])
        response = api.patch(f"/api/v1/campaigns/{deal['id']}", json={"stage": "won", "name": "Renamed"})
        assert response.status_code == 422
        error = next(e for e in response.json()["errors"] if e["field"] == "stage")
        assert "own endpoint" in error["reason"]
        unchanged = api.get(f"/api/v1/campaigns/{deal['id']}").json()
        assert (unchanged["stage"], unchanged["name"]) == ("lead", deal["name"])


def test_campaign_list_filters_by_sponsor_stage_and_text(tenant: Tenant) -> None:
    with tenant.client("sales") as api:
        sponsor = add_sponsor(api)
        lead = add_campaign(api, sponsor["id"], name="Spring launch", value_cents=100)
        won = add_campaign(api, sponsor["id"], name="Summer push", stage="won", value_cents=300)
        lost = add_campaign(api, sponsor["id"], name="Autumn idea", stage="lost", value_cents=200)
        add_campaign(api, add_sponsor(api)["id"], stage="won")
        params: list[tuple[str, str | int]] = [("sponsor_id", sponsor["id"]), ("stage", "won"), ("stage", "lost")]
        both = api.get("/api/v1/campaigns", params=[*params, ("sort", "-value_cents")]).json()
        assert [c["id"] for c in both["items"]] == [won["id"], lost["id"]]
        spring = api.get("/api/v1/campaigns", params={"sponsor_id": sponsor["id"], "q": "SPRING"}).json()
        assert [c["id"] for c in spring["items"]] == [lead["id"]]
        by_value = api.get("/api/v1/campaigns", params={"sponsor_id": sponsor["id"], "sort": "value_cents"}).json()
        assert [c["id"] for c in by_value["items"]] == [lead["id"], lost["id"], won["id"]]
        bad = api.get("/api/v1/campaigns", params={"stage": "closed", "sort": "notes", "limit": 0})
        assert bad.status_code == 422
        assert "query.stage.0" in fields_of(bad)
        capped = api.get("/api/v1/campaigns", params={"limit": 201, "sort": "notes"})
        assert capped.status_code == 422
        assert fields_of(capped) == {"limit", "sort"}
        unknown_sponsor = api.get("/api/v1/campaigns", params={"sponsor_id": str(uuid.uuid4())})
        assert unknown_sponsor.status_code == 404


def test_bad_campaign_input_is_422_naming_each_field(tenant: Tenant) -> None:
    with tenant.client("sales") as api:
        sponsor = add_sponsor(api)
        response = api.post(
            "/api/v1/campaigns",
            json={
                "sponsor_id": sponsor["id"],
                "name": "",
                "stage": "closed",
                "value_cents": -1,
                "currency": "dollars",
                "probability": 1.5,
                "expected_close": "soon",
            },
        )
        assert response.status_code == 422
        assert fields_of(response) == {"name", "stage", "value_cents", "currency", "probability", "expected_close"}
        missing = api.post("/api/v1/campaigns", json={"name": "No sponsor"})
        assert missing.status_code == 422
        assert fields_of(missing) == {"sponsor_id"}
        deal = add_campaign(api, sponsor["id"])
        cleared = api.patch(f"/api/v1/campaigns/{deal['id']}", json={"sponsor_id": None, "value_cents": 1.5})
        assert cleared.status_code == 422
        assert fields_of(cleared) == {"sponsor_id", "value_cents"}


def test_campaign_pointing_into_another_tenant_is_422_not_500(tenant: Tenant, other: Tenant) -> None:
    with tenant.client("sales") as api, other.client() as theirs:
        foreign_sponsor = add_sponsor(theirs)
        response = api.post(
            "/api/v1/campaigns",
            json={"sponsor_id": foreign_sponsor["id"], "seller_id": other.user_ids["sales"], "name": "Poached"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert fields_of(response) == {"sponsor_id", "seller_id"}
        made_up = api.post("/api/v1/campaigns", json={"sponsor_id": str(uuid.uuid4()), "name": "Ghost"})
        assert made_up.status_code == 422
        assert fields_of(made_up) == {"sponsor_id"}
        deal = add_campaign(api, add_sponsor(api)["id"])
        moved = api.patch(f"/api/v1/campaigns/{deal['id']}", json={"sponsor_id": foreign_sponsor["id"]})
        assert moved.status_code == 422
        assert fields_of(moved) == {"sponsor_id"}


def test_campaign_of_a_deleted_sponsor_is_refused_and_deleting_a_sponsor_removes_its_campaigns(
    tenant: Tenant,
) -> None:
    with tenant.client("sales") as api:
        sponsor = add_sponsor(api)
        deal = add_campaign(api, sponsor["id"])
        assert api.delete(f"/api/v1/sponsors/{sponsor['id']}").status_code == 204
        assert api.get(f"/api/v1/campaigns/{deal['id']}").status_code == 404
        late = api.post("/api/v1/campaigns", json={"sponsor_id": sponsor["id"], "name": "Too late"})
        assert late.status_code == 422
        assert fields_of(late) == {"sponsor_id"}


ENDPOINTS = [
    ("POST", "/api/v1/sponsors"),
    ("GET", "/api/v1/sponsors"),
    ("GET", "/api/v1/sponsors/{id}"),
    ("PATCH", "/api/v1/sponsors/{id}"),
    ("DELETE", "/api/v1/sponsors/{id}"),
    ("POST", "/api/v1/campaigns"),
    ("GET", "/api/v1/campaigns"),
    ("GET", "/api/v1/campaigns/{id}"),
    ("PATCH", "/api/v1/campaigns/{id}"),
    ("DELETE", "/api/v1/campaigns/{id}"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_is_401_everywhere(anon: httpx.Client, method: str, path: str) -> None:
    response = anon.request(method, path.format(id=uuid.uuid4()), json={})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/not-authenticated")


def test_another_tenants_sponsor_and_campaign_are_404(tenant: Tenant, other: Tenant) -> None:
    with tenant.client("sales") as api, other.client() as intruder:
        sponsor = add_sponsor(api)
        deal = add_campaign(api, sponsor["id"])
        for path in (f"/api/v1/sponsors/{sponsor['id']}", f"/api/v1/campaigns/{deal['id']}"):
            assert intruder.get(path).status_code == 404
            assert intruder.patch(path, json={"name": "Taken over"}).status_code == 404
            assert intruder.delete(path).status_code == 404
        assert intruder.get("/api/v1/campaigns", params={"sponsor_id": sponsor["id"]}).status_code == 404
        assert sponsor["id"] not in intruder.get("/api/v1/sponsors", params={"limit": 200}).text
        assert deal["id"] not in intruder.get("/api/v1/campaigns", params={"limit": 200}).text
        assert api.get(f"/api/v1/campaigns/{deal['id']}").json()["name"] == deal["name"]


@pytest.mark.parametrize("role", WRITE_ROLES_DENIED)
def test_roles_without_sales_write_can_read_but_not_write(tenant: Tenant, role: str) -> None:
    with tenant.client("owner") as owner, tenant.client(role) as api:
        sponsor = add_sponsor(owner)
        deal = add_campaign(owner, sponsor["id"])
        writes = [
            api.post("/api/v1/sponsors", json={"name": unique("Nope"), "industry": "x"}),
            api.patch(f"/api/v1/sponsors/{sponsor['id']}", json={"name": "Nope"}),
            api.delete(f"/api/v1/sponsors/{sponsor['id']}"),
            api.post("/api/v1/campaigns", json={"sponsor_id": sponsor["id"], "name": "Nope"}),
            api.patch(f"/api/v1/campaigns/{deal['id']}", json={"name": "Nope"}),
            api.delete(f"/api/v1/campaigns/{deal['id']}"),
        ]
        assert [w.status_code for w in writes] == [403] * 6
        assert api.get("/api/v1/sponsors").status_code == 200
        assert api.get("/api/v1/campaigns").status_code == 200
        assert owner.get(f"/api/v1/campaigns/{deal['id']}").json()["name"] == deal["name"]


def test_advertiser_sees_only_its_own_sponsor_and_campaigns(tenant: Tenant) -> None:
    with tenant.client("owner") as owner, tenant.client("advertiser") as advertiser:
        own_id = advertiser.get("/api/v1/me").json()["sponsor_id"]
        owner.patch(f"/api/v1/sponsors/{own_id}", json={"notes": "pays late"})
        own_deal = add_campaign(owner, own_id, notes="floor is 20 CPM")
        rival = add_sponsor(owner)
        rival_deal = add_campaign(owner, rival["id"])

        sponsors = advertiser.get("/api/v1/sponsors", params={"limit": 200}).json()
        assert [s["id"] for s in sponsors["items"]] == [own_id]
        own = advertiser.get(f"/api/v1/sponsors/{own_id}")
        assert own.status_code == 200
        assert own.json()["notes"] == ""
        assert advertiser.get(f"/api/v1/sponsors/{rival['id']}").status_code == 404

        campaigns = advertiser.get("/api/v1/campaigns", params={"limit": 200}).json()
        assert {c["sponsor_id"] for c in campaigns["items"]} == {own_id}
        assert own_deal["id"] in {c["id"] for c in campaigns["items"]}
        seen = advertiser.get(f"/api/v1/campaigns/{own_deal['id']}")
        assert seen.status_code == 200
        assert seen.json()["notes"] == ""
        assert advertiser.get(f"/api/v1/campaigns/{rival_deal['id']}").status_code == 404
        assert advertiser.get("/api/v1/campaigns", params={"sponsor_id": rival["id"]}).status_code == 404
        assert owner.get(f"/api/v1/campaigns/{own_deal['id']}").json()["notes"] == "floor is 20 CPM"
