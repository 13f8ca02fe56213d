"""The seller's report pages over HTTP as a browser sends them: the report page with its downloads and share links,
the Report section the campaign delivery page loads, creating a link from the form (shown once, then working for
anyone), a refused expiry beside its field, revoking from the list; what an advertiser sees; another workspace 404."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from podsponsor.db.engine import Database
from tests.bookings.booking_world import signed_in
from tests.factories.identity import Tenant, make_tenant
from tests.reports.world import World, advertisers_sponsor, report_world
from tests.web.conftest import csrf_of

SHARE_URL = re.compile(r'<input class="copy-field" id="share-url" type="text" readonly value="([^"]+)"')


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


@pytest.fixture(scope="module")
async def world(tenant: Tenant, db: Database) -> World:
    sponsor_id, _ = advertisers_sponsor(tenant)
    return await report_world(tenant, sponsor_id=sponsor_id)


def _page(client: httpx.Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text
    return response.text


def test_the_report_page_shows_the_report_downloads_and_links(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "sales") as client:
        response = client.get(f"/campaigns/{world.campaign_id}/report")
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        page = response.text
    assert f"<h1>{world.campaign_name}</h1>" in page
    for part in ('id="report-delivery"', 'id="report-attribution"', 'id="report-methodology"', 'id="pacing-chart"',
                 'id="attribution-chart"', 'id="models-chart"', 'data-report-ios', "Morning Brief"):  # fmt: skip
        assert part in page, part
    for fmt in ("pdf", "xlsx", "csv", "json"):
        assert f'href="/api/v1/reports/campaigns/{world.campaign_id}?format={fmt}"' in page
    assert f'action="/campaigns/{world.campaign_id}/report/share-links"' in page
    assert "<script>" not in page and "onclick" not in page
    assert 'src="/static/reports.js"' in page and 'src="/static/vendor/vega-charts.js"' in page


def test_downloads_work_with_the_session(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "sales") as client:
        pdf = client.get(f"/api/v1/reports/campaigns/{world.campaign_id}?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_delivery_page_loads_the_report_section(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "sales") as client:
        delivery = _page(client, f"/campaigns/{world.campaign_id}/delivery")
        section = _page(client, f"/campaigns/{world.campaign_id}/report/section")
    assert f'hx-get="/campaigns/{world.campaign_id}/report/section"' in delivery
    assert f'href="/campaigns/{world.campaign_id}/report"' in delivery
    assert 'id="report-section"' in section and "<html" not in section
    assert f'href="/api/v1/reports/campaigns/{world.campaign_id}?format=pdf"' in section
    assert "Create a share link" in section and "Open the report" in section


def test_a_link_made_from_the_form_is_shown_once_and_revoked_from_the_list(
    server: str, tenant: Tenant, world: World, anon: httpx.Client
) -> None:
    report = f"/campaigns/{world.campaign_id}/report"
    with signed_in(server, tenant, "sales") as client:
        token = csrf_of(client.get(report))
        fields = {"csrf_token": token, "label": "Acme <team>", "expires_in_days": "5"}
        made = client.post(f"{report}/share-links", data=fields)
        assert made.status_code == 201
        found = SHARE_URL.search(made.text)
        assert found, "the new link is not shown"
        url = html.unescape(found.group(1))
        assert "Share link for Acme &lt;team&gt;" in made.text and "shown only once" in made.text
        assert 'data-copy="share-url"' in made.text
        assert anon.get(url.removeprefix(server)).status_code == 200
        listing = _page(client, report)
        assert url not in listing, "the link is shown again"
        row = re.search(r'data-share-link="([0-9a-f-]{36})">\s*<td>Acme &lt;team&gt;</td>', listing)
        assert row, "the new link is not listed"
        link_id = row.group(1)
        revoked = client.post(f"{report}/share-links/{link_id}/revoke", data={"csrf_token": token})
        assert revoked.status_code == 303 and revoked.headers["location"] == f"{report}#share-links"
        after = _page(client, report)
    assert "The share link “Acme &lt;team&gt;” is revoked" in after
    assert anon.get(url.removeprefix(server)).status_code == 410


def test_a_refused_expiry_is_shown_beside_its_field(server: str, tenant: Tenant, world: World) -> None:
    report = f"/campaigns/{world.campaign_id}/report"
    with signed_in(server, tenant, "sales") as client:
        token = csrf_of(client.get(report))
        refused = client.post(f"{report}/share-links", data={"csrf_token": token, "expires_in_days": "120"})
        assert refused.status_code == 422
        assert 'id="expires_in_days-error"' in refused.text and 'value="120"' in refused.text
        without_token = client.post(f"{report}/share-links", data={"expires_in_days": "5"})
        assert without_token.status_code == 403


def test_an_advertiser_sees_the_report_but_no_links(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "advertiser") as client:
        page = _page(client, f"/campaigns/{world.campaign_id}/report")
        section = _page(client, f"/campaigns/{world.campaign_id}/report/section")
        token = csrf_of(client.get("/"))
        refused = client.post(
            f"/campaigns/{world.campaign_id}/report/share-links", data={"csrf_token": token, "expires_in_days": "5"}
        )
    assert world.campaign_name in page and 'id="report-attribution"' in page
    assert "Create a share link" not in page and "Create a share link" not in section
    assert refused.status_code == 403


@pytest.fixture(scope="module")
async def elsewhere(tenant: Tenant, db: Database) -> World:
    """A campaign of another sponsor of the same workspace."""
    return await report_world(tenant, calculate=False)


def test_another_sponsors_or_workspaces_campaign_is_404(
    server: str, tenant: Tenant, other: Tenant, world: World, elsewhere: World
) -> None:
    with signed_in(server, tenant, "advertiser") as client:
        assert elsewhere.campaign_name not in _page(client, f"/campaigns/{elsewhere.campaign_id}/report", 404)
        assert elsewhere.campaign_name not in _page(client, f"/campaigns/{elsewhere.campaign_id}/report/section", 404)
    with signed_in(server, other, "sales") as client:
        assert world.campaign_name not in _page(client, f"/campaigns/{world.campaign_id}/report", 404)
        assert world.campaign_name not in _page(client, f"/campaigns/{world.campaign_id}/report/section", 404)
        assert "Not found" in _page(client, "/campaigns/not-an-id/report", 404)


def test_anonymous_is_sent_to_sign_in(anon: httpx.Client, world: World) -> None:
    path = f"/campaigns/{world.campaign_id}/report"
    response = anon.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"
