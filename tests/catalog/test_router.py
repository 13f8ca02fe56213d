"""Podcasts and episodes over REST: the allowed path, and anonymous / other tenant / wrong role."""

from __future__ import annotations

import httpx
import pytest

from tests.factories.identity import make_tenant

SHOW = {"title": "The Daily Grind", "feed_url": "https://feeds.example.com/grind.xml", "categories": ["Business"]}


@pytest.fixture(scope="module")
def pair(server: str):
    return make_tenant(server, roles=("owner", "sales")), make_tenant(server)


def test_owner_creates_lists_updates_and_deletes_a_show(pair) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        created = api.post("/api/v1/podcasts", json=SHOW)
        assert created.status_code == 201, created.text
        show = created.json()
        assert show["title"] == "The Daily Grind"
        listed = api.get("/api/v1/podcasts", params={"q": "grind"}).json()
        assert [p["id"] for p in listed["items"]] == [show["id"]]
        patched = api.patch(f"/api/v1/podcasts/{show['id']}", json={"explicit": True})
        assert patched.json()["explicit"] is True
        assert api.delete(f"/api/v1/podcasts/{show['id']}").status_code == 204
        assert api.get(f"/api/v1/podcasts/{show['id']}").status_code == 404


def test_anonymous_is_401_with_problem_json(anon: httpx.Client) -> None:
    response = anon.get("/api/v1/podcasts")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/not-authenticated")


def test_other_tenants_show_is_404(pair) -> None:
    tenant, other = pair
    with tenant.client() as api, other.client() as intruder:
        show = api.post("/api/v1/podcasts", json={"title": "Private Show"}).json()
        assert intruder.get(f"/api/v1/podcasts/{show['id']}").status_code == 404
        assert intruder.patch(f"/api/v1/podcasts/{show['id']}", json={"title": "x"}).status_code == 404
        assert intruder.delete(f"/api/v1/podcasts/{show['id']}").status_code == 404
        assert show["id"] not in {p["id"] for p in intruder.get("/api/v1/podcasts").json()["items"]}


def test_sales_role_cannot_create_shows(pair) -> None:
    tenant, _ = pair
    with tenant.client("sales") as api:
        response = api.post("/api/v1/podcasts", json={"title": "Nope"})
        assert response.status_code == 403
        assert api.get("/api/v1/podcasts").status_code == 200


def test_bad_input_names_the_field(pair) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        response = api.post("/api/v1/podcasts", json={"title": "", "feed_url": "not a url", "extra": 1})
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"title", "feed_url", "extra"} <= fields
        assert api.get("/api/v1/podcasts", params={"limit": 100000}).status_code == 422
        assert api.get("/api/v1/podcasts", params={"sort": "password"}).status_code == 422


def test_episodes_belong_to_a_show_and_guid_is_unique_per_show(pair) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        show = api.post("/api/v1/podcasts", json={"title": "Episodic"}).json()
        first = api.post("/api/v1/episodes", json={"podcast_id": show["id"], "title": "Pilot", "guid": "ep-1"})
        assert first.status_code == 201, first.text
        again = api.post("/api/v1/episodes", json={"podcast_id": show["id"], "title": "Pilot", "guid": "ep-1"})
        assert again.status_code == 409
        listed = api.get("/api/v1/episodes", params={"podcast_id": show["id"]}).json()
        assert listed["total"] == 1
