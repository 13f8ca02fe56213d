"""The server-to-server conversions API over real HTTP: recorded once per Idempotency-Key (replays, a reused key,
concurrent copies) and once per order; values checked and named; only an active `api` source of the caller's own
workspace; who may post and who may list (advertisers see their own sponsor only); the list's filters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.world import (
    IPHONE,
    SHOPPER_IP,
    add_source,
    add_sponsor,
    as_owner,
    conversions,
    keyed,
    source_row,
)
from tests.factories.identity import Tenant, make_tenant

ROLES = ("owner", "admin", "sales", "ops", "creator", "advertiser")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=ROLES)


@pytest.fixture(scope="module")
def rival(server: str) -> Tenant:
    return make_tenant(server, name="Rival Network")


@pytest.fixture
def source(tenant: Tenant) -> dict[str, Any]:
    with tenant.client() as api:
        return add_source(api, add_sponsor(api), "api")


@pytest.fixture
def api(tenant: Tenant) -> Iterator[httpx.Client]:
    with tenant.client("sales") as client:
        yield client


def conversion(source: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "source_id": source["id"],
        "order_id": f"ORD-{uuid.uuid4().hex[:8]}",
        "occurred_at": "2026-03-02T14:30:00+01:00",
        "value": "49.99",
        "currency": "usd",
        "promo_codes": ["brew20", " BREW20 "],
        "landing_url": "https://shop.example.com/?utm_source=podcast&utm_campaign=IO-2026-0007",
        "ip": SHOPPER_IP,
        "user_agent": IPHONE,
        "referrer": "https://podcasts.example/episode/12",
        **fields,
    }


def post(client: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/v1/conversions", json=body, headers=headers)


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return dict(response.json())


def fields_of(response: httpx.Response) -> dict[str, str]:
    return {str(error["field"]): str(error["reason"]) for error in response.json()["errors"]}


def test_a_posted_conversion_is_stored_with_hashes_only_and_a_retry_replays_it(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    body = conversion(source)
    key = str(uuid.uuid4())
    first = post(api, body, key)
    assert first.status_code == 201, first.text
    answered = first.json()
    assert answered["status"] == "stored"
    assert (answered["value"], answered["value_cents"], answered["currency"]) == ("49.99", 4999, "USD")
    assert answered["promo_codes"] == ["BREW20"]
    assert answered["utm"] == {"utm_source": "podcast", "utm_campaign": "IO-2026-0007"}
    assert answered["occurred_at"] == "2026-03-02T13:30:00Z"
    assert (answered["ua_family"], answered["country"], answered["sponsor_id"]) == ("iOS", "GB", source["sponsor_id"])
    assert "ip" not in answered and "ip_hash" not in answered
    [stored] = conversions(database, source)
    assert (stored["ip_hash"], stored["ua_hash"]) == (keyed(SHOPPER_IP), keyed(IPHONE))
    assert str(stored["id"]) == answered["id"]

    retry = post(api, body, key)
    assert retry.status_code == 201
    assert retry.json() == answered
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(conversions(database, source)) == 1
    assert source_row(database, source)["events_received"] == 1


def test_a_key_used_again_with_another_body_is_refused_and_a_missing_key_is_asked_for(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    key = str(uuid.uuid4())
    assert post(api, conversion(source, order_id="K-1"), key).status_code == 201
    reused = problem_of(post(api, conversion(source, order_id="K-2"), key), 422)
    assert reused["type"].endswith("/idempotency-key-reused")
    missing = problem_of(post(api, conversion(source, order_id="K-3")), 400)
    assert missing["type"].endswith("/idempotency-key-missing")
    assert missing["errors"][0]["field"] == "Idempotency-Key"
    malformed = problem_of(post(api, conversion(source, order_id="K-4"), "not a key"), 422)
    assert malformed["errors"][0]["field"] == "Idempotency-Key"
    assert [c["order_id"] for c in conversions(database, source)] == ["K-1"]


def test_an_order_sent_again_under_a_new_key_is_the_same_conversion(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    body = conversion(source)
    first = post(api, body, str(uuid.uuid4()))
    again = post(api, {**body, "value": "59.99"}, str(uuid.uuid4()))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "duplicate_order"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["value"] == "49.99"  # the order as first recorded
    assert len(conversions(database, source)) == 1


async def test_concurrent_copies_record_one_conversion(
    server: str, tenant: Tenant, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {tenant.tokens['ops']}"}
    same_key, same_order = str(uuid.uuid4()), conversion(source)
    other_order = conversion(source)
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=60) as client:
        copies = await asyncio.gather(
            *(
                client.post("/api/v1/conversions", json=same_order, headers={"Idempotency-Key": same_key})
                for _ in range(8)
            )
        )
        keys = await asyncio.gather(
            *(
                client.post("/api/v1/conversions", json=other_order, headers={"Idempotency-Key": str(uuid.uuid4())})
                for _ in range(8)
            )
        )
    assert [r.status_code for r in copies] == [201] * 8
    assert len({r.json()["id"] for r in copies}) == 1
    assert sorted(r.status_code for r in keys) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in keys}) == 1
    assert len(conversions(database, source)) == 2


def test_bad_values_are_named_and_nothing_is_kept(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    typed = post(
        api,
        conversion(source, value=49.99, ip="999.0.0.1", kind="refund", promo_codes=["X" * 101], extra="no"),
        str(uuid.uuid4()),
    )
    problem_of(typed, 422)
    assert set(fields_of(typed)) == {"value", "ip", "kind", "promo_codes.0", "extra"}
    assert fields_of(typed)["ip"] == "Value error, not an IP address"
    nul = post(api, conversion(source, order_id="A\u0000B"), str(uuid.uuid4()))
    assert fields_of(nul) == {"order_id": "Value error, contains a NUL character"}
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    future = post(api, conversion(source, occurred_at=ahead), str(uuid.uuid4()))
    assert fields_of(future) == {"occurred_at": "more than a day in the future"}
    # Malformed input is refused before it reaches the source; a conversion that cannot be is its health's concern.
    assert (
        source_row(database, source)["last_failure_reason"] == "API: field occurred_at: more than a day in the future"
    )

    values = post(api, conversion(source, value="4O.00", currency="US"), str(uuid.uuid4()))
    body = problem_of(values, 422)
    assert body["type"].endswith("/conversion-invalid")
    assert fields_of(values) == {"value": "not a number", "currency": "an ISO 4217 code of three letters, e.g. USD"}
    no_currency = post(api, conversion(source, currency=None), str(uuid.uuid4()))
    assert fields_of(no_currency) == {"currency": "required with a value"}
    assert conversions(database, source) == []
    health = source_row(database, source)
    assert health["last_failure_reason"] == "API: field currency: required with a value"
    assert (health["events_received"], health["signature_failures"]) == (0, 0)


def test_only_an_active_api_source_of_the_callers_workspace_takes_conversions(
    api: httpx.Client, tenant: Tenant, rival: Tenant, database: DatabaseUrls
) -> None:
    with tenant.client() as owner:
        sponsor = add_sponsor(owner)
        pixel = add_source(owner, sponsor, "pixel")
        paused = add_source(owner, sponsor, "api")
        assert owner.patch(f"/api/v1/conversion-sources/{paused['id']}", json={"active": False}).status_code == 200
    with rival.client() as other:
        theirs = add_source(other, add_sponsor(other), "api")
    cases = {
        pixel["id"]: "a pixel source; conversions here go to a source of kind api",
        paused["id"]: "the source is deactivated; reactivate it first",
        theirs["id"]: "no such conversion source in this workspace",
        str(uuid.uuid4()): "no such conversion source in this workspace",
    }
    for source_id, reason in cases.items():
        response = post(api, conversion({"id": source_id}), str(uuid.uuid4()))
        body = problem_of(response, 422)
        assert body["type"].endswith("/conversion-source-not-usable")
        assert fields_of(response) == {"source_id": reason}
    for untouched in (pixel, paused, theirs):
        assert conversions(database, untouched) == []
        assert source_row(database, untouched)["last_failure_reason"] is None


def test_who_may_post_and_list(server: str, tenant: Tenant, source: dict[str, Any]) -> None:
    anonymous = httpx.post(f"{server}/api/v1/conversions", json=conversion(source), headers={"Idempotency-Key": "a"})
    assert problem_of(anonymous, 401)
    assert httpx.get(f"{server}/api/v1/conversions").status_code == 401
    for role in ("owner", "admin", "sales", "ops"):
        with tenant.client(role) as client:
            assert post(client, conversion(source), str(uuid.uuid4())).status_code == 201, role
            assert client.get("/api/v1/conversions", params={"source_id": source["id"]}).json()["total"] >= 1
    with tenant.client("creator") as creator:
        assert problem_of(post(creator, conversion(source), str(uuid.uuid4())), 403)
        assert creator.get("/api/v1/conversions").status_code == 403
    with tenant.client("advertiser") as advertiser:
        assert problem_of(post(advertiser, conversion(source), str(uuid.uuid4())), 403)


def test_api_keys_need_the_write_scope(server: str, tenant: Tenant, source: dict[str, Any]) -> None:
    with tenant.client() as owner:
        writer = owner.post("/api/v1/api-keys", json={"name": "shop server", "scopes": ["attribution:write"]})
        reader = owner.post("/api/v1/api-keys", json={"name": "report", "scopes": ["attribution:read"]})
    assert writer.status_code == reader.status_code == 201
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {writer.json()['token']}"}) as key:
        assert post(key, conversion(source), str(uuid.uuid4())).status_code == 201
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {reader.json()['token']}"}) as key:
        assert post(key, conversion(source), str(uuid.uuid4())).status_code == 403
        assert key.get("/api/v1/conversions", params={"source_id": source["id"]}).json()["total"] == 1


def test_advertisers_and_other_workspaces_see_only_their_own(
    tenant: Tenant, rival: Tenant, database: DatabaseUrls
) -> None:
    with tenant.client("advertiser") as advertiser:
        [own] = advertiser.get("/api/v1/sponsors").json()["items"]
    with tenant.client() as owner:
        theirs = add_source(owner, own["id"], "api")
        others = add_source(owner, add_sponsor(owner), "api")
        for source in (theirs, others):
            assert post(owner, conversion(source), str(uuid.uuid4())).status_code == 201
    with tenant.client("advertiser") as advertiser:
        listed = advertiser.get("/api/v1/conversions", params={"limit": 200}).json()
        assert {item["sponsor_id"] for item in listed["items"]} == {own["id"]}
        assert [item["source_id"] for item in listed["items"]] == [theirs["id"]]
        assert advertiser.get("/api/v1/conversions", params={"source_id": others["id"]}).json()["total"] == 0
    with rival.client() as other:
        assert other.get("/api/v1/conversions", params={"source_id": theirs["id"]}).json()["total"] == 0
        # Naming another workspace's source to post into is refused as if it did not exist.
        refused = post(other, conversion(theirs), str(uuid.uuid4()))
        assert fields_of(refused) == {"source_id": "no such conversion source in this workspace"}
    assert len(conversions(database, theirs)) == 1


def test_the_list_filters_by_sponsor_source_kind_and_time_and_pages(
    api: httpx.Client, tenant: Tenant, source: dict[str, Any]
) -> None:
    with tenant.client() as owner:
        other = add_source(owner, add_sponsor(owner), "api")
    times = ["2026-01-05T10:00:00Z", "2026-01-10T10:00:00Z", "2026-01-15T10:00:00Z"]
    for at in times:
        assert post(api, conversion(source, occurred_at=at), str(uuid.uuid4())).status_code == 201
    assert post(api, conversion(source, kind="lead", value=None, currency=None), str(uuid.uuid4())).status_code == 201
    assert post(api, conversion(other), str(uuid.uuid4())).status_code == 201

    def listed(**params: Any) -> dict[str, Any]:
        response = api.get("/api/v1/conversions", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    window = listed(source_id=source["id"], since="2026-01-06T00:00:00Z", until="2026-01-15T10:00:00Z")
    assert [item["occurred_at"] for item in window["items"]] == ["2026-01-10T10:00:00Z"]
    by_sponsor = listed(sponsor_id=source["sponsor_id"], kind="purchase", sort="occurred_at")
    assert [item["occurred_at"] for item in by_sponsor["items"]] == times
    first = listed(source_id=source["id"], limit=2)
    assert (first["total"], len(first["items"]), first["next_offset"]) == (4, 2, 2)
    assert first["items"][0]["kind"] == "lead"  # newest first: it happened when it arrived
    rest = listed(source_id=source["id"], limit=2, offset=2)
    assert rest["next_offset"] is None
    assert {item["id"] for item in first["items"]}.isdisjoint(item["id"] for item in rest["items"])
    bad = api.get("/api/v1/conversions", params={"sort": "order_id", "limit": 0})
    assert {error["field"] for error in problem_of(bad, 422)["errors"]} == {"sort", "limit"}


def test_everything_is_hidden_while_attribution_is_off(server: str, database: DatabaseUrls) -> None:
    tenant = make_tenant(server)
    with tenant.client() as owner:
        source = add_source(owner, add_sponsor(owner), "api")
        assert owner.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": False}).status_code == 200
        assert post(owner, conversion(source), str(uuid.uuid4())).status_code == 404
        assert owner.get("/api/v1/conversions").status_code == 404
    assert as_owner(database, "SELECT count(*) AS n FROM conversions WHERE source_id = %s", source["id"])[0]["n"] == 0
