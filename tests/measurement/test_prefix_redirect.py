"""The prefix redirect over real HTTP: where it sends listeners, what it records, and what it refuses."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.conftest import ROOT, TEST_SECRET
from tests.factories.app_server import serve_app
from tests.factories.identity import PASSWORD, Tenant, make_tenant
from tests.web.conftest import browser, submit

LISTENER = {"User-Agent": "AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)"}
MEASUREMENT = "/api/v1/feature-flags/ENABLE_PREFIX_MEASUREMENT"


@dataclass
class Show:
    id: str
    tenant_id: str
    token: str
    owner_email: str
    tenant: Tenant


def expected_hash(address: str) -> str:
    return hmac.new(TEST_SECRET.encode(), address.encode(), hashlib.sha256).hexdigest()


def make_show(server: str, title: str = "Prefixed Show") -> Show:
    tenant = make_tenant(server)
    with tenant.client() as api:
        created = api.post("/api/v1/podcasts", json={"title": title})
    assert created.status_code == 201, created.text
    body = created.json()
    return Show(body["id"], tenant.id, body["prefix_token"], tenant.owner_email, tenant)


def set_measurement(show: Show, enabled: bool) -> None:
    """The show's tenant overrides ENABLE_PREFIX_MEASUREMENT, as its owner does on the flags API."""
    with show.tenant.client() as owner:
        response = owner.put(MEASUREMENT, json={"enabled": enabled})
    assert (response.status_code, response.json()["enabled"]) == (200, enabled), response.text


def hits(database: DatabaseUrls, podcast_id: str) -> list[dict[str, Any]]:
    """The show's stored hits, read as the owner role (which sees past row-level security)."""
    with psycopg.connect(libpq_conninfo(database.owner), row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT * FROM download_requests WHERE podcast_id = %s ORDER BY ts", [podcast_id]
        ).fetchall()


@pytest.fixture(scope="module")
def show(server: str) -> Show:
    return make_show(server)


@pytest.fixture
def anon(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, follow_redirects=False) as client:
        yield client


def test_get_and_head_redirect_to_the_enclosure_and_are_recorded(
    anon: httpx.Client, database: DatabaseUrls, server: str
) -> None:
    show = make_show(server)
    path = f"/p/{show.token}/media.example.com/shows/ep%2001.mp3?s=feed&t=1"
    headers = {**LISTENER, "Range": "bytes=0-1", "Referer": "https://player.example.org/"}
    got = anon.get(path, headers=headers)
    head = anon.head(path, headers=LISTENER)
    for response in (got, head):
        assert response.status_code == 302
        assert response.headers["location"] == "https://media.example.com/shows/ep%2001.mp3?s=feed&t=1"
        assert response.headers["cache-control"] == "private, no-cache"
    stored = hits(database, show.id)
    assert [row["method"] for row in stored] == ["GET", "HEAD"]
    first, second = stored
    assert str(first["tenant_id"]) == show.tenant_id
    assert first["url"] == f"{server}{path}"
    assert first["destination"] == "https://media.example.com/shows/ep%2001.mp3?s=feed&t=1"
    assert (first["range_header"], first["user_agent"]) == ("bytes=0-1", LISTENER["User-Agent"])
    assert first["referer"] == "https://player.example.org/"
    assert (second["range_header"], second["referer"]) == (None, None)
    assert {row["status"] for row in stored} == {302}
    assert first["ts"] < second["ts"]


def test_the_client_address_is_stored_only_as_its_keyed_hash(
    anon: httpx.Client, database: DatabaseUrls, show: Show
) -> None:
    # Without TRUSTED_PROXIES the forwarded header is the client's word and is ignored.
    forged = {"X-Forwarded-For": "203.0.113.9", "Host": "prefix.example.com"}
    response = anon.get(f"/p/{show.token}/cdn.example.net/a.mp3", headers=forged)
    assert response.status_code == 302
    row = hits(database, show.id)[-1]
    assert row["url"] == f"http://prefix.example.com/p/{show.token}/cdn.example.net/a.mp3"
    assert row["ip_hash"] == expected_hash("127.0.0.1")
    assert "127.0.0.1" not in " ".join(str(value) for value in row.values())
    assert expected_hash("203.0.113.9") != row["ip_hash"]


def test_header_values_are_stored_exactly_as_sent(anon: httpx.Client, database: DatabaseUrls, show: Show) -> None:
    odd = 'Pod\'cast "App" \\ Über/1.0 ); DROP TABLE download_requests; --'
    response = anon.get(f"/p/{show.token}/media.example.com/odd.mp3", headers={"User-Agent": odd.encode("latin-1")})
    assert response.status_code == 302
    assert hits(database, show.id)[-1]["user_agent"] == odd


def test_an_explicit_scheme_is_kept(anon: httpx.Client, show: Show) -> None:
    for rest, location in (
        ("http://plain.example.com/ep.mp3", "http://plain.example.com/ep.mp3"),
        ("https://secure.example.com/ep.mp3", "https://secure.example.com/ep.mp3"),
        ("media.example.com:8443/ep.mp3", "https://media.example.com:8443/ep.mp3"),
        ("dts.podtrac.com/redirect.mp3/https://host.example.com/ep.mp3", None),
    ):
        response = anon.get(f"/p/{show.token}/{rest}")
        assert response.status_code == 302, rest
        assert response.headers["location"] == (location or f"https://{rest}")


def test_an_unknown_token_is_not_found_and_records_nothing(anon: httpx.Client, database: DatabaseUrls) -> None:
    with psycopg.connect(libpq_conninfo(database.owner)) as conn:
        before = conn.execute("SELECT count(*) FROM download_requests").fetchone()
    for token in ("AAAAAAAAAAAAAAAA", "no", "bad token!"):
        response = anon.get(f"/p/{token}/media.example.com/ep.mp3")
        assert response.status_code == 404, token
        assert "location" not in response.headers
    assert (
        anon.get("/p/AAAAAAAAAAAAAAAA/media.example.com/ep.mp3")
        .headers["content-type"]
        .startswith("application/problem+json")
    )
    with psycopg.connect(libpq_conninfo(database.owner)) as conn:
        assert conn.execute("SELECT count(*) FROM download_requests").fetchone() == before


@pytest.mark.parametrize(
    "rest",
    [
        "",
        "javascript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "data:text/html,hi",
        "//evil.example.com/x",
        "https://",
        "localhost/ep.mp3",
        "localhost:8000/ep.mp3",
        "127.0.0.1/ep.mp3",
        "10.1.2.3/ep.mp3",
        "169.254.169.254/latest/meta-data",
        "[::1]/ep.mp3",
        "printer.local/ep.mp3",
        "trusted.example.com@evil.example.com/ep.mp3",
        "https://trusted.example.com%40evil.example.com/ep.mp3",
        "media.example.com:99999/ep.mp3",
        "media.example.com%5C@evil.example.com/ep.mp3",
        "ftp://media.example.com/ep.mp3",
        "intranet/ep.mp3",
    ],
)
def test_a_destination_that_is_not_a_public_web_url_is_refused(anon: httpx.Client, show: Show, rest: str) -> None:
    response = anon.get(f"/p/{show.token}/{rest}")
    assert response.status_code in (400, 404), response.headers.get("location")
    assert "location" not in response.headers


def test_a_public_ip_destination_is_allowed(anon: httpx.Client, show: Show) -> None:
    response = anon.get(f"/p/{show.token}/93.184.215.14/ep.mp3")
    assert (response.status_code, response.headers["location"]) == (302, "https://93.184.215.14/ep.mp3")


def test_post_is_not_a_prefix_request(anon: httpx.Client, show: Show) -> None:
    assert anon.post(f"/p/{show.token}/media.example.com/ep.mp3").status_code == 405


def test_many_concurrent_requests_are_all_answered_and_all_stored(database: DatabaseUrls, server: str) -> None:
    show = make_show(server, "Busy Show")

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server, timeout=30, limits=limits) as client:
            responses = await asyncio.gather(
                *(client.get(f"/p/{show.token}/media.example.com/ep{n % 7}.mp3", headers=LISTENER) for n in range(200))
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    assert statuses == [302] * 200
    stored = hits(database, show.id)
    assert len(stored) == 200
    assert len({row["id"] for row in stored}) == 200
    assert {(row["id"].version, row["id"].variant) for row in stored} == {(4, uuid.RFC_4122)}


def test_the_show_page_gives_the_prefixed_feed_pattern(server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api:
        show = api.post("/api/v1/podcasts", json={"title": "Page Show"}).json()
        episode = {"podcast_id": show["id"], "title": "Pilot", "enclosure_url": "https://media.example.com/pilot.mp3"}
        assert api.post("/api/v1/episodes", json=episode).status_code == 201
    with browser(server) as client:
        submit(client, "/login", "/login", {"email": tenant.owner_email, "password": PASSWORD})
        page = client.get(f"/podcasts/{show['id']}").text
    prefix = f"{server}/p/{show['prefix_token']}/"
    assert f"{prefix}&lt;enclosure URL without scheme&gt;" in page
    assert f"{prefix}media.example.com/pilot.mp3" in page


def test_prefix_tokens_are_distinct_and_url_safe(server: str) -> None:
    tokens = [make_show(server, f"Show {n}").token for n in range(3)]
    assert len(set(tokens)) == 3
    assert all(len(t) >= 16 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


def test_a_tenant_that_turned_measurement_off_is_still_redirected_and_nothing_is_recorded(
    anon: httpx.Client, database: DatabaseUrls, server: str
) -> None:
    unmeasured, measured = make_show(server, "Unmeasured Show"), make_show(server, "Measured Show")
    set_measurement(unmeasured, False)
    for show in (unmeasured, measured):
        for method in ("GET", "HEAD"):
            response = anon.request(method, f"/p/{show.token}/media.example.com/ep1.mp3?s=feed", headers=LISTENER)
            assert response.status_code == 302, (show.token, method)
            assert response.headers["location"] == "https://media.example.com/ep1.mp3?s=feed"
            assert response.headers["cache-control"] == "private, no-cache"
    assert hits(database, unmeasured.id) == []
    assert [row["method"] for row in hits(database, measured.id)] == ["GET", "HEAD"]


@pytest.fixture(scope="module")
def unmeasured_server(database: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app in a process of its own with ENABLE_PREFIX_MEASUREMENT=false for the whole deployment."""
    env = {
        **os.environ,
        "ENABLE_PREFIX_MEASUREMENT": "false",
        "PODSPONSOR_DATA_DIR": str(tmp_path_factory.mktemp("unmeasured")),
    }
    with serve_app(env, ROOT / "test-artifacts" / "prefix-unmeasured-server.log") as base:
        yield base


def test_with_measurement_off_for_the_deployment_the_prefix_redirects_and_records_nothing(
    unmeasured_server: str, database: DatabaseUrls, server: str
) -> None:
    unmeasured, opted_in = make_show(server, "Default Off"), make_show(server, "Opted In")
    set_measurement(opted_in, True)  # a tenant's override wins over the environment, as for every flag
    with httpx.Client(base_url=unmeasured_server, timeout=30) as client:
        for show in (unmeasured, opted_in):
            response = client.get(f"/p/{show.token}/media.example.com/ep2.mp3", headers=LISTENER)
            assert (response.status_code, response.headers["location"]) == (302, "https://media.example.com/ep2.mp3")
        assert client.get("/p/AAAAAAAAAAAAAAAA/media.example.com/ep2.mp3").status_code == 404
        assert client.get(f"/p/{unmeasured.token}/localhost/ep2.mp3").status_code == 400
    assert hits(database, unmeasured.id) == []
    assert [row["destination"] for row in hits(database, opted_in.id)] == ["https://media.example.com/ep2.mp3"]
