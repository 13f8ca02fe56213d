"""Share links: a seller creates one (its URL given once, only the token's hash stored), the sponsor opens the
report without signing in, with its downloads under the same link, every opening counted; the link opens that one
campaign only; a changed token, signature or stored expiry finds nothing (404); an expired link is 410 and says so,
a revoked one 410 saying it was withdrawn; and who may manage links (sellers only; other workspaces 404)."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from podsponsor.auth.subject import system_subject
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.reports import links
from podsponsor.reports.schemas import ShareLinkIn
from tests.attribution.world import as_owner
from tests.factories.identity import Tenant, make_tenant
from tests.reports.world import World, advertisers_sponsor, api_json, report_world

SHARED = re.compile(r"/shared/campaigns/([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$")


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


@pytest.fixture(scope="module")
async def world(tenant: Tenant, db: Database) -> World:
    sponsor_id, _ = advertisers_sponsor(tenant)
    return await report_world(tenant, sponsor_id=sponsor_id)


@pytest.fixture(scope="module")
async def second(tenant: Tenant, db: Database) -> World:
    return await report_world(tenant, calculate=False)


def share(tenant: Tenant, world: World, role: str = "sales", status: int = 201, **body: Any) -> Any:
    with tenant.client(role) as api:
        return api_json(api.post(f"/api/v1/reports/campaigns/{world.campaign_id}/share-links", json=body), status)


def listed(tenant: Tenant, world: World) -> dict[str, Any]:
    with tenant.client("sales") as api:
        found = api_json(api.get(f"/api/v1/reports/campaigns/{world.campaign_id}/share-links"))
    return {link["id"]: link for link in found}


def path_of(url: str) -> str:
    found = SHARED.search(url)
    assert found, url
    return found.group(0)


def test_a_link_opens_the_report_without_signing_in(tenant: Tenant, world: World, anon: httpx.Client) -> None:
    created = share(tenant, world, expires_in_days=7, label="Acme marketing")
    assert created["status"] == "active" and created["views"] == 0 and created["label"] == "Acme marketing"
    assert created["url"].startswith(tenant.base_url)
    made = datetime.fromisoformat(created["created_at"])
    assert (
        timedelta(days=7) - timedelta(seconds=1)
        < datetime.fromisoformat(created["expires_at"]) - made
        <= timedelta(days=7)
    )
    assert created["created_by"] == tenant.user_ids["sales"]
    page = anon.get(path_of(created["url"]))
    assert page.status_code == 200
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "private, no-store"
    assert "set-cookie" not in page.headers
    html = page.text
    assert world.campaign_name in html and world.sponsor_name in html
    assert "Morning Brief" in html and "Methodology" in html and 'id="pacing-chart"' in html
    # Nothing on it leads into the app: the only links are its own downloads.
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert {h for h in hrefs if not h.startswith("/static/")} == {
        f"{path_of(created['url'])}/report.{extension}" for extension in ("pdf", "xlsx", "csv")
    }
    assert "Sign in" not in html and "/login" not in html


def test_only_the_tokens_hash_is_stored(tenant: Tenant, world: World, database: DatabaseUrls) -> None:
    created = share(tenant, world)
    secret = SHARED.search(created["url"]).group(1)  # type: ignore[union-attr]
    [row] = as_owner(database, "SELECT * FROM campaign_share_links WHERE id = %s", created["id"])
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row) and created["url"] not in str(row)
    assert "url" not in listed(tenant, world)[created["id"]]


def test_each_opening_is_counted(tenant: Tenant, world: World, anon: httpx.Client) -> None:
    created = share(tenant, world)
    for _ in range(3):
        assert anon.get(path_of(created["url"])).status_code == 200
    assert anon.get(path_of(created["url"]) + "/report.csv").status_code == 200
    found = listed(tenant, world)[created["id"]]
    assert found["views"] == 3
    assert found["last_viewed_at"] is not None


def test_downloads_under_the_same_link(tenant: Tenant, world: World, anon: httpx.Client) -> None:
    base = path_of(share(tenant, world)["url"])
    pdf = anon.get(base + "/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["x-robots-tag"] == "noindex, nofollow"
    assert "attachment;" in pdf.headers["content-disposition"]
    xlsx = anon.get(base + "/report.xlsx")
    assert xlsx.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "Summary"
    csv = anon.get(base + "/report.csv")
    assert csv.status_code == 200 and csv.text.startswith("IO,Show,")
    assert anon.get(base + "/report.json").status_code == 404
    assert anon.get(base + "/report.docx").status_code == 404


def test_a_link_opens_its_own_campaign_only(tenant: Tenant, world: World, second: World, anon: httpx.Client) -> None:
    mine = share(tenant, world)["url"]
    theirs = share(tenant, second)["url"]
    assert world.campaign_name not in anon.get(path_of(theirs)).text
    assert second.campaign_name not in anon.get(path_of(mine)).text
    # One link's token with the other's signature opens neither campaign.
    secret = SHARED.search(mine).group(1)  # type: ignore[union-attr]
    signed = SHARED.search(theirs).group(2)  # type: ignore[union-attr]
    crossed = anon.get(f"/shared/campaigns/{secret}.{signed}")
    assert crossed.status_code == 404
    assert world.campaign_name not in crossed.text and second.campaign_name not in crossed.text
    assert anon.get(f"{path_of(mine)}?campaign_id={second.campaign_id}").text.count(second.campaign_name) == 0


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def test_tampered_or_unknown_links_are_404(tenant: Tenant, world: World, anon: httpx.Client) -> None:
    path = path_of(share(tenant, world)["url"])
    token = path.rsplit("/", 1)[1]
    for changed in (_flip(token, 0), _flip(token, 42), _flip(token, 44), _flip(token, len(token) - 1)):
        response = anon.get(f"/shared/campaigns/{changed}")
        assert response.status_code == 404, changed
        assert 'data-shared-status="not-found"' in response.text
        assert tenant.slug not in response.text and world.campaign_name not in response.text
    for malformed in ("nothing", token[:43], token + "x", token.replace(".", "")):
        assert anon.get(f"/shared/campaigns/{malformed}").status_code == 404
        assert anon.get(f"/shared/campaigns/{malformed}/report.pdf").status_code == 404
    assert anon.get(f"/shared/campaigns/{_flip(token, 44)}/report.pdf").status_code == 404
    assert anon.get(path).status_code == 200


def test_a_stored_expiry_changed_in_the_database_finds_nothing(
    tenant: Tenant, world: World, anon: httpx.Client, database: DatabaseUrls
) -> None:
    created = share(tenant, world, expires_in_days=1)
    as_owner(
        database, "UPDATE campaign_share_links SET expires_at = expires_at + interval '30 days' WHERE id = %s",
        created["id"],
    )  # fmt: skip
    assert anon.get(path_of(created["url"])).status_code == 404


async def _link_made(tenant: Tenant, world: World, at: datetime, days: int) -> str:
    async with tenant_transaction(uuid.UUID(tenant.id)) as session:
        made = await links.create_link(
            session, system_subject(uuid.UUID(tenant.id)), world.campaign_id, ShareLinkIn(expires_in_days=days), now=at
        )
    return made.path


async def test_an_expired_link_is_410_and_says_so(tenant: Tenant, world: World, server: str) -> None:
    path = await _link_made(tenant, world, datetime.now(UTC) - timedelta(days=3), days=2)
    fresh = await _link_made(tenant, world, datetime.now(UTC) - timedelta(days=3), days=4)
    async with httpx.AsyncClient(base_url=server, timeout=60) as anon:
        page = await anon.get(path)
        assert page.status_code == 410
        assert 'data-shared-status="expired"' in page.text and "This link has expired" in page.text
        assert world.campaign_name not in page.text
        assert page.headers["x-robots-tag"] == "noindex, nofollow"
        assert (await anon.get(path + "/report.pdf")).status_code == 410
        assert (await anon.get(fresh)).status_code == 200


def test_a_revoked_link_is_410_saying_it_was_withdrawn(tenant: Tenant, world: World, anon: httpx.Client) -> None:
    created = share(tenant, world, label="Agency")
    assert anon.get(path_of(created["url"])).status_code == 200
    with tenant.client("sales") as api:
        revoked = api_json(api.delete(f"/api/v1/reports/share-links/{created['id']}"))
    assert revoked["status"] == "revoked"
    assert revoked["revoked_by"] == tenant.user_ids["sales"] and revoked["revoked_at"] is not None
    page = anon.get(path_of(created["url"]))
    assert page.status_code == 410
    assert 'data-shared-status="revoked"' in page.text and "This link was withdrawn" in page.text
    assert anon.get(path_of(created["url"]) + "/report.xlsx").status_code == 410
    with tenant.client("owner") as api:
        again = api_json(api.delete(f"/api/v1/reports/share-links/{created['id']}"))
        assert (again["revoked_at"], again["revoked_by"]) == (revoked["revoked_at"], revoked["revoked_by"])
        events = api_json(api.get("/api/v1/events", params={"type": "report.share_link_revoked"}))["items"]
    assert [e["subject_id"] for e in events].count(created["id"]) == 1
    assert listed(tenant, world)[created["id"]]["status"] == "revoked"


def test_creating_a_link_is_an_event_without_the_token(tenant: Tenant, world: World) -> None:
    created = share(tenant, world, label="Events")
    with tenant.client("owner") as api:
        events = api_json(api.get("/api/v1/events", params={"type": "report.share_link_created"}))["items"]
    [event] = [e for e in events if e["subject_id"] == created["id"]]
    assert event["payload"]["campaign_id"] == str(world.campaign_id)
    assert event["payload"]["label"] == "Events"
    assert event["payload"]["expires_at"] == created["expires_at"].replace("Z", "+00:00")
    assert SHARED.search(created["url"]).group(1) not in str(event)  # type: ignore[union-attr]


def test_expiry_is_1_to_90_days(tenant: Tenant, world: World) -> None:
    assert share(tenant, world)["expires_at"]
    for days in (0, 91):
        problem = share(tenant, world, status=422, expires_in_days=days)
        assert problem["errors"][0]["field"] == "expires_in_days"
    assert share(tenant, world, status=422, label="x" * 201)["errors"][0]["field"] == "label"
    assert share(tenant, world, status=422, token="mine")["errors"][0]["field"] == "token"


def test_listing_is_newest_first_without_urls(tenant: Tenant, second: World) -> None:
    first = share(tenant, second, label="first")
    later = share(tenant, second, label="later")
    with tenant.client("sales") as api:
        found = api_json(api.get(f"/api/v1/reports/campaigns/{second.campaign_id}/share-links"))
    assert [link["id"] for link in found][:2] == [later["id"], first["id"]]
    assert all("url" not in link and "token_hash" not in link for link in found)


# --- Who may manage links ----------------------------------------------------------------------------------------


def test_anonymous_is_401(anon: httpx.Client, world: World) -> None:
    assert anon.post(f"/api/v1/reports/campaigns/{world.campaign_id}/share-links", json={}).status_code == 401
    assert anon.get(f"/api/v1/reports/campaigns/{world.campaign_id}/share-links").status_code == 401
    assert anon.delete(f"/api/v1/reports/share-links/{uuid.uuid4()}").status_code == 401


def test_readers_who_cannot_sell_are_403(tenant: Tenant, world: World) -> None:
    link = share(tenant, world)
    for role in ("advertiser", "creator"):
        share(tenant, world, role=role, status=403)
        with tenant.client(role) as api:
            assert api.get(f"/api/v1/reports/campaigns/{world.campaign_id}/share-links").status_code == 403
            assert api.delete(f"/api/v1/reports/share-links/{link['id']}").status_code == 403


def test_another_workspace_is_404(other: Tenant, tenant: Tenant, world: World) -> None:
    link = share(tenant, world)
    share(other, world, status=404)
    with other.client("sales") as api:
        assert api.get(f"/api/v1/reports/campaigns/{world.campaign_id}/share-links").status_code == 404
        assert api.delete(f"/api/v1/reports/share-links/{link['id']}").status_code == 404
    assert listed(tenant, world)[link["id"]]["status"] == "active"


def test_the_shared_page_reads_as_the_sponsor(tenant: Tenant, world: World, second: World, anon: httpx.Client) -> None:
    """Whatever the sponsor's own advertiser user would not see, the page does not show either: internal campaign
    notes never appear, and a link works for a campaign of a sponsor without users."""
    with tenant.client() as api:
        api_json(api.patch(f"/api/v1/campaigns/{world.campaign_id}", json={"notes": "internal: walk-away 9k"}))
    assert "walk-away" not in anon.get(path_of(share(tenant, world)["url"])).text
    assert second.campaign_name in anon.get(path_of(share(tenant, second)["url"])).text
