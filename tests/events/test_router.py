"""The event log: written with each change, filtered by type and time, private to its tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories.identity import make_tenant


@pytest.fixture(scope="module")
def pair(server: str):
    return make_tenant(server, roles=("owner", "sales", "creator")), make_tenant(server)


def test_changes_are_logged_and_filterable(pair) -> None:
    tenant, other = pair
    before = datetime.now(UTC) - timedelta(seconds=5)
    with tenant.client() as api:
        show = api.post("/api/v1/podcasts", json={"title": "Logged Show"}).json()
        api.patch(f"/api/v1/podcasts/{show['id']}", json={"title": "Logged Show 2"})
        created = api.get("/api/v1/events", params={"type": "podcast.created", "since": before.isoformat()}).json()
        assert [e["subject_id"] for e in created["items"]] == [show["id"]]
        assert created["items"][0]["payload"] == {"title": "Logged Show"}
        both = api.get("/api/v1/events", params=[("type", "podcast.created"), ("type", "podcast.updated")]).json()
        assert [e["type"] for e in both["items"]][:2] == ["podcast.updated", "podcast.created"]
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert api.get("/api/v1/events", params={"since": future}).json()["total"] == 0
    with other.client() as intruder:
        assert show["id"] not in str(intruder.get("/api/v1/events").json())


def test_event_log_needs_the_events_permission(pair, anon) -> None:
    tenant, _ = pair
    with tenant.client("sales") as sales:
        assert sales.get("/api/v1/events").status_code == 200
    with tenant.client("creator") as creator:
        assert creator.get("/api/v1/events").status_code == 403
    assert anon.get("/api/v1/events").status_code == 401


def test_bad_time_filter_is_a_422(pair) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        response = api.get("/api/v1/events", params={"since": "yesterday-ish"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.since"
