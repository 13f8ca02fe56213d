"""Malformed and hostile feeds, built in a few lines each: what a podcast app does with them, we do too."""

from __future__ import annotations

import time

import pytest

from podsponsor.catalog.feeds import FeedParseError, parse_feed
from tests.catalog.feeds.builders import ITUNES_NS, item, rss

FEED_URL = "https://feeds.example.com/shows/main/rss.xml"


def test_duplicate_guids_keep_the_first_occurrence_and_are_reported() -> None:
    feed = parse_feed(
        rss(item(guid="a", title="First") + item(guid="b", title="Second") + item(guid="a", title="Repeat")),
        FEED_URL,
    )
    assert [(e.guid, e.title) for e in feed.episodes] == [("a", "First"), ("b", "Second")]
    assert feed.warnings == ["item 3 repeats the guid 'a' of item 1; kept the first"]


def test_undefined_html_entities_do_not_stop_the_parse() -> None:
    feed = parse_feed(
        rss(item(guid="x", title=None, extra="<title>Caf&eacute;&nbsp;Talk &amp; more</title>")), FEED_URL
    )
    assert feed.episodes[0].title == "Caf\u00e9\u00a0Talk & more"
    assert feed.recovered
    assert any("HTML entities" in warning for warning in feed.warnings)


def test_entity_expansion_is_never_performed() -> None:
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    content = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]>'
        "<rss><channel><title>&l9;</title><item><guid>g</guid></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    feed = parse_feed(content, FEED_URL)
    assert time.perf_counter() - started < 2
    assert "lollol" not in feed.title
    assert feed.recovered


def test_external_entities_are_never_fetched() -> None:
    content = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><title>Show</title><item><guid>g</guid><title>x&secret;y</title></item></channel></rss>"
    )
    feed = parse_feed(content, FEED_URL)
    assert feed.episodes[0].title == "x&secret;y"


def test_junk_before_the_xml_declaration_is_skipped_with_a_warning() -> None:
    feed = parse_feed(b"Warning: PHP notice in feed.php\n" + rss(item(guid="g")), FEED_URL)
    assert [e.guid for e in feed.episodes] == ["g"]
    assert feed.recovered
    assert feed.warnings[0].startswith("ignored 32 bytes of text")


def test_utf8_bom_is_accepted() -> None:
    assert parse_feed(b"\xef\xbb\xbf" + rss(item(guid="g")), FEED_URL).episodes[0].guid == "g"


@pytest.mark.parametrize(
    "uri",
    [
        "https://podcastindex.org/namespace/1.0",
        "http://podcastindex.org/namespace/1.0/",
        "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
        "http://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md/",
    ],
)
def test_podcasting20_tags_are_read_under_every_namespace_uri_and_any_prefix(uri: str) -> None:
    extra = '<pod:transcript url="https://example.com/t.vtt" type="text/vtt"/><pod:chapters url="/c.json"/>'
    feed = parse_feed(rss(item(guid="g", extra=extra), namespaces=f'xmlns:pod="{uri}"'), FEED_URL)
    episode = feed.episodes[0]
    assert episode.transcript_url == "https://example.com/t.vtt"
    assert episode.chapters is not None
    assert episode.chapters.url == "https://feeds.example.com/c.json"


def test_tags_are_matched_by_namespace_not_by_prefix() -> None:
    wrong_case = parse_feed(
        rss(item(guid="g", extra="<i:duration>1:00</i:duration>"),
            namespaces='xmlns:i="http://www.itunes.com/DTDs/Podcast-1.0.dtd"'),
        FEED_URL,
    )  # fmt: skip
    assert wrong_case.episodes[0].duration_seconds == 60
    impostor = parse_feed(
        rss(item(guid="g", extra="<itunes:duration>1:00</itunes:duration>"),
            namespaces='xmlns:itunes="https://example.com/not-itunes"'),
        FEED_URL,
    )  # fmt: skip
    assert impostor.episodes[0].duration_seconds is None
    default_namespace = parse_feed(
        rss(item(guid="g", extra=f'<duration xmlns="{ITUNES_NS}">2:00</duration>')), FEED_URL
    )
    assert default_namespace.episodes[0].duration_seconds == 120


def test_urls_are_trimmed_and_resolved_against_the_feed() -> None:
    extra = '<itunes:image href="  art/ep.jpg "/><link>\n  /episodes/1\n</link>'
    feed = parse_feed(
        rss(
            item(guid="g", enclosure="\n   media/ep1.mp3  \n", extra=extra),
            channel="<image><url>cover.png</url></image>",
        ),
        FEED_URL,
    )
    episode = feed.episodes[0]
    assert episode.enclosure is not None
    assert episode.enclosure.url == "https://feeds.example.com/shows/main/media/ep1.mp3"
    assert episode.image_url == "https://feeds.example.com/shows/main/art/ep.jpg"
    assert episode.link == "https://feeds.example.com/episodes/1"
    assert feed.image_url == "https://feeds.example.com/shows/main/cover.png"


def test_show_notes_are_sanitised_for_display() -> None:
    notes = (
        '<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:alert(2)">bad</a> '
        '<a href="https://sponsor.example.com/?code=POD">good</a></p><img src="x.png"><h2>Big</h2>'
    )
    feed = parse_feed(rss(item(guid="g", extra=f"<content:encoded><![CDATA[{notes}]]></content:encoded>")), FEED_URL)
    html = feed.episodes[0].description_html
    assert "script" not in html
    assert "alert" not in html
    assert "onclick" not in html
    assert "<img" not in html
    assert '<a href="https://sponsor.example.com/?code=POD" rel="noopener nofollow">good</a>' in html
    assert "<h2>" not in html
    assert "Big" in html
    assert feed.episodes[0].summary == "Hi bad good\nBig"


def _enclosure_of(extra: str) -> tuple[str, int | None, str | None]:
    enclosure = parse_feed(rss(item(guid="g", enclosure=None, extra=extra)), FEED_URL).episodes[0].enclosure
    assert enclosure is not None
    return enclosure.url, enclosure.length, enclosure.type


def test_the_first_audio_or_video_enclosure_is_chosen() -> None:
    image = '<enclosure url="https://cdn.example.com/cover.jpg" type="image/jpeg"/>'
    untyped_audio = '<enclosure url="https://cdn.example.com/ep.m4a" length="0"/>'
    unknown = '<enclosure url="https://cdn.example.com/media?id=7"/>'
    video = '<enclosure url="https://cdn.example.com/ep.mp4" length="12,345" type="video/mp4"/>'
    assert _enclosure_of(image + untyped_audio + video) == ("https://cdn.example.com/ep.m4a", None, "audio/mp4")
    assert _enclosure_of(image + unknown + video) == ("https://cdn.example.com/ep.mp4", 12345, "video/mp4")
    assert _enclosure_of(image + unknown) == ("https://cdn.example.com/media?id=7", None, None)


def test_identity_without_guid_survives_adding_a_measurement_prefix() -> None:
    plain = parse_feed(rss(item(enclosure="https://cdn.example.com/ep.mp3")), FEED_URL)
    wrapped = parse_feed(
        rss(item(enclosure="https://dts.podtrac.com/redirect.mp3/chrt.fm/track/X1/cdn.example.com/ep.mp3")), FEED_URL
    )
    assert plain.episodes[0].guid == wrapped.episodes[0].guid == "https://cdn.example.com/ep.mp3"
    assert wrapped.episodes[0].guid_source == "enclosure"
    assert wrapped.episodes[0].enclosure is not None
    assert wrapped.episodes[0].enclosure.prefixes == ("Podtrac", "Chartable")


def test_unreadable_values_become_empty_with_a_warning_each() -> None:
    extra = (
        "<pubDate>sometime last week</pubDate><itunes:duration>about an hour</itunes:duration>"
        "<itunes:season>two</itunes:season><itunes:episode>3.5</itunes:episode>"
        "<itunes:episodeType>Teaser</itunes:episodeType><itunes:explicit>maybe</itunes:explicit>"
    )
    feed = parse_feed(rss(item(guid="g", title="Ep", extra=extra)), FEED_URL)
    episode = feed.episodes[0]
    assert (episode.published, episode.duration_seconds, episode.season, episode.episode_number) == (
        None, None, None, None,
    )  # fmt: skip
    assert (episode.episode_type, episode.explicit) == ("full", None)
    assert len(feed.warnings) == 5
    assert all(warning.startswith("item 1 ('Ep')") for warning in feed.warnings)


def test_warnings_are_capped_for_huge_broken_feeds() -> None:
    items = "".join(item(guid=f"g{n}", extra="<itunes:duration>??</itunes:duration>") for n in range(300))
    feed = parse_feed(rss(items), FEED_URL)
    assert len(feed.episodes) == 300
    assert len(feed.warnings) == 201
    assert feed.warnings[-1] == "100 more warnings were left out"


def test_items_that_cannot_be_identified_are_skipped_with_the_reason() -> None:
    feed = parse_feed(rss(item(title=None, enclosure=None, extra="<description>orphan</description>")), FEED_URL)
    assert feed.episodes == []
    assert feed.warnings == ["item 1 skipped: it has no guid, enclosure, title or date to identify it"]


def test_declared_podcast_guid_is_normalised() -> None:
    channel = "<title>S</title><podcast:guid> 917393E3-1B1E-5CEF-ACE4-EDAA54E1F810 </podcast:guid>"
    feed = parse_feed(rss("", channel=channel), FEED_URL)
    assert (feed.podcast_guid, feed.podcast_guid_computed) == ("917393e3-1b1e-5cef-ace4-edaa54e1f810", False)


def test_atom_feed_entries_with_enclosure_links() -> None:
    content = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
      <title type="html">Atom &amp;lt;Show&amp;gt;</title>
      <link rel="self" href="https://feeds.example.com/atom"/><link rel="next" href="?page=2"/>
      <entry><id>tag:example.com,2024:1</id><title>One</title><updated>2024-05-01T10:00:00+02:00</updated>
        <link rel="enclosure" href="/media/1.mp3" type="audio/mpeg" length="42"/>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Notes <b>bold</b></p></div></content>
      </entry></feed>"""
    feed = parse_feed(content, FEED_URL)
    assert (feed.title, feed.language) == ("Atom <Show>", "de")
    assert (feed.self_url, feed.next_page_url) == ("https://feeds.example.com/atom", f"{FEED_URL}?page=2")
    entry = feed.episodes[0]
    assert entry.guid == "tag:example.com,2024:1"
    assert entry.published is not None
    assert entry.published.isoformat() == "2024-05-01T08:00:00+00:00"
    assert entry.enclosure is not None
    assert entry.enclosure.url == "https://feeds.example.com/media/1.mp3"
    assert entry.enclosure.length == 42
    assert "<p>Notes <b>bold</b></p>" in entry.description_html


def test_xml_that_is_not_a_feed_is_refused() -> None:
    with pytest.raises(FeedParseError, match="not an RSS or Atom feed"):
        parse_feed(b"<?xml version='1.0'?><opml><body/></opml>", FEED_URL)
