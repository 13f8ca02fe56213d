"""Feed documents built in tests: a few lines of XML per case, and a generator for large feeds."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

FEEDS_DIR = Path(__file__).resolve().parents[4] / "shared" / "data" / "feeds"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"


def rss(items: str, *, channel: str = "<title>Show</title>", namespaces: str = "") -> bytes:
    declared = namespaces or f'xmlns:itunes="{ITUNES_NS}" xmlns:podcast="{PODCAST_NS}" xmlns:content="{CONTENT_NS}"'
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {declared}>'
    return f"{head}<channel>{channel}{items}</channel></rss>".encode()


def item(
    *,
    guid: str | None = None,
    title: str | None = "Episode",
    enclosure: str | None = "https://cdn.example.com/episode.mp3",
    extra: str = "",
) -> str:
    parts = []
    if title is not None:
        parts.append(f"<title>{escape(title)}</title>")
    if guid is not None:
        parts.append(f"<guid>{escape(guid)}</guid>")
    if enclosure is not None:
        parts.append(f'<enclosure url="{escape(enclosure)}" length="1000" type="audio/mpeg"/>')
    return f"<item>{''.join(parts)}{extra}</item>"


def large_feed(count: int) -> bytes:
    """A feed of `count` distinct episodes, each with the fields a real hosting platform writes."""
    items = "".join(
        item(
            guid=f"episode-{number}",
            title=f"Episode {number}: a title long enough to look real",
            enclosure=f"https://dts.podtrac.com/redirect.mp3/cdn.example.com/show/{number}.mp3?x=1",
            extra=(
                f"<pubDate>Mon, {1 + number % 28:02d} Jan 2024 {number % 24:02d}:00:00 +0000</pubDate>"
                f"<itunes:duration>{number % 3}:{number % 60:02d}:{number % 60:02d}</itunes:duration>"
                f"<itunes:episode>{number}</itunes:episode>"
                f"<description><![CDATA[<p>Show notes for <b>episode {number}</b> with "
                f'<a href="https://example.com/{number}">a link</a>.</p>]]></description>'
            ),
        )
        for number in range(1, count + 1)
    )
    return rss(items)
