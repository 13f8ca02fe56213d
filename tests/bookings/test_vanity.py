"""Vanity URLs over real HTTP: where `/v/{slug}` sends a listener, the click it records (and the ones it does not),
the 404 page, and what one workspace can see of another's."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy import select, update

from podsponsor.bookings.models import AdUnit, InsertionOrder, VanityClick
from podsponsor.bookings.vanity import landing_with_utm
from podsponsor.catalog.models import Podcast
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.db.urls import libpq_conninfo
from podsponsor.sales.models import Campaign, Sponsor
from tests.conftest import ARTIFACTS, RUNTIME_ROLE, TEST_SECRET
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1"
LISTENER = {"User-Agent": BROWSER}
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
TAGS = "utm_source=podcast&utm_medium=audio"
SERVER_LOG = ARTIFACTS / "server.log"


@dataclass
class Io:
    id: uuid.UUID
    tenant_id: uuid.UUID
    number: str
    slug: str


def keyed(value: str) -> str:
    return hmac.new(TEST_SECRET.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_slug(word: str = "acme") -> str:
    return f"{word}-{uuid.uuid4().hex[:8]}"


async def make_io(
    tenant: Tenant, slug: str | None, landing_url: str | None, *, status: str = "scheduled", number: str = ""
) -> Io:
    """An IO with its parents (show, ad unit, sponsor, deal), inserted as the workspace's own rows."""
    tenant_id = uuid.UUID(tenant.id)
    tag = uuid.uuid4().hex[:8]
    number = number or f"IO-2026-{tag}"
    async with tenant_transaction(tenant_id) as session:
        show = Podcast(tenant_id=tenant_id, title=f"Show {tag}")
        sponsor = Sponsor(tenant_id=tenant_id, name=f"Acme {tag}", industry="Sleep")
        session.add_all([show, sponsor])
        await session.flush()
        unit = AdUnit(
            tenant_id=tenant_id,
            podcast_id=show.id,
            name="Mid-roll",
            position="mid",
            length_seconds=60,
            read_type="host_read",
            insertion="baked_in",
            rate_cpm_cents=2500,
        )
        deal = Campaign(tenant_id=tenant_id, sponsor_id=sponsor.id, name=f"Spring {tag}", stage="won")
        session.add_all([unit, deal])
        await session.flush()
        io = InsertionOrder(
            tenant_id=tenant_id,
            number=number,
            campaign_id=deal.id,
            sponsor_id=sponsor.id,
            podcast_id=show.id,
            ad_unit_id=unit.id,
            flight_start=date.today(),
            flight_end=date.today() + timedelta(days=30),
            impression_goal=10_000,
            pricing_model="cpm",
            cpm_cents=2500,
            vanity_slug=slug,
            landing_url=landing_url,
            promo_code=f"ACME{tag.upper()}",
            status=status,
        )
        session.add(io)
        await session.flush()
        return Io(io.id, tenant_id, number, slug or "")


async def cancel(io: Io) -> None:
    async with tenant_transaction(io.tenant_id) as session:
        await session.execute(update(InsertionOrder).where(InsertionOrder.id == io.id).values(status="cancelled"))


def clicks(database: DatabaseUrls, io: Io) -> list[dict[str, Any]]:
    """The IO's stored clicks, read as the owner role (which sees past row-level security)."""
    with psycopg.connect(libpq_conninfo(database.owner), row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM vanity_clicks WHERE io_id = %s ORDER BY ts", [io.id]).fetchall()


def as_owner(database: DatabaseUrls, statement: str) -> None:
    with psycopg.connect(libpq_conninfo(database.owner), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def network(server: str) -> Tenant:
    return make_tenant(server, name="Vanity Network")


@pytest.fixture(scope="module")
def rival(server: str) -> Tenant:
    return make_tenant(server, name="Rival Network")


@pytest.fixture
async def anon(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.mark.parametrize(
    ("landing", "location"),
    [
        (
            "https://shop.example.com/offer?ref=show&utm_source=newsletter#deal",
            "https://shop.example.com/offer?ref=show&utm_source=newsletter"
            "&utm_medium=audio&utm_campaign=IO-7&utm_content=acme#deal",
        ),
        ("https://shop.example.com", f"https://shop.example.com/?{TAGS}&utm_campaign=IO-7&utm_content=acme"),
        (
            "http://shop.example.com/a b/café?q=é&UTM_Content=mine",
            f"http://shop.example.com/a%20b/caf%C3%A9?q=%C3%A9&UTM_Content=mine&{TAGS}&utm_campaign=IO-7",
        ),
        ("https://bücher.example/x", f"https://xn--bcher-kva.example/x?{TAGS}&utm_campaign=IO-7&utm_content=acme"),
        (
            "https://shop.example.com/%7Esale?a=%20b",
            f"https://shop.example.com/%7Esale?a=%20b&{TAGS}&utm_campaign=IO-7&utm_content=acme",
        ),
    ],
)
def test_utm_tags_are_added_unless_the_landing_url_sets_them(landing: str, location: str) -> None:
    assert landing_with_utm(landing, "acme", "IO-7") == location


@pytest.mark.parametrize(
    "landing",
    [
        None,
        "",
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://files.example.com/offer",
        "//shop.example.com/offer",
        "shop.example.com/offer",
        "https:///offer",
        "https://shop.example.com:99999/",
        "https://evil.example\\@shop.example.com/",
        "https://shop.example.com/\r\nSet-Cookie: a=b",
    ],
)
def test_only_http_and_https_landing_urls_are_followed(landing: str | None) -> None:
    assert landing_with_utm(landing, "acme", "IO-7") is None


async def test_a_live_slug_redirects_with_utm_tags_and_records_a_hashed_click(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/offer?ref=show#deal", number="IO-2026-0042")
    before = datetime.now(UTC)
    referer = "https://notes.example.org/episode-12?" + "x" * 3000
    response = await anon.get(f"/v/{io.slug.upper()}", headers={**LISTENER, "Referer": referer})
    assert response.status_code == 302
    assert response.headers["location"] == (
        f"https://shop.example.com/offer?ref=show&{TAGS}&utm_campaign=IO-2026-0042&utm_content={io.slug}#deal"
    )
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "set-cookie" not in response.headers
    [click] = clicks(database, io)
    assert click["tenant_id"] == io.tenant_id
    assert before <= click["ts"] <= datetime.now(UTC)
    assert click["ip_hash"] == keyed("127.0.0.1")
    assert click["ua_hash"] == keyed(BROWSER)
    assert click["user_agent"] == BROWSER
    assert click["referer"] == referer[:2048]
    assert click["country"] is None  # a loopback address has no registry country
    assert "127.0.0.1" not in " ".join(str(value) for value in click.values())


async def test_a_long_user_agent_is_kept_capped_and_hashed_as_kept(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/")
    long_agent = BROWSER + " Extra/" + "9" * 2000
    assert (await anon.get(f"/v/{io.slug}", headers={"User-Agent": long_agent})).status_code == 302
    [click] = clicks(database, io)
    assert click["user_agent"] == long_agent[:1024]
    assert click["ua_hash"] == keyed(long_agent[:1024])


async def test_head_requests_and_bots_are_redirected_without_a_click(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/")
    for response in (
        await anon.head(f"/v/{io.slug}", headers=LISTENER),
        await anon.get(f"/v/{io.slug}", headers={"User-Agent": GOOGLEBOT}),
        await anon.get(f"/v/{io.slug}", headers={"User-Agent": "SiteAuditCrawler/3.1"}),
    ):
        assert response.status_code == 302
        assert response.headers["location"].startswith("https://shop.example.com/?utm_source=podcast")
    assert clicks(database, io) == []
    assert (await anon.get(f"/v/{io.slug}", headers=LISTENER)).status_code == 302
    assert len(clicks(database, io)) == 1


def _assert_not_active_page(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "private, no-store"
    assert "set-cookie" not in response.headers
    assert "not active" in response.text
    assert "Sign in" not in response.text


async def test_unknown_malformed_and_cancelled_slugs_are_the_same_404_page(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    cancelled = await make_io(network, new_slug(), "https://shop.example.com/", status="cancelled")
    live = await make_io(network, new_slug(), "https://shop.example.com/")
    malformed = ("ab", "a" * 61, "bad_slug", "sl%C3%BCg", "x'%20OR%201=1", f"{live.slug}%0A", f"%20{live.slug}")
    for slug in (new_slug("nobody"), cancelled.slug, *malformed):
        response = await anon.get(f"/v/{slug}", headers=LISTENER)
        _assert_not_active_page(response)
        assert network.slug not in response.text and "Vanity Network" not in response.text
    assert clicks(database, cancelled) == []
    # The same page for a browser that asks for JSON: a listener's link never answers with an API error.
    _assert_not_active_page(await anon.get(f"/v/{new_slug('nobody')}", headers={"Accept": "application/json"}))


async def test_a_landing_url_that_is_not_http_is_never_followed(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    scripted = await make_io(network, new_slug(), "javascript:alert(document.cookie)")
    missing = await make_io(network, new_slug(), None)
    for io in (scripted, missing):
        _assert_not_active_page(await anon.get(f"/v/{io.slug}", headers=LISTENER))
        assert clicks(database, io) == []


async def test_of_two_workspaces_with_one_live_slug_the_older_order_answers(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant, rival: Tenant
) -> None:
    slug = new_slug("shared")
    first = await make_io(network, slug, "https://first.example.com/")
    second = await make_io(rival, slug.upper(), "https://second.example.com/")
    for _ in range(2):
        response = await anon.get(f"/v/{slug}", headers=LISTENER)
        assert response.headers["location"].startswith("https://first.example.com/")
    assert (len(clicks(database, first)), len(clicks(database, second))) == (2, 0)
    await cancel(first)
    response = await anon.get(f"/v/{slug}", headers=LISTENER)
    assert response.headers["location"].startswith("https://second.example.com/")
    assert (len(clicks(database, first)), len(clicks(database, second))) == (2, 1)


async def test_a_workspace_sees_only_its_own_clicks(
    db: Database, anon: httpx.AsyncClient, network: Tenant, rival: Tenant
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/")
    assert (await anon.get(f"/v/{io.slug}", headers=LISTENER)).status_code == 302
    async with tenant_transaction(uuid.UUID(network.id)) as session:
        own = (await session.scalars(select(VanityClick).where(VanityClick.io_id == io.id))).all()
    async with tenant_transaction(uuid.UUID(rival.id)) as session:
        theirs = (await session.scalars(select(VanityClick).where(VanityClick.io_id == io.id))).all()
        every = (await session.scalars(select(VanityClick.tenant_id))).all()
    assert len(own) == 1
    assert theirs == []
    assert set(every) <= {uuid.UUID(rival.id)}


async def test_a_click_that_cannot_be_stored_still_redirects(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/offer")
    as_owner(database, f'REVOKE INSERT ON vanity_clicks FROM "{RUNTIME_ROLE}"')
    try:
        response = await anon.get(f"/v/{io.slug}", headers=LISTENER)
    finally:
        as_owner(database, f'GRANT INSERT ON vanity_clicks TO "{RUNTIME_ROLE}"')
    assert response.status_code == 302
    assert (
        response.headers["location"]
        == f"https://shop.example.com/offer?{TAGS}&utm_campaign={io.number}&utm_content={io.slug}"
    )
    assert clicks(database, io) == []
    assert "vanity click not recorded" in SERVER_LOG.read_text()
    assert (await anon.get(f"/v/{io.slug}", headers=LISTENER)).status_code == 302
    assert len(clicks(database, io)) == 1


async def test_a_lookup_that_fails_is_a_try_again_page(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/")
    function = "bookings_io_for_vanity(text)"
    as_owner(database, f'REVOKE EXECUTE ON FUNCTION {function} FROM "{RUNTIME_ROLE}"')
    try:
        response = await anon.get(f"/v/{io.slug}", headers=LISTENER)
    finally:
        as_owner(database, f'GRANT EXECUTE ON FUNCTION {function} TO "{RUNTIME_ROLE}"')
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "60"
    assert "try again" in response.text
    assert (await anon.get(f"/v/{io.slug}", headers=LISTENER)).status_code == 302


@pytest.fixture(scope="module")
def proxied(database: DatabaseUrls) -> Iterator[str]:
    """The app behind a trusted proxy (us), in a process of its own."""
    env = {**os.environ, "TRUSTED_PROXIES": "127.0.0.1/32"}
    with serve_app(env, Path(ARTIFACTS) / "vanity-proxied-server.log") as base:
        yield base


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    db: Database, anon: httpx.AsyncClient, database: DatabaseUrls, network: Tenant, proxied: str
) -> None:
    io = await make_io(network, new_slug(), "https://shop.example.com/")
    forwarded = {**LISTENER, "X-Forwarded-For": "81.2.69.160"}
    assert (await anon.get(f"/v/{io.slug}", headers=forwarded)).status_code == 302
    async with httpx.AsyncClient(base_url=proxied, timeout=30) as behind_proxy:
        assert (await behind_proxy.get(f"/v/{io.slug}", headers=forwarded)).status_code == 302
    stored = [(click["ip_hash"], click["country"]) for click in clicks(database, io)]
    assert stored == [(keyed("127.0.0.1"), None), (keyed("81.2.69.160"), "GB")]
