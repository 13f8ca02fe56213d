"""Conversion sources over REST: what each kind needs, secrets shown once and encrypted at rest, who may do what,
advertiser scoping, and the endpoint URL a shop is given."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from podsponsor.attribution.secrets import decrypt_secret
from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.world import add_source, add_sponsor, as_owner, hook_path, source_row
from tests.conftest import ARTIFACTS
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant

ROLES = ("owner", "admin", "sales", "ops", "creator", "advertiser")
WRITERS = ("owner", "admin", "sales", "ops")
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
SHOPIFY_SECRET = "shpss_" + "0123456789abcdef" * 4
STRIPE_SECRET = "whsec_" + "k3y" * 12


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=ROLES)


@pytest.fixture(scope="module")
def sponsor(tenant: Tenant) -> str:
    with tenant.client() as api:
        return add_sponsor(api)


@pytest.fixture(scope="module")
def advertisers_sponsor(tenant: Tenant) -> str:
    with tenant.client("advertiser") as api:
        [own] = api.get("/api/v1/sponsors").json()["items"]
    return str(own["id"])


def fields_of(response: httpx.Response) -> set[str]:
    return {str(e["field"]) for e in response.json()["errors"]}


def test_a_woocommerce_source_gets_an_endpoint_and_a_generated_secret_shown_once(
    tenant: Tenant, sponsor: str, server: str, database: DatabaseUrls
) -> None:
    with tenant.client("sales") as api:
        created = add_source(api, sponsor, "woocommerce", name="Main store")
        secret = created["secret"]["value"]
        assert created["secret"]["set"] is True
        assert len(secret) >= 40
        assert TOKEN.fullmatch(created["token"])
        assert created["endpoint_url"] == f"{server}/hooks/woocommerce/{created['token']}"
        assert (created["kind"], created["name"], created["active"], created["sponsor_id"]) == (
            "woocommerce",
            "Main store",
            True,
            sponsor,
        )
        assert (created["events_received"], created["signature_failures"], created["last_event_at"]) == (0, 0, None)
        later = [
            api.get(f"/api/v1/conversion-sources/{created['id']}"),
            api.get("/api/v1/conversion-sources", params={"sponsor_id": sponsor, "limit": 200}),
            api.patch(f"/api/v1/conversion-sources/{created['id']}", json={"name": "Main store (EU)"}),
        ]
    for response in later:
        assert response.status_code == 200, response.text
        assert secret not in response.text
    assert later[0].json()["secret"] == {"set": True}
    assert later[2].json()["name"] == "Main store (EU)"
    stored = source_row(database, created)["secret_encrypted"]
    assert secret not in stored
    assert decrypt_secret(stored) == secret


def test_shopify_and_stripe_sources_keep_the_secret_the_platform_gave(
    tenant: Tenant, sponsor: str, database: DatabaseUrls
) -> None:
    with tenant.client() as api:
        shopify = add_source(api, sponsor, "shopify", secret=f"  {SHOPIFY_SECRET}\n")
        stripe = add_source(api, sponsor, "stripe", secret=STRIPE_SECRET)
        waiting = add_source(api, sponsor, "stripe")
        wrong = api.post(
            "/api/v1/conversion-sources",
            json={"sponsor_id": sponsor, "kind": "stripe", "name": "x", "secret": "sk_live_" + "9" * 24},
        )
    assert shopify["secret"] == {"set": True, "value": SHOPIFY_SECRET}
    assert decrypt_secret(source_row(database, shopify)["secret_encrypted"]) == SHOPIFY_SECRET
    assert decrypt_secret(source_row(database, stripe)["secret_encrypted"]) == STRIPE_SECRET
    # Stripe hands out the signing secret once the endpoint exists there: the source waits for it.
    assert waiting["secret"] == {"set": False, "value": None}
    assert waiting["endpoint_url"].endswith(hook_path(waiting))
    assert source_row(database, waiting)["secret_encrypted"] is None
    assert wrong.status_code == 422
    assert fields_of(wrong) == {"secret"}
    assert "sk_live_" not in wrong.text


def test_a_secret_is_set_later_by_rotation_and_only_that_response_shows_it(
    tenant: Tenant, sponsor: str, database: DatabaseUrls
) -> None:
    with tenant.client("ops") as api:
        source = add_source(api, sponsor, "stripe")
        path = f"/api/v1/conversion-sources/{source['id']}/rotate-secret"
        assert fields_of(api.post(path)) == {"secret"}  # Stripe gives the secret; none is made up
        assert fields_of(api.post(path, json={"secret": "not-a-stripe-secret"})) == {"secret"}
        rotated = api.post(path, json={"secret": STRIPE_SECRET})
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["secret"] == {"set": True, "value": STRIPE_SECRET}
        assert api.get(f"/api/v1/conversion-sources/{source['id']}").json()["secret"] == {"set": True}
        pixel = add_source(api, sponsor, "pixel")
        refused = api.post(f"/api/v1/conversion-sources/{pixel['id']}/rotate-secret")
        assert refused.status_code == 422
        events = api.get("/api/v1/events", params={"type": "conversion_source.secret_rotated"}).json()["items"]
    assert decrypt_secret(source_row(database, source)["secret_encrypted"]) == STRIPE_SECRET
    assert [e["subject_id"] for e in events if e["subject_id"] == source["id"]] == [source["id"]]
    assert STRIPE_SECRET not in str(events)


def test_sources_that_receive_no_webhooks_have_no_secret_and_no_endpoint(tenant: Tenant, sponsor: str) -> None:
    with tenant.client() as api:
        for kind in ("pixel", "api", "csv"):
            source = add_source(api, sponsor, kind)
            assert (source["endpoint_url"], source["secret"]) == (None, {"set": False, "value": None})
            with_secret = api.post(
                "/api/v1/conversion-sources",
                json={"sponsor_id": sponsor, "kind": kind, "name": "x", "secret": "s3cret-value"},
            )
            assert with_secret.status_code == 422
            assert fields_of(with_secret) == {"secret"}


def test_bad_input_is_422_naming_each_field(tenant: Tenant, sponsor: str, server: str) -> None:
    rival = make_tenant(server)
    with rival.client() as other:
        foreign_sponsor = add_sponsor(other)
    with tenant.client() as api:
        cases = [
            ({"sponsor_id": sponsor, "kind": "magento", "name": "x"}, {"kind"}),
            ({"sponsor_id": sponsor, "kind": "shopify", "name": ""}, {"name"}),
            ({"sponsor_id": sponsor, "kind": "woocommerce", "name": "x", "secret": "short"}, {"secret"}),
            ({"sponsor_id": str(uuid.uuid4()), "kind": "shopify", "name": "x"}, {"sponsor_id"}),
            ({"sponsor_id": foreign_sponsor, "kind": "shopify", "name": "x"}, {"sponsor_id"}),
            ({"sponsor_id": sponsor, "kind": "shopify", "name": "x", "token": "mine"}, {"token"}),
        ]
        for body, fields in cases:
            response = api.post("/api/v1/conversion-sources", json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert fields_of(response) == fields, body
        source = add_source(api, sponsor, "shopify", secret=SHOPIFY_SECRET)
        path = f"/api/v1/conversion-sources/{source['id']}"
        patches: list[tuple[dict[str, Any], set[str]]] = [
            ({"secret": "new-secret-value"}, {"secret"}),
            ({"kind": "stripe"}, {"kind"}),
            ({"sponsor_id": sponsor}, {"sponsor_id"}),
            ({"name": None}, {"name"}),
            ({"active": None}, {"active"}),
        ]
        for patch, fields in patches:
            response = api.patch(path, json=patch)
            assert response.status_code == 422, (patch, response.text)
            assert fields_of(response) == fields
        assert "new-secret-value" not in api.patch(path, json={"secret": "new-secret-value"}).text
        assert api.get(path).json()["name"] == source["name"]


def test_list_filters_sorts_and_pages(tenant: Tenant) -> None:
    with tenant.client() as api:
        sponsor = add_sponsor(api)
        made = [
            add_source(api, sponsor, kind, name=name) for kind, name in (("pixel", "b"), ("api", "A"), ("csv", "c"))
        ]
        api.patch(f"/api/v1/conversion-sources/{made[2]['id']}", json={"active": False})

        def names(**params: Any) -> list[str]:
            response = api.get("/api/v1/conversion-sources", params={"sponsor_id": sponsor, **params})
            assert response.status_code == 200, response.text
            return [s["name"] for s in response.json()["items"]]

        assert names() == ["A", "b", "c"]
        assert names(sort="-name") == ["c", "b", "A"]
        assert names(kind="pixel") == ["b"]
        assert names(active="false") == ["c"]
        page = api.get("/api/v1/conversion-sources", params={"sponsor_id": sponsor, "limit": 2}).json()
        assert (len(page["items"]), page["total"], page["next_offset"]) == (2, 3, 2)
        assert api.get("/api/v1/conversion-sources", params={"sort": "token"}).status_code == 422
        assert api.get("/api/v1/conversion-sources", params={"kind": "magento"}).status_code == 422


def test_a_source_that_brought_conversions_is_deactivated_not_deleted(
    tenant: Tenant, sponsor: str, database: DatabaseUrls
) -> None:
    with tenant.client() as api:
        unused = add_source(api, sponsor, "woocommerce")
        assert api.delete(f"/api/v1/conversion-sources/{unused['id']}").status_code == 204
        assert api.get(f"/api/v1/conversion-sources/{unused['id']}").status_code == 404
        used = add_source(api, sponsor, "woocommerce")
        as_owner(
            database,
            "INSERT INTO conversions (tenant_id, id, source_id, sponsor_id, order_id, occurred_at) "
            "VALUES (%s, %s, %s, %s, 'A-1', now()) RETURNING id",
            tenant.id,
            uuid.uuid4(),
            used["id"],
            sponsor,
        )
        refused = api.delete(f"/api/v1/conversion-sources/{used['id']}")
        assert refused.status_code == 409
        assert refused.json()["source_id"] == used["id"]
        assert api.get(f"/api/v1/conversion-sources/{used['id']}").status_code == 200
        kinds = {
            e["type"]
            for e in api.get("/api/v1/events", params={"limit": 200}).json()["items"]
            if e["subject_id"] in (unused["id"], used["id"])
        }
    assert kinds == {"conversion_source.created", "conversion_source.deleted"}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_and_change_sources(tenant: Tenant, sponsor: str, advertisers_sponsor: str, role: str) -> None:
    with tenant.client() as owner:
        others = add_source(owner, sponsor, "woocommerce")
        theirs = add_source(owner, advertisers_sponsor, "shopify", secret=SHOPIFY_SECRET)
    body = {"sponsor_id": sponsor, "kind": "pixel", "name": f"by {role}"}
    with tenant.client(role) as api:
        listing = api.get("/api/v1/conversion-sources", params={"limit": 200})
        read_other = api.get(f"/api/v1/conversion-sources/{others['id']}")
        read_own = api.get(f"/api/v1/conversion-sources/{theirs['id']}")
        create = api.post("/api/v1/conversion-sources", json=body)
        patch = api.patch(f"/api/v1/conversion-sources/{others['id']}", json={"name": f"renamed by {role}"})
        rotate = api.post(f"/api/v1/conversion-sources/{others['id']}/rotate-secret")
        delete = api.delete(f"/api/v1/conversion-sources/{others['id']}")
    statuses = [r.status_code for r in (listing, read_other, read_own, create, patch, rotate, delete)]
    if role in WRITERS:
        assert statuses == [200, 200, 200, 201, 200, 200, 204], role
    elif role == "creator":
        assert statuses == [403] * 7
    else:  # an advertiser reads its own sponsor's sources only; another sponsor's look like nothing at all
        assert statuses == [200, 404, 200, 403, 403, 403, 403]
        assert {s["sponsor_id"] for s in listing.json()["items"]} == {advertisers_sponsor}
        assert read_own.json()["secret"] == {"set": True}
    for response in (listing, read_other, read_own, create, patch, rotate, delete):
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_anonymous_callers_get_401(anon: httpx.Client, tenant: Tenant, sponsor: str) -> None:
    with tenant.client() as owner:
        source = add_source(owner, sponsor, "pixel")
    for method, path in (
        ("GET", "/api/v1/conversion-sources"),
        ("POST", "/api/v1/conversion-sources"),
        ("GET", f"/api/v1/conversion-sources/{source['id']}"),
        ("PATCH", f"/api/v1/conversion-sources/{source['id']}"),
        ("DELETE", f"/api/v1/conversion-sources/{source['id']}"),
        ("POST", f"/api/v1/conversion-sources/{source['id']}/rotate-secret"),
    ):
        assert anon.request(method, path, json={}).status_code == 401, (method, path)


@pytest.fixture(scope="module")
def public_base(database: DatabaseUrls) -> Iterator[str]:
    """The app told the address the public reaches it at, in a process of its own."""
    env = {**os.environ, "PUBLIC_BASE_URL": "https://track.example.com/"}
    with serve_app(env, ARTIFACTS / "attribution-public-base-server.log") as base:
        yield base


def test_the_endpoint_url_uses_the_public_base_url_when_set(tenant: Tenant, sponsor: str, public_base: str) -> None:
    with httpx.Client(
        base_url=public_base, timeout=30, headers={"Authorization": f"Bearer {tenant.tokens['owner']}"}
    ) as api:
        source = add_source(api, sponsor, "shopify", secret=SHOPIFY_SECRET)
    assert source["endpoint_url"] == f"https://track.example.com/hooks/shopify/{source['token']}"
