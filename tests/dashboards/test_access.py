"""Who may read which dashboard, the feature flag, the period's validation, and another workspace's numbers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from podsponsor.db.engine import Database
from tests.bookings.delivery_world import book, downloads, show
from tests.dashboards.world import TODAY, card, dashboard, figure
from tests.factories.identity import Tenant, make_tenant

FLAG = "/api/v1/feature-flags/ENABLE_NEW_DASHBOARD_CARDS"


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "admin", "creator", "ops", "sales", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "creator"))


def _status(tenant: Tenant, role: str, kind: str, **params: Any) -> int:
    with tenant.client(role) as api:
        return api.get(f"/api/v1/dashboard/{kind}", params=params).status_code


def test_each_role_reads_the_dashboards_meant_for_it(tenant: Tenant) -> None:
    sponsor = tenant.user_ids["advertiser"]  # any id: the role check comes first
    expected = {
        "owner": {"creator": 200, "ops": 200},
        "admin": {"creator": 200, "ops": 200},
        "creator": {"creator": 200, "ops": 403, "advertiser": 403},
        "ops": {"creator": 403, "ops": 200},
        "sales": {"creator": 403, "ops": 403, "advertiser": 403},
        "advertiser": {"creator": 403, "ops": 403, "advertiser": 200},
    }
    for role, answers in expected.items():
        for kind, status in answers.items():
            params = {"sponsor_id": sponsor} if kind == "advertiser" and role != "advertiser" else {}
            assert _status(tenant, role, kind, **params) == status, (role, kind)


def test_anonymous_callers_are_asked_to_sign_in(anon: httpx.Client) -> None:
    for kind in ("creator", "advertiser", "ops"):
        response = anon.get(f"/api/v1/dashboard/{kind}")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_dashboards_are_hidden_while_the_flag_is_off(tenant: Tenant) -> None:
    with tenant.client("owner") as owner:
        assert owner.put(FLAG, json={"enabled": False}).status_code == 200
        try:
            for role, kind in (("creator", "creator"), ("ops", "ops"), ("advertiser", "advertiser")):
                assert _status(tenant, role, kind) == 404, kind
        finally:
            assert owner.put(FLAG, json={"enabled": None}).status_code == 200
    assert _status(tenant, "creator", "creator") == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "query.from"),
        ({"to": "yesterday"}, "query.to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
        ({"sponsor_id": "not-a-uuid"}, "query.sponsor_id"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_field(tenant: Tenant, params: dict[str, str], field: str) -> None:
    kind = "advertiser" if "sponsor_id" in params else "creator"
    with tenant.client("owner") as api:
        response = api.get(f"/api/v1/dashboard/{kind}", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_period_of_366_days_and_an_explicit_one_are_accepted(tenant: Tenant) -> None:
    with tenant.client("creator") as api:
        body = dashboard(api, "creator", **{"from": "2025-01-01", "to": "2026-01-01"})
        assert (body["start"], body["end"], body["as_of"]) == ("2025-01-01", "2026-01-01", "2026-01-01")
        only_to = dashboard(api, "creator", to="2026-03-31")
    assert only_to["start"] == "2026-03-02"


async def test_another_workspace_sees_none_of_the_numbers(db: Database, tenant: Tenant, other: Tenant) -> None:
    tenant_id = uuid.UUID(tenant.id)
    shows = await show(tenant_id, [TODAY - timedelta(days=2)])
    await book(tenant_id, shows, TODAY - timedelta(days=2), TODAY + timedelta(days=2), placed=[0])
    await downloads(tenant_id, shows, 0, TODAY - timedelta(days=1), 40)
    with tenant.client("creator") as api:
        own = dashboard(api, "creator")
    with other.client("creator") as api:
        theirs = dashboard(api, "creator")
    assert figure(card(own, "pacing"), "Live orders") >= 1
    assert figure(card(own, "downloads_trend"), "Downloads") >= 40
    assert figure(card(theirs, "pacing"), "Live orders") == 0
    assert figure(card(theirs, "downloads_trend"), "Downloads") == 0
    assert card(theirs, "episode_lifecycle")["tables"][0]["rows"] == []
