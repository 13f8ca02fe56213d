"""Shows from RSS feeds over real HTTP: every shared feed, moves, conditional GETs, failures and refusals."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from podsponsor.catalog.feeds import FeedParseError, parse_feed
from tests.factories.feed_server import FEEDS, FeedServer, synthetic_feed
from tests.factories.identity import make_tenant

ALL_FEEDS = sorted(p.relative_to(FEEDS).as_posix() for p in FEEDS.rglob("*") if p.suffix in {".rss", ".xml"})


@pytest.fixture(scope="module")
def tenant(server: str):
    return make_tenant(server, roles=("owner", "sales"))


def _import(api: httpx.Client, url: str) -> httpx.Response:
    return api.post("/api/v1/podcasts/import", json={"feed_url": url})


def _episodes(api: httpx.Client, podcast_id: str) -> list[dict]:
    found: list[dict] = []
    offset: int | None = 0
    while offset is not None:
        page = api.get("/api/v1/episodes", params={"podcast_id": podcast_id, "limit": 200, "offset": offset}).json()
        found += page["items"]
        offset = page["next_offset"]
    return found


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_every_shared_feed_imports_as_the_parser_reads_it_or_fails_cleanly(
    name: str, server: str, feed_server: FeedServer
) -> None:
    """Each feed becomes a show with exactly the episodes its items describe, or a 422 naming why."""
    owner = make_tenant(server)
    url = feed_server.url(f"/feeds/{name}")
    try:
        expected = parse_feed((FEEDS / name).read_bytes(), url)
    except FeedParseError:
        expected = None
    with owner.client() as api:
        response = _import(api, url)
        if expected is None:
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert api.get("/api/v1/podcasts").json()["total"] == 0
            return
        assert response.status_code == 201, response.text
        report = response.json()
        assert report["episodes_in_feed"] == report["episodes_created"] == len(expected.episodes)
        stored = _episodes(api, report["podcast_id"])
        assert sorted(e["guid"] for e in stored) == sorted(e.guid for e in expected.episodes)
        show = api.get(f"/api/v1/podcasts/{report['podcast_id']}").json()
        assert show["ingest_status"] == "ok" and show["title"] == (expected.title or url)[:500]


@pytest.mark.parametrize(
    ("name", "episodes"),
    [
        ("partytime/pc20rss.xml", 56),
        ("partytime/sentimental-garbage.xml", 138),
        ("jbierfeldt-podcast-feed-parser/planet-money.xml", 355),
        ("jbierfeldt-podcast-feed-parser/bc-sample-bad.xml", 4),
        ("lukaswhite-podcast-feed-parser/serial.rss", 40),
    ],
)
def test_real_feeds_give_the_episode_counts_a_reader_counts(
    name: str, episodes: int, tenant, feed_server: FeedServer
) -> None:
    with tenant.client() as api:
        report = _import(api, feed_server.url(f"/feeds/{name}")).json()
        assert report["episodes_in_feed"] == episodes
        assert len(_episodes(api, report["podcast_id"])) == episodes


def test_podcasting_20_details_and_fractional_durations_are_kept(tenant, feed_server: FeedServer) -> None:
    with tenant.client() as api:
        report = _import(api, feed_server.url("/feeds/partytime/pc20rss.xml")).json()
        show = api.get(f"/api/v1/podcasts/{report['podcast_id']}").json()
        assert show["podcast_guid"] == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
        assert show["feed_extras"]["funding"] and show["feed_extras"]["value"]
        episodes = _episodes(api, report["podcast_id"])
        assert sum(1 for e in episodes if e["transcript_url"]) > 0
        assert sum(1 for e in episodes if e["chapters_url"]) > 0
        podverse = _import(api, feed_server.url("/feeds/partytime/podverse-test-feed.xml")).json()
        durations = {e["duration_seconds"] for e in _episodes(api, podverse["podcast_id"])}
        assert 1015 in durations  # itunes:duration 1014.708375 rounds to whole seconds


def test_reimport_changes_nothing_and_a_refresh_uses_the_etag(tenant, feed_server: FeedServer) -> None:
    url = feed_server.put("stable", synthetic_feed(30, title="Stable Show"))
    with tenant.client() as api:
        first = _import(api, url)
        assert first.status_code == 201
        again = _import(api, url)
        assert again.status_code == 200
        assert again.json()["episodes_created"] == 0 and again.json()["episodes_unchanged"] == 30
        podcast_id = first.json()["podcast_id"]
        refreshed = api.post(f"/api/v1/podcasts/{podcast_id}/refresh").json()
        assert refreshed["not_modified"] is True
        assert feed_server.requests[-1][1].get("if-none-match")
        assert len(_episodes(api, podcast_id)) == 30


def test_a_changed_feed_adds_and_updates_episodes(tenant, feed_server: FeedServer) -> None:
    url = feed_server.put("growing", synthetic_feed(10, title="Growing Show"))
    with tenant.client() as api:
        podcast_id = _import(api, url).json()["podcast_id"]
        feed_server.put("growing", synthetic_feed(12, title="Growing Show").replace(b"Episode 3<", b"Episode Three<"))
        report = api.post(f"/api/v1/podcasts/{podcast_id}/refresh").json()
        assert (report["episodes_created"], report["episodes_updated"], report["episodes_unchanged"]) == (2, 1, 9)
        titles = {e["guid"]: e["title"] for e in _episodes(api, podcast_id)}
        assert titles["syn-3"] == "Episode Three" and len(titles) == 12
        events = api.get("/api/v1/events", params={"type": "podcast.ingested"}).json()["items"]
        assert events[0]["subject_id"] == podcast_id and events[0]["payload"]["episodes_created"] == 2


def test_a_permanent_redirect_moves_the_stored_address_a_temporary_one_does_not(tenant, feed_server) -> None:
    destination = feed_server.put("moving", synthetic_feed(2, title="Moving"))
    feed_server.put("visiting", synthetic_feed(2, title="Visiting"))
    with tenant.client() as api:
        moved = _import(api, feed_server.url("/moved/live/moving")).json()
        assert moved["feed_url"] == destination
        assert moved["moved_from"] == feed_server.url("/moved/live/moving")
        temporary = _import(api, feed_server.url("/temporary/live/visiting")).json()
        assert temporary["feed_url"] == feed_server.url("/temporary/live/visiting")
        assert temporary["moved_from"] is None


def test_itunes_new_feed_url_is_honoured(tenant, feed_server: FeedServer) -> None:
    new_home = feed_server.put("new-home", synthetic_feed(3, title="Relocated"))
    old = synthetic_feed(3, title="Relocated").replace(
        b"<link>", f"<itunes:new-feed-url>{new_home}</itunes:new-feed-url><link>".encode(), 1
    )
    with tenant.client() as api:
        report = _import(api, feed_server.put("old-home", old)).json()
        assert report["feed_url"] == new_home
        show = api.get(f"/api/v1/podcasts/{report['podcast_id']}").json()
        assert show["feed_url"] == new_home


def test_measurement_prefixes_are_recorded_and_unwrapped(tenant, feed_server: FeedServer) -> None:
    wrapped = "https://dts.podtrac.com/redirect.mp3/chrt.fm/track/ABC123/"
    url = feed_server.put("prefixed", synthetic_feed(2, title="Prefixed", prefix=wrapped))
    with tenant.client() as api:
        episodes = _episodes(api, _import(api, url).json()["podcast_id"])
        first = next(e for e in episodes if e["guid"] == "syn-1")
        assert first["enclosure_url"].startswith("https://dts.podtrac.com/")
        assert first["enclosure_destination_url"] == "https://cdn.example.com/audio/1.mp3"
        assert first["enclosure_prefixes"] == ["Podtrac", "Chartable"]


def test_duplicate_guids_keep_one_episode_and_say_so(tenant, feed_server: FeedServer) -> None:
    body = synthetic_feed(3, title="Dupes").replace(b"syn-2", b"syn-1")
    with tenant.client() as api:
        report = _import(api, feed_server.put("dupes", body)).json()
        assert report["episodes_created"] == 2
        assert any("syn-1" in warning for warning in report["warnings"])


def test_a_feed_that_breaks_keeps_its_episodes_and_shows_the_error(tenant, feed_server: FeedServer) -> None:
    url = feed_server.put("breaking", synthetic_feed(4, title="Breaking"))
    with tenant.client() as api:
        podcast_id = _import(api, url).json()["podcast_id"]
        feed_server.put("breaking", b"i am not xml")
        failed = api.post(f"/api/v1/podcasts/{podcast_id}/refresh")
        assert failed.status_code == 422
        show = api.get(f"/api/v1/podcasts/{podcast_id}").json()
        assert show["ingest_status"] == "failed" and show["last_ingest_error"]
        assert show["last_ingested_at"] is not None and len(_episodes(api, podcast_id)) == 4
        failures = api.get("/api/v1/events", params={"type": "podcast.ingest_failed"}).json()["items"]
        assert failures[0]["subject_id"] == podcast_id


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/feed.xml",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/feed.xml",
        "http://localhost/feed.xml",
        "file:///etc/passwd",
    ],
)
def test_private_and_local_addresses_are_refused(url: str, tenant) -> None:
    with tenant.client() as api:
        response = _import(api, url)
        assert response.status_code == 422, response.text
        assert api.get("/api/v1/podcasts", params={"q": url}).json()["total"] == 0


def test_a_5000_item_feed_imports_completely(tenant, feed_server: FeedServer) -> None:
    url = feed_server.put("huge", synthetic_feed(5000, title="Huge Show"))
    with tenant.client() as api:
        report = _import(api, url).json()
        assert report["episodes_created"] == 5000
        assert api.get("/api/v1/episodes", params={"podcast_id": report["podcast_id"]}).json()["total"] == 5000


def test_import_and_refresh_need_catalog_write_and_stay_in_the_tenant(server: str, tenant, feed_server) -> None:
    url = feed_server.put("guarded", synthetic_feed(1, title="Guarded"))
    with tenant.client("sales") as sales:
        assert _import(sales, url).status_code == 403
    assert httpx.post(f"{server}/api/v1/podcasts/import", json={"feed_url": url}).status_code == 401
    with tenant.client() as api:
        podcast_id = _import(api, url).json()["podcast_id"]
    with make_tenant(server).client() as intruder:
        assert intruder.post(f"/api/v1/podcasts/{podcast_id}/refresh").status_code == 404


def test_feeds_are_not_read_from_disk_at_run_time() -> None:
    """The product serves feeds it fetched; the shared test data stays a test input."""
    source = Path(__file__).resolve().parents[2] / "src"
    assert not [p for p in source.rglob("*.py") if "shared/data" in p.read_text()]
