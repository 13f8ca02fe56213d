"""Feature flags: environment defaults, per-workspace overrides, and a disabled feature that disappears."""

from __future__ import annotations

import httpx
import pytest

from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.config import Settings
from tests.factories.identity import make_tenant


@pytest.fixture(scope="module")
def pair(server: str):
    return make_tenant(server, roles=("owner", "sales")), make_tenant(server)


def test_flags_list_with_their_source(pair) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        flags = {f["name"]: f for f in api.get("/api/v1/feature-flags").json()}
        assert flags["ENABLE_DEAL_PIPELINE"] == {
            "name": "ENABLE_DEAL_PIPELINE",
            "enabled": True,
            "source": "environment",
        }
        assert {
            "ENABLE_ETL_CSV_UPLOAD",
            "ENABLE_IO_BOOKINGS",
            "ENABLE_MATCHMAKING",
            "ENABLE_NEW_DASHBOARD_CARDS",
        } <= set(flags)


def test_disabling_the_deal_pipeline_hides_deals_for_that_workspace_only(pair, settings: Settings) -> None:
    tenant, other = pair
    with tenant.client() as api, other.client() as neighbour:
        sponsor = api.post("/api/v1/sponsors", json={"name": "Flagged Co", "industry": "software"}).json()
        deal = api.post("/api/v1/campaigns", json={"sponsor_id": sponsor["id"], "name": "Q1 flight"})
        assert deal.status_code == 201, deal.text
        off = api.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": False})
        assert off.json() == {"name": "ENABLE_DEAL_PIPELINE", "enabled": False, "source": "tenant"}
        assert api.get("/api/v1/campaigns").status_code == 404
        assert api.get(f"/api/v1/campaigns/{deal.json()['id']}").status_code == 404
        assert api.post("/api/v1/campaigns", json={"sponsor_id": sponsor["id"], "name": "x"}).status_code == 404
        assert api.get("/api/v1/sponsors").status_code == 200
        assert neighbour.get("/api/v1/campaigns").status_code == 200
        cookie = issue_session(settings, TokenClaims(tenant.id, tenant.user_ids["owner"], 1))  # type: ignore[arg-type]
        page = httpx.get(
            f"{tenant.base_url}/sponsors/{sponsor['id']}",
            cookies={"podsponsor_session": cookie},
            headers={"accept": "text/html"},
        )
        assert page.status_code == 200
        assert "Q1 flight" not in page.text
        back = api.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": None})
        assert back.json()["source"] == "environment"
        assert api.get("/api/v1/campaigns").status_code == 200
        events = api.get("/api/v1/events", params={"type": "feature_flag.changed"}).json()
        assert [e["payload"]["enabled"] for e in events["items"]][:2] == [None, False]


def test_only_admins_change_flags_and_unknown_flags_are_404(pair) -> None:
    tenant, _ = pair
    with tenant.client("sales") as sales:
        assert sales.get("/api/v1/feature-flags").status_code == 403
        assert sales.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": False}).status_code == 403
    with tenant.client() as owner:
        assert owner.put("/api/v1/feature-flags/ENABLE_TIME_TRAVEL", json={"enabled": True}).status_code == 404
        assert owner.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": "maybe"}).status_code == 422
