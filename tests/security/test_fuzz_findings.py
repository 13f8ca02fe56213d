"""What the API fuzzer (test_fuzz_api.py) found, pinned as plain tests that run in seconds: explicit nulls, unknown
sponsors, sizes past BIGINT, U+0000 inside JSON and dates at the ends of the calendar were 500s, and the OpenAPI
document left out most error answers and every credential."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.factories.identity import Tenant, make_tenant
from tests.security.test_routes import PUBLIC


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


@pytest.fixture(scope="module")
def document(server: str) -> dict[str, Any]:
    return dict(httpx.get(f"{server}/openapi.json", timeout=30).json())


def _refused_field(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/podcasts/{podcast}", {"author": None}),
        ("/api/v1/podcasts/{podcast}", {"title": None}),
        ("/api/v1/podcasts/{podcast}", {"refresh_interval_minutes": None}),
        ("/api/v1/episodes/{episode}", {"description": None}),
        ("/api/v1/users/{user}", {"is_active": None}),
        ("/api/v1/users/{user}", {"role": None}),
    ],
)
def test_null_for_a_field_that_cannot_be_empty_is_422_not_500(tenant: Tenant, path: str, body: dict[str, Any]) -> None:
    with tenant.client() as owner:
        podcast = owner.post("/api/v1/podcasts", json={"title": "Night Shift"}).json()["id"]
        episode = owner.post("/api/v1/episodes", json={"podcast_id": podcast, "title": "One"}).json()["id"]
        url = path.format(podcast=podcast, episode=episode, user=tenant.user_ids["sales"])
        assert _refused_field(owner.patch(url, json=body)) == set(body)
        # Null still clears what may be empty, and leaving a field out keeps it.
        if "podcasts" in path:
            cleared = owner.patch(url, json={"language": None, "website_url": None})
            assert cleared.status_code == 200, cleared.text
            assert cleared.json()["title"] == "Night Shift"


def test_an_enclosure_size_past_bigint_is_422_not_500(tenant: Tenant) -> None:
    with tenant.client() as owner:
        podcast = owner.post("/api/v1/podcasts", json={"title": "Night Shift"}).json()["id"]
        body = {"podcast_id": podcast, "title": "One", "enclosure_bytes": 2**63}
        assert _refused_field(owner.post("/api/v1/episodes", json=body)) == {"enclosure_bytes"}
        episode = owner.post("/api/v1/episodes", json={**body, "enclosure_bytes": 2**63 - 1})
        assert episode.status_code == 201, episode.text
        patched = owner.patch(f"/api/v1/episodes/{episode.json()['id']}", json={"enclosure_bytes": 2**70})
        assert _refused_field(patched) == {"enclosure_bytes"}


def test_nul_inside_a_json_field_is_422_not_500(tenant: Tenant) -> None:
    """jsonb refuses the escape \\u0000 as PostgreSQL text refuses the character (test_nul_input.py)."""
    with tenant.client() as owner:
        for demo in ({"age": "18\u000024"}, {"\u0000": 1}):
            body = {"name": "Brew Hub", "industry": "beverages", "target_demo": demo}
            refused = owner.post("/api/v1/sponsors", json=body)
            assert refused.status_code == 422, refused.text
            assert "NUL" in refused.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/measurement/downloads?end=0001-01-01",
        "/api/v1/measurement/hits/export?day=9999-12-31",
        "/api/v1/deals/win-loss?end=0001-01-01",
        "/api/v1/metrics/daily/totals?to=0001-01-01",
        "/api/v1/dashboard/ops?to=0001-01-01",
    ],
)
def test_a_date_at_an_end_of_the_calendar_is_422_not_500(tenant: Tenant, query: str) -> None:
    with tenant.client() as owner:
        refused = owner.get(query)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "body or query", "reason": "date out of range"}]


def test_a_user_given_an_unknown_sponsor_is_422_not_500(tenant: Tenant) -> None:
    unknown = str(uuid.uuid4())
    with tenant.client() as owner:
        patched = owner.patch(f"/api/v1/users/{tenant.user_ids['sales']}", json={"sponsor_id": unknown})
        assert _refused_field(patched) == {"sponsor_id"}
        body = {"email": f"s-{uuid.uuid4().hex[:6]}@example.com", "role": "sales", "sponsor_id": unknown}
        assert _refused_field(owner.post("/api/v1/users", json=body)) == {"sponsor_id"}


def test_another_workspaces_sponsor_is_as_unknown_as_a_made_up_one(server: str, tenant: Tenant) -> None:
    other = make_tenant(server)
    with other.client() as them:
        theirs = them.post("/api/v1/sponsors", json={"name": "Brew Hub", "industry": "beverages"}).json()["id"]
    with tenant.client() as owner:
        patched = owner.patch(f"/api/v1/users/{tenant.user_ids['sales']}", json={"sponsor_id": theirs})
        assert _refused_field(patched) == {"sponsor_id"}


def test_every_error_the_document_declares_is_a_problem_document(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    wrong = [
        f"{method.upper()} {path} {status}: {sorted(answer.get('content', {}))}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if int(status) >= 400 and status != "503" and set(answer.get("content", {})) != {"application/problem+json"}
    ]
    assert not wrong, wrong


def test_every_route_but_the_public_ones_declares_the_bearer_scheme(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from /api/v1/auth/token, or an API key",
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            declared = operation.get("security") == [{"bearer": []}]
            assert declared == (label not in PUBLIC), label
            assert "401" in operation["responses"], label
            assert ("403" in operation["responses"]) == declared, label


def test_the_answers_that_follow_from_a_route_are_declared(document: dict[str, Any]) -> None:
    def statuses(method: str, path: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    # An id in the path or the body may name nothing of yours; a body may not decode; a write may conflict.
    assert {"400", "404", "409", "422"} <= statuses("post", "/api/v1/episodes")
    assert {"404", "422"} <= statuses("get", "/api/v1/podcasts/{podcast_id}")
    assert "404" not in statuses("get", "/api/v1/me")
    # The rate-limit middleware counts sign-up; sign-in and second-factor codes are throttled by the routes.
    assert "429" in statuses("post", "/api/v1/auth/signup")
    assert {"409", "429"} <= statuses("post", "/api/v1/auth/token")
    assert "429" in statuses("post", "/api/v1/auth/totp/confirm")
    assert "429" not in statuses("get", "/api/v1/podcasts")
    assert "400" in statuses("post", "/api/v1/io")  # no Idempotency-Key
    assert set(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
