"""gpodder/podcastparser's edge-case feeds, checked against its paired .json answers where the fields correspond.

Its answers assume the feed URL `file://tests/data/<name>.rss`; the same feeds are parsed here from
`https://tests/data/<name>.rss` and the expected URLs are translated accordingly. Where this project's rules differ
on purpose from podcastparser's, the difference is listed in DIFFERENT_ON_PURPOSE with the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from podsponsor.catalog.feeds import ParsedEpisode, ParsedFeed, parse_feed
from tests.catalog.feeds.builders import FEEDS_DIR

GPODDER = FEEDS_DIR / "gpodder-podcastparser"
PAIRS = sorted(path for path in GPODDER.glob("*.rss") if path.with_suffix(".json").exists())
DIFFERENT_ON_PURPOSE = {
    # podcastparser drops items without media; here an item is kept whenever it can be identified.
    "no_enclosure": "episode count",
    "no_title_multi_enclosure": "episode count",
    # max_episodes.param.json asks podcastparser for one episode; parse_feed has no such limit.
    "max_episodes": "episode count",
    # Without a guid, podcastparser prefers the link; the rule here is the enclosure URL, then a hash.
    "no_guid": "guid",
}


def _translate(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("file://", "https://")
    if isinstance(value, list):
        return [_translate(item) for item in value]
    if isinstance(value, dict):
        return {key: _translate(item) for key, item in value.items()}
    return value


def _expected(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = _translate(json.loads(path.with_suffix(".json").read_text()))
    return loaded


def _feed_url(path: Path) -> str:
    return f"https://tests/data/{path.name}"


def test_gpodder_pairs_are_present() -> None:
    assert len(PAIRS) >= 70


def _check_channel(feed: ParsedFeed, expected: dict[str, Any], name: str) -> None:
    if expected["title"] != name:
        assert feed.title == expected["title"]
    simple = {
        "description": feed.summary,
        "itunes_author": feed.author,
        "language": feed.language,
        "cover_url": feed.image_url,
        "explicit": feed.explicit,
        "type": feed.itunes_type,
        "new_url": feed.new_feed_url,
        "paged_feed_next": feed.next_page_url,
        "generator": feed.generator,
        "link": feed.link,
        "import_prohibited": feed.locked,
        "funding_url": feed.funding[0].url if feed.funding else None,
    }
    for field, ours in simple.items():
        if field in expected:
            assert ours == expected[field], field
    if "itunes_owner" in expected:
        assert (feed.owner_name, feed.owner_email) == (
            expected["itunes_owner"].get("name"),
            expected["itunes_owner"].get("email"),
        )
    if "itunes_categories" in expected:
        assert feed.categories == tuple(tuple(p for p in path if p) for path in expected["itunes_categories"])
    if "itunes_keywords" in expected:
        assert list(feed.keywords) == expected["itunes_keywords"]


def _same_guid(ours: ParsedEpisode, expected: str, feed_url: str, content: bytes) -> bool:
    # podcastparser resolves relative guids against the feed (and xml:base) as if they were links.
    bases = [feed_url, "http://example.com/podcast/"] if b"xml:base" in content else [feed_url]
    return ours.guid == expected or any(urljoin(base, ours.guid) == expected for base in bases)


def _media(enclosures: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in enclosures if not e["mime_type"].startswith("image/")), None)


def _check_episode(ours: ParsedEpisode, expected: dict[str, Any], *, is_rss: bool) -> None:
    if ours.title:
        assert ours.title == expected["title"]
    assert (ours.duration_seconds or 0) == expected["total_time"]
    published = datetime.fromtimestamp(expected["published"], UTC) if expected["published"] else None
    assert ours.published == published
    media = _media(expected["enclosures"])
    if media is None:
        assert ours.enclosure is None
    else:
        assert ours.enclosure is not None
        assert ours.enclosure.url == media["url"]
        assert ours.enclosure.length == (None if media["file_size"] == -1 else media["file_size"])
        if media["mime_type"] != "application/octet-stream":
            assert ours.enclosure.type == media["mime_type"]
    assert ours.explicit == expected.get("explicit")
    assert (ours.season, ours.episode_number) == (expected.get("season"), expected.get("number"))
    assert ours.episode_type == expected.get("type", "full")
    if is_rss and expected["description"]:
        assert ours.summary == expected["description"]
    if ours.link is not None:
        assert ours.link == expected["link"]
    related = {
        "episode_art_url": ours.image_url,
        "chapters_json_url": ours.chapters.url if ours.chapters else None,
        "transcript_url": ours.transcript_url,
    }
    for field, value in related.items():
        assert value == expected.get(field), field
    if "persons" in expected:
        assert [(p.name, p.role, p.group, p.href, p.img) for p in ours.persons] == [
            (p["name"], p["role"], p["group"], p["href"], p["img"]) for p in expected["persons"]
        ]


@pytest.mark.parametrize("path", PAIRS, ids=lambda path: path.stem)
def test_matches_podcastparser_where_the_fields_correspond(path: Path) -> None:
    content = path.read_bytes()
    expected = _expected(path)
    feed = parse_feed(content, _feed_url(path))
    _check_channel(feed, expected, path.stem)
    difference = DIFFERENT_ON_PURPOSE.get(path.stem)
    if difference == "episode count":
        assert len(feed.episodes) > len(expected["episodes"])
        return
    episodes = expected["episodes"]
    if expected.get("type") == "serial":
        episodes = list(reversed(episodes))  # podcastparser sorts serial shows oldest first; document order here
    assert len(feed.episodes) == len(episodes)
    for ours, wanted in zip(feed.episodes, episodes, strict=True):
        if difference != "guid":
            assert _same_guid(ours, wanted["guid"], _feed_url(path), content)
        _check_episode(ours, wanted, is_rss=b"<feed" not in content)


def test_html_descriptions_are_sanitised_and_summarised() -> None:
    feed = parse_feed((GPODDER / "html_description_rss_both.rss").read_bytes(), "https://tests/data/x.rss")
    episode = feed.episodes[0]
    assert episode.summary == "A test"
    assert episode.description_html == "This is also a <em>test</em>"
    subtitle = parse_feed((GPODDER / "itunes_subtitle.rss").read_bytes(), "https://tests/data/x.rss")
    assert subtitle.episodes[0].description_html == "<p>Full</p>"
