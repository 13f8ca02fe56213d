"""Every feed in ../shared/data/feeds parses the way a person reading its XML expects.

Counts and values below were read from the XML files themselves (grep and eyes), not from the parser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podsponsor.catalog.feeds import FeedParseError, ParsedFeed, parse_feed
from tests.catalog.feeds.builders import FEEDS_DIR, large_feed

FEED_FILES = sorted(path for path in FEEDS_DIR.rglob("*") if path.suffix in (".rss", ".xml") and path.is_file())
UNREADABLE = {"not-xml.rss"}


def _parse(relative: str, feed_url: str = "https://feeds.example.com/show.rss") -> ParsedFeed:
    return parse_feed((FEEDS_DIR / relative).read_bytes(), feed_url)


def test_the_shared_feed_collection_is_present() -> None:
    assert len(FEED_FILES) >= 80, f"expected the shared feed files under {FEEDS_DIR}"


@pytest.mark.parametrize("path", FEED_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_feed_file_parses_into_consistent_episodes(path: Path) -> None:
    if path.name in UNREADABLE:
        with pytest.raises(FeedParseError):
            parse_feed(path.read_bytes(), "https://feeds.example.com/show.rss")
        return
    feed = parse_feed(path.read_bytes(), "https://feeds.example.com/show.rss")
    guids = [episode.guid for episode in feed.episodes]
    assert len(guids) == len(set(guids))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", feed.podcast_guid)
    for episode in feed.episodes:
        assert episode.published is None or episode.published.tzinfo == UTC
        assert episode.duration_seconds is None or episode.duration_seconds >= 0
        if episode.enclosure is not None:
            assert episode.enclosure.url.startswith(("http://", "https://"))
            assert episode.enclosure.url == episode.enclosure.url.strip()
        assert "<script" not in episode.description_html.lower()


def test_real_feed_episode_counts_match_the_items_in_the_xml() -> None:
    counts = {
        "partytime/pc20rss.xml": 56,
        "partytime/sentimental-garbage.xml": 138,
        "partytime/podverse-test-feed.xml": 5,
        "jbierfeldt-podcast-feed-parser/planet-money.xml": 355,
        "jbierfeldt-podcast-feed-parser/bc-sample.xml": 4,
        "jbierfeldt-podcast-feed-parser/bc-sample-bad.xml": 4,
        "lukaswhite-podcast-feed-parser/feed.rss": 6,
        "lukaswhite-podcast-feed-parser/serial.rss": 40,
        "lukaswhite-podcast-feed-parser/no-description.rss": 6,
        "lukaswhite-podcast-feed-parser/episode-with-no-pub-date.rss": 6,
        "lukaswhite-podcast-feed-parser/minimal.rss": 1,
        "lukaswhite-podcast-feed-parser/seasons.rss": 1,
        "podcast-namespace/example.xml": 3,
    }
    found = {name: len(_parse(name).episodes) for name in counts}
    assert found == counts


def test_podcasting20_feed_on_the_github_namespace_uri() -> None:
    feed = _parse("partytime/pc20rss.xml")
    assert feed.podcast_guid == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert not feed.podcast_guid_computed
    assert (feed.locked, feed.locked_owner) == (True, "adam@curry.com")
    assert [(f.url, f.text) for f in feed.funding] == [("https://paypal.me/podcastindex", "Value 4 Value")]
    assert [r.split for r in feed.value[0].recipients] == [95, 5, 5]
    assert feed.value[0].recipients[2].fee is True
    assert sum(1 for episode in feed.episodes if episode.transcripts) == 47
    assert sum(1 for episode in feed.episodes if episode.chapters) == 48
    assert sum(1 for episode in feed.episodes if episode.value) == 6
    first = feed.episodes[0]
    assert first.guid == "PC2057"
    assert first.published == datetime(2021, 10, 8, 18, 55, 32, tzinfo=UTC)
    assert first.transcripts[0].url == "https://mp3s.nashownotes.com/PC20-57-Captions.srt"
    assert first.transcripts[0].type == "application/srt"
    assert first.chapters is not None
    assert first.chapters.type == "application/json"
    assert [(p.name, p.role) for p in first.persons] == [
        ("Adam Curry", "host"),
        ("Dave Jones", "host"),
        ("Brian of London", "guest"),
    ]
    assert [r.split for r in first.value[0].recipients] == [80, 5, 5, 10]
    assert first.enclosure is not None
    assert first.enclosure.length == 70881847


def test_podcast_guid_is_computed_from_the_feed_url_as_the_spec_defines() -> None:
    content = (FEEDS_DIR / "partytime/pc20rss.xml").read_bytes()
    without_guid = re.sub(rb"<podcast:guid>[^<]*</podcast:guid>", b"", content)
    for address in ("http://mp3s.nashownotes.com/pc20rss.xml", "https://mp3s.nashownotes.com/pc20rss.xml//"):
        feed = parse_feed(without_guid, address)
        assert feed.podcast_guid == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
        assert feed.podcast_guid_computed


def test_leading_whitespace_before_the_declaration_does_not_lose_episodes() -> None:
    feed = _parse("partytime/sentimental-garbage.xml")
    assert (FEEDS_DIR / "partytime/sentimental-garbage.xml").read_bytes()[:1] == b"\n"
    assert feed.title == "Sentimental Garbage"
    first = feed.episodes[0]
    assert (first.guid, first.title) == ("64ce024b17496000117178ca", "Barbie with Jen Cownie")
    assert (first.duration_seconds, first.season, first.episode_number) == (3920, 10, 29)
    assert first.published == datetime(2023, 8, 5, 8, 3, 24, tzinfo=UTC)
    assert first.enclosure is not None
    assert first.enclosure.length == 156867532
    assert feed.self_url == "https://feeds.acast.com/public/shows/edd6bde5-221e-4c07-bde8-2a0241ccc6e0"
    assert feed.category_labels == ["Arts \u203a Literature", "Society & Culture"]


def test_planet_money_enclosures_are_unwrapped_from_podtrac() -> None:
    feed = _parse("jbierfeldt-podcast-feed-parser/planet-money.xml")
    first = feed.episodes[0]
    assert first.guid == "5b88529b-fed8-4562-8312-61e4b24b0451"
    assert first.duration_seconds == 1097
    assert first.published == datetime(2020, 3, 16, 21, 50, 1, tzinfo=UTC)
    assert first.enclosure is not None
    assert first.enclosure.prefixes == ("Podtrac",)
    assert first.enclosure.destination_url.startswith(
        "https://edge1.pod.npr.org/anon.npr-podcasts/podcast/npr/pmoney/2020/03/20200316_pmoney_pmpod980-"
    )
    assert "awEpisodeId=816684372" in first.enclosure.destination_url
    assert all(e.enclosure is not None and e.enclosure.prefixes == ("Podtrac",) for e in feed.episodes)
    assert feed.episodes[-1].enclosure is not None
    assert feed.episodes[-1].enclosure.length is None


def test_a_feed_missing_its_channel_tag_is_recovered_like_the_intact_one() -> None:
    good = _parse("jbierfeldt-podcast-feed-parser/bc-sample.xml")
    bad = _parse("jbierfeldt-podcast-feed-parser/bc-sample-bad.xml")
    assert not good.recovered
    assert bad.recovered
    assert any("<channel>" in warning for warning in bad.warnings)
    assert bad.title == good.title == "All Things Chemical"
    assert [e.guid for e in bad.episodes] == [e.guid for e in good.episodes]
    assert bad.episodes[0].guid == "9a7e7418443444538633719efdfbe7fa"


def test_libsyn_sample_values() -> None:
    feed = _parse("jbierfeldt-podcast-feed-parser/bc-sample.xml")
    assert feed.explicit is False
    assert feed.categories == (("Business",), ("Business", "Business News"), ("Government & Organizations",))
    assert (feed.owner_name, feed.owner_email) == ("Bergeson & Campbell, PC", "info@lawbc.com")
    assert feed.itunes_type == "episodic"
    first = feed.episodes[0]
    assert (first.duration_seconds, first.season, first.episode_number, first.episode_type) == (2398, 1, 3, "full")
    assert first.enclosure is not None
    assert first.enclosure.url == "https://traffic.libsyn.com/secure/allthingschemical/ep3_final_96.mp3?dest-id=814653"


def test_fractional_durations_and_live_items() -> None:
    feed = _parse("partytime/podverse-test-feed.xml")
    assert [e.title for e in feed.episodes][1:] == [f"Test Episode {n}" for n in (4, 3, 2, 1)]
    assert [e.duration_seconds for e in feed.episodes] == [None, 1015, 836, 836, 1032]
    first = feed.episodes[0]
    assert first.enclosure is not None
    assert first.enclosure.type == "video/mp4"
    assert len(first.alternate_enclosures) == 7
    assert first.alternate_enclosures[0].default
    assert first.alternate_enclosures[0].height == 1080
    assert feed.medium == "podcast"


def test_namespace_example_feed() -> None:
    feed = _parse("podcast-namespace/example.xml")
    assert feed.podcast_guid_computed
    assert any("not a UUID" in warning for warning in feed.warnings)
    assert feed.categories == (("Technology",), ("News", "Tech News"))
    assert feed.license is not None
    assert feed.license.identifier == "my-podcast-license-v1"
    assert [(loc.name, loc.country) for loc in feed.locations] == [("Austin, TX", "US")]
    first = feed.episodes[0]
    assert (first.season, first.episode_number, first.explicit) == (1, 3, False)
    assert [(t.type, t.language, t.rel) for t in first.transcripts] == [
        ("text/plain", None, None),
        ("text/vtt", "es", "captions"),
    ]
    assert [(s.start_time, s.duration) for s in first.soundbites] == [(33.833, 60.0)]
    assert first.description_html == "<p>A look into the future of podcasting and how we get to Podcasting 2.0!</p>"
    assert [len(e.alternate_enclosures) for e in feed.episodes] == [5, 4, 4]


def test_new_feed_url_is_reported_only_when_it_moves_the_feed() -> None:
    content = (FEEDS_DIR / "lukaswhite-podcast-feed-parser/feed.rss").read_bytes()
    assert parse_feed(content, "https://www.podcasthelpdesk.com/feed/podcast/").new_feed_url is None
    moved = parse_feed(content, "https://old.example.com/rss")
    assert moved.new_feed_url == "https://www.podcasthelpdesk.com/feed/podcast/"


def test_missing_pub_date_and_missing_description() -> None:
    dated = _parse("lukaswhite-podcast-feed-parser/episode-with-no-pub-date.rss")
    assert [e.published is None for e in dated.episodes] == [True, False, False, False, False, False]
    bare = _parse("lukaswhite-podcast-feed-parser/no-description.rss")
    assert bare.summary.startswith("SMRY Podcasting tips")


def test_items_without_guid_or_enclosure_get_a_stable_hash_identity() -> None:
    seasons = _parse("lukaswhite-podcast-feed-parser/seasons.rss")
    minimal = _parse("lukaswhite-podcast-feed-parser/minimal.rss")
    assert seasons.itunes_type == "serial"
    episode = seasons.episodes[0]
    assert (episode.season, episode.episode_number, episode.guid_source) == (2, 5, "hash")
    assert episode.guid == minimal.episodes[0].guid
    assert any("hash" in warning for warning in seasons.warnings)


def test_unreadable_documents_fail_with_a_clear_message() -> None:
    with pytest.raises(FeedParseError, match="not readable XML"):
        _parse("lukaswhite-podcast-feed-parser/not-xml.rss")
    with pytest.raises(FeedParseError, match="empty"):
        parse_feed(b"  \n", "https://feeds.example.com/show.rss")
    with pytest.raises(FeedParseError, match="web page"):
        parse_feed(b"<html><body><p>Hello</p></body></html>", "https://feeds.example.com/show.rss")


def test_a_synthetic_5000_item_feed_parses_completely() -> None:
    feed = parse_feed(large_feed(5000), "https://feeds.example.com/big.rss")
    assert len(feed.episodes) == 5000
    assert len({episode.guid for episode in feed.episodes}) == 5000
    last = feed.episodes[-1]
    assert (last.guid, last.episode_number) == ("episode-5000", 5000)
    assert last.duration_seconds == 2 * 3600 + 20 * 60 + 20
    assert last.published == datetime(2024, 1, 17, 8, 0, tzinfo=UTC)
    assert last.enclosure is not None
    assert last.enclosure.destination_url == "https://cdn.example.com/show/5000.mp3?x=1"
    assert feed.warnings == []
