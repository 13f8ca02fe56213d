"""Sponsor pages with a signed-in browser session: list, search, the new-sponsor form, detail, CSRF and roles."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from podsponsor.auth.dependencies import SESSION_COOKIE
from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.config import Settings
from podsponsor.web.csrf import CSRF_COOKIE
from tests.factories.identity import Tenant, make_tenant

CSRF = "csrf-token-of-this-browser"
Browser = Callable[..., httpx.Client]


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server)


@pytest.fixture
def signed_in(settings: Settings) -> Iterator[Browser]:
    """A browser signed in as `role` of `tenant`, holding the CSRF cookie CSRF."""
    opened: list[httpx.Client] = []

    def open_as(tenant: Tenant, role: str) -> httpx.Client:
        claims = TokenClaims(uuid.UUID(tenant.id), uuid.UUID(tenant.user_ids[role]), session_version=1)
        client = httpx.Client(
            base_url=tenant.base_url,
            cookies={SESSION_COOKIE: issue_session(settings, claims), CSRF_COOKIE: CSRF},
            headers={"Accept": "text/html"},
            timeout=30,
        )
        opened.append(client)
        return client

    yield open_as
    for client in opened:
        client.close()


def add_sponsor(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    with tenant.client() as api:
        response = api.post(
            "/api/v1/sponsors", json={"name": f"Sponsor {uuid.uuid4().hex[:8]}", "industry": "x", **fields}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


def form(**fields: str) -> dict[str, str]:
    base = {"csrf_token": CSRF, "name": "", "industry": "", "website_url": "", "contact_email": "", "target_geo": ""}
    return {**base, "target_topics": "", "brand_safety": "moderate", "notes": "", **fields}


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert found, f"no error shown for {field}"
    return found.group(1)


def test_signed_in_seller_lists_and_searches_sponsors(tenant: Tenant, signed_in: Browser) -> None:
    tag = uuid.uuid4().hex[:8]
    wanted = add_sponsor(tenant, name=f"Northwind {tag}", target_geo=["GB"])
    unwanted = add_sponsor(tenant, name=f"Contoso {tag}")
    page = signed_in(tenant, "sales").get("/sponsors", params={"q": f"northwind {tag}"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'href="/sponsors/{wanted["id"]}"' in page.text
    assert unwanted["name"] not in page.text
    assert 'href="/sponsors/new"' in page.text
    nothing = signed_in(tenant, "sales").get("/sponsors", params={"q": f"nobody {tag}"})
    assert 'class="empty"' in nothing.text


def test_seller_creates_a_sponsor_with_the_form(tenant: Tenant, signed_in: Browser) -> None:
    client = signed_in(tenant, "sales")
    new = client.get("/sponsors/new")
    assert new.status_code == 200
    assert f'name="csrf_token" value="{CSRF}"' in new.text
    name = f"Fabrikam {uuid.uuid4().hex[:8]}"
    created = client.post(
        "/sponsors",
        data=form(
            name=name,
            industry="meal kits",
            website_url="fabrikam.example",
            target_geo="us, ca",
            target_topics="food, family",
            brand_safety="strict",
        ),
    )
    assert created.status_code == 303
    location = created.headers["location"]
    assert re.fullmatch(r"/sponsors/[0-9a-f-]{36}", location)
    detail = client.get(location)
    assert detail.status_code == 200
    assert name in detail.text
    assert "US, CA" in detail.text
    assert f"{name} is added." in detail.text
    with tenant.client() as api:
        stored = api.get(f"/api/v1{location}").json()
    assert stored["website_url"] == "https://fabrikam.example/"
    assert (stored["target_geo"], stored["target_topics"], stored["brand_safety"]) == (
        ["US", "CA"],
        ["food", "family"],
        "strict",
    )


def test_form_errors_are_shown_next_to_their_fields_with_a_422(tenant: Tenant, signed_in: Browser) -> None:
    response = signed_in(tenant, "sales").post(
        "/sponsors", data=form(name="", industry="toys", website_url="http://", target_geo="US, ZZ")
    )
    assert response.status_code == 422
    assert field_error(response.text, "name") == "Required"
    assert "ZZ" in field_error(response.text, "target_geo")
    assert field_error(response.text, "website_url")
    assert 'value="http://"' in response.text
    assert 'value="toys"' in response.text
    assert 'id="industry-error"' not in response.text


def test_a_taken_name_is_shown_on_the_name_field(tenant: Tenant, signed_in: Browser) -> None:
    existing = add_sponsor(tenant)
    response = signed_in(tenant, "sales").post("/sponsors", data=form(name=existing["name"].upper(), industry="x"))
    assert response.status_code == 409
    assert "taken" in field_error(response.text, "name").lower()


def test_a_post_without_the_matching_csrf_token_is_refused(tenant: Tenant, signed_in: Browser) -> None:
    client = signed_in(tenant, "sales")
    name = f"Forged {uuid.uuid4().hex[:8]}"
    wrong = client.post("/sponsors", data={**form(name=name, industry="x"), "csrf_token": "someone-elses"})
    missing = client.post(
        "/sponsors", data={k: v for k, v in form(name=name, industry="x").items() if k != "csrf_token"}
    )
    assert (wrong.status_code, missing.status_code) == (403, 403)
    with tenant.client() as api:
        assert api.get("/api/v1/sponsors", params={"q": name}).json()["total"] == 0


def test_detail_page_shows_the_sponsors_campaigns(tenant: Tenant, signed_in: Browser) -> None:
    sponsor = add_sponsor(tenant, notes="prefers host reads")
    with tenant.client() as api:
        deal = {"sponsor_id": sponsor["id"], "name": "Holiday flight", "value_cents": 250_000, "probability": 0.5}
        assert api.post("/api/v1/campaigns", json=deal).status_code == 201
    page = signed_in(tenant, "sales").get(f"/sponsors/{sponsor['id']}")
    assert page.status_code == 200
    assert "Holiday flight" in page.text
    assert "2,500.00 USD" in page.text
    assert "50%" in page.text
    assert "prefers host reads" in page.text


def test_page_text_is_escaped(tenant: Tenant, signed_in: Browser) -> None:
    sponsor = add_sponsor(tenant, name=f"<script>alert({uuid.uuid4().int % 1000})</script>")
    page = signed_in(tenant, "sales").get(f"/sponsors/{sponsor['id']}")
    assert sponsor["name"] not in page.text
    assert "&lt;script&gt;" in page.text


def test_anonymous_visitors_are_sent_to_sign_in(anon: httpx.Client) -> None:
    response = anon.get("/sponsors", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_roles_without_sales_write_cannot_open_or_post_the_form(tenant: Tenant, signed_in: Browser) -> None:
    creator = signed_in(tenant, "creator")
    assert creator.get("/sponsors").status_code == 200
    assert 'href="/sponsors/new"' not in creator.get("/sponsors").text
    assert creator.get("/sponsors/new").status_code == 403
    name = f"Not allowed {uuid.uuid4().hex[:8]}"
    assert creator.post("/sponsors", data=form(name=name, industry="x")).status_code == 403
    with tenant.client() as api:
        assert api.get("/api/v1/sponsors", params={"q": name}).json()["total"] == 0


def test_another_tenants_sponsor_page_is_404(tenant: Tenant, other: Tenant, signed_in: Browser) -> None:
    foreign = add_sponsor(other)
    assert signed_in(tenant, "sales").get(f"/sponsors/{foreign['id']}").status_code == 404


def test_advertiser_pages_show_only_its_own_sponsor_without_internal_notes(tenant: Tenant, signed_in: Browser) -> None:
    client = signed_in(tenant, "advertiser")
    with tenant.client("advertiser") as api:
        own_id = api.get("/api/v1/me").json()["sponsor_id"]
    with tenant.client() as owner:
        owner.patch(f"/api/v1/sponsors/{own_id}", json={"notes": "renewal at risk"})
    rival = add_sponsor(tenant)
    listing = client.get("/sponsors")
    assert re.findall(r'href="/sponsors/([0-9a-f-]{36})"', listing.text) == [own_id]
    own = client.get(f"/sponsors/{own_id}")
    assert own.status_code == 200
    assert "renewal at risk" not in own.text
    assert client.get(f"/sponsors/{rival['id']}").status_code == 404
    assert client.get("/sponsors/new").status_code == 403
