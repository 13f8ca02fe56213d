"""Outbound webhooks over the API: endpoints (secret shown once), addresses refused, the delivery log, replays and
test events, and who may do any of it (anonymous 401, other roles 403, another workspace 404)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from podsponsor.events import webhook_sender as sender
from tests.factories.identity import Tenant, make_tenant
from tests.factories.webhook_receiver import receiving

pytestmark = pytest.mark.usefixtures("db", "local_receivers_allowed")

ENDPOINTS = "/api/v1/webhooks/endpoints"


@pytest.fixture(scope="module")
def pair(server: str) -> tuple[Tenant, Tenant]:
    return make_tenant(server, roles=("owner", "admin", "sales", "ops", "creator", "advertiser")), make_tenant(server)


def _endpoint(api: httpx.Client, url: str, types: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    response = api.post(ENDPOINTS, json={"url": url, "event_types": types or ["*"], **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _new_show(api: httpx.Client, title: str) -> str:
    response = api.post("/api/v1/podcasts", json={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_an_endpoint_is_registered_with_a_secret_shown_once(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        created = _endpoint(api, "http://127.0.0.1:9/crm", ["podcast.created", "io.delivered"], description="CRM")
        assert created["secret"].startswith("whsec_")
        assert (created["active"], created["failure_streak"], created["description"]) == (True, 0, "CRM")
        assert created["event_types"] == ["podcast.created", "io.delivered"]
        shown = api.get(f"{ENDPOINTS}/{created['id']}").json()
        assert "secret" not in shown and "secret_encrypted" not in shown
        listed = api.get(ENDPOINTS).json()
        assert created["id"] in [e["id"] for e in listed["items"]]
        assert all("secret" not in e for e in listed["items"])

        rotated = api.post(f"{ENDPOINTS}/{created['id']}/rotate-secret")
        assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
        assert rotated.json()["secret"] != created["secret"]

        patched = api.patch(f"{ENDPOINTS}/{created['id']}", json={"event_types": ["*"], "description": "All"})
        assert patched.status_code == 200
        assert (patched.json()["event_types"], patched.json()["description"]) == (["*"], "All")
        paused = api.patch(f"{ENDPOINTS}/{created['id']}", json={"active": False}).json()
        assert (paused["active"], paused["disabled_reason"]) == (False, "disabled by a user")
        enabled = api.post(f"{ENDPOINTS}/{created['id']}/enable").json()
        assert (enabled["active"], enabled["disabled_at"], enabled["failure_streak"]) == (True, None, 0)

        assert api.delete(f"{ENDPOINTS}/{created['id']}").status_code == 204
        assert api.get(f"{ENDPOINTS}/{created['id']}").status_code == 404
        logged = api.get("/api/v1/events", params={"type": "webhook.endpoint_created"}).json()["items"]
        mine = [e for e in logged if e["subject_id"] == created["id"]]
        assert mine[0]["payload"] == {"host": "127.0.0.1", "event_types": ["podcast.created", "io.delivered"]}


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.2/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://172.16.0.1/hook",
        "http://93.184.216.34/hook",
    ],
)
def test_a_private_or_plain_http_address_is_a_422_naming_the_url(pair: tuple[Tenant, Tenant], url: str) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        response = api.post(ENDPOINTS, json={"url": url, "event_types": ["*"]})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["type"].endswith("/webhook-address-refused")
        assert problem["errors"][0]["field"] == "url"
        some = _endpoint(api, "http://127.0.0.1:9/ok")
        moved = api.patch(f"{ENDPOINTS}/{some['id']}", json={"url": url})
        assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "url"
        assert api.get(f"{ENDPOINTS}/{some['id']}").json()["url"] == "http://127.0.0.1:9/ok"


def test_unknown_event_types_and_bad_input_are_422(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        unknown = api.post(ENDPOINTS, json={"url": "http://127.0.0.1:9/x", "event_types": ["podcast.exploded"]})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "event_types"
        empty = api.post(ENDPOINTS, json={"url": "http://127.0.0.1:9/x", "event_types": []})
        assert empty.status_code == 422
        extra = api.post(ENDPOINTS, json={"url": "http://127.0.0.1:9/x", "event_types": ["*"], "active": False})
        assert extra.status_code == 422, "no mass assignment"
        assert api.get(f"{ENDPOINTS}/not-an-id").status_code == 422
        catalogue = api.get("/api/v1/webhooks/event-types").json()
        assert "podcast.created" in catalogue["by_area"]["shows"] and catalogue["all"] == "*"
        assert api.get(ENDPOINTS, params={"limit": 100000}).status_code == 422


async def test_the_delivery_log_replay_and_test_event(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with receiving(500) as receiver, tenant.client() as api:
        endpoint = _endpoint(api, receiver.url(), ["podcast.created"])
        show_ids = [_new_show(api, f"Logged {n}") for n in range(3)]
        log = api.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", params={"limit": 2}).json()
        assert (log["total"], len(log["items"]), log["next_offset"]) == (3, 2, 2)
        assert [d["status"] for d in log["items"]] == ["pending", "pending"]
        assert log["items"][0]["created_at"] >= log["items"][1]["created_at"], "newest first"
        first = log["items"][0]
        assert first["event_type"] == "podcast.created" and first["message_id"].startswith("msg_")

        await sender.send_one(uuid.UUID(tenant.id), uuid.UUID(first["id"]))
        detail = api.get(f"/api/v1/webhooks/deliveries/{first['id']}").json()
        assert (detail["status"], detail["attempts"], detail["last_status_code"]) == ("pending", 1, 500)
        assert detail["next_attempt_at"] is not None
        assert [(a["number"], a["status_code"], a["replay"]) for a in detail["attempt_log"]] == [(1, 500, False)]
        assert detail["body"]["type"] == "podcast.created" and detail["body"]["data"]["subject_id"] in show_ids

        receiver.status = 200
        replayed = api.post(f"/api/v1/webhooks/deliveries/{first['id']}/replay")
        assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
        await sender.send_one(uuid.UUID(tenant.id), uuid.UUID(first["id"]))
        done = api.get(f"/api/v1/webhooks/deliveries/{first['id']}").json()
        assert (done["status"], done["attempts"], done["last_status_code"]) == ("succeeded", 2, 200)
        succeeded = api.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", params={"status": "succeeded"}).json()
        assert [d["id"] for d in succeeded["items"]] == [first["id"]]

        tested = api.post(f"{ENDPOINTS}/{endpoint['id']}/test")
        assert tested.status_code == 202 and tested.json()["event_type"] == "webhook.test"
        await sender.send_one(uuid.UUID(tenant.id), uuid.UUID(tested.json()["id"]))
        assert api.get(f"/api/v1/webhooks/deliveries/{tested.json()['id']}").json()["status"] == "succeeded"
        last = receiver.received[-1]
        assert Webhook(endpoint["secret"]).verify(last.body, last.headers)["type"] == "webhook.test"
        assert [r.message_id for r in receiver.received].count(first["message_id"]) == 2


def test_another_workspace_sees_404_for_every_route(pair: tuple[Tenant, Tenant]) -> None:
    tenant, other = pair
    with tenant.client() as api:
        endpoint = _endpoint(api, "http://127.0.0.1:9/private", ["podcast.created"])
        _new_show(api, "Isolated")
        delivery = api.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries").json()["items"][0]
    with other.client() as intruder:
        base = f"{ENDPOINTS}/{endpoint['id']}"
        for method, path, body in [
            ("GET", base, None),
            ("PATCH", base, {"description": "mine now"}),
            ("DELETE", base, None),
            ("POST", f"{base}/rotate-secret", None),
            ("POST", f"{base}/enable", None),
            ("POST", f"{base}/test", None),
            ("GET", f"{base}/deliveries", None),
            ("GET", f"/api/v1/webhooks/deliveries/{delivery['id']}", None),
            ("POST", f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", None),
        ]:
            response = intruder.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
        assert endpoint["id"] not in intruder.get(ENDPOINTS).text
    with tenant.client() as api:
        assert api.get(f"{ENDPOINTS}/{endpoint['id']}").json()["description"] == ""


@pytest.mark.parametrize("role", ["sales", "ops", "creator", "advertiser"])
def test_only_owners_and_admins_manage_webhooks(pair: tuple[Tenant, Tenant], role: str, anon: httpx.Client) -> None:
    tenant, _ = pair
    with tenant.client("admin") as admin:
        endpoint = _endpoint(admin, "http://127.0.0.1:9/admins")
    with tenant.client(role) as api:
        assert api.get(ENDPOINTS).status_code == 403
        assert api.post(ENDPOINTS, json={"url": "http://127.0.0.1:9/x", "event_types": ["*"]}).status_code == 403
        assert api.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret").status_code == 403
    assert anon.get(ENDPOINTS).status_code == 401
    assert anon.get(f"{ENDPOINTS}/{endpoint['id']}").status_code == 401


def test_an_api_key_scoped_to_webhooks_may_manage_them(pair: tuple[Tenant, Tenant], server: str) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        scoped = api.post("/api/v1/api-keys", json={"name": "hooks", "scopes": ["webhooks:admin"]})
        assert scoped.status_code == 201, scoped.text
        other = api.post("/api/v1/api-keys", json={"name": "catalog", "scopes": ["catalog:read"]})
    for key, allowed in ((scoped.json()["token"], True), (other.json()["token"], False)):
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
            assert client.get(ENDPOINTS).status_code == (200 if allowed else 403)
