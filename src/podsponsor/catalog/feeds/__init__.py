"""RSS/Atom feed ingestion core: bytes in, frozen dataclasses out. No database, no network (see podsponsor.outbound).

parse_feed(content: bytes, feed_url: str, *, prefixes=None) -> ParsedFeed     # raises FeedParseError
unwrap(url, prefixes=None) -> Unwrapped(url, destination, prefixes)          # measurement prefixes
load_prefixes(path=None) -> PrefixList                                       # packaged or refreshed list
computed_podcast_guid(feed_url) -> str                                       # podcast:guid UUIDv5 rule
parse_date(text) -> datetime | None (UTC);  parse_duration(text) -> float | None (seconds)
sanitize_html(markup) -> str;  to_plain_text(markup) -> str
"""

from podsponsor.catalog.feeds.dates import parse_date
from podsponsor.catalog.feeds.durations import duration_seconds, parse_duration
from podsponsor.catalog.feeds.errors import FeedParseError
from podsponsor.catalog.feeds.identity import computed_podcast_guid
from podsponsor.catalog.feeds.model import (
    AlternateEnclosure,
    Chapters,
    Contact,
    Enclosure,
    Funding,
    License,
    Location,
    ParsedEpisode,
    ParsedFeed,
    Person,
    Soundbite,
    Transcript,
    Value,
    ValueRecipient,
)
from podsponsor.catalog.feeds.parser import parse_feed
from podsponsor.catalog.feeds.prefixes import Prefix, PrefixList, Unwrapped, default_prefixes, load_prefixes, unwrap
from podsponsor.catalog.feeds.sanitize import sanitize_html, to_plain_text

__all__ = [
    "AlternateEnclosure",
    "Chapters",
    "Contact",
    "Enclosure",
    "FeedParseError",
    "Funding",
    "License",
    "Location",
    "ParsedEpisode",
    "ParsedFeed",
    "Person",
    "Prefix",
    "PrefixList",
    "Soundbite",
    "Transcript",
    "Unwrapped",
    "Value",
    "ValueRecipient",
    "computed_podcast_guid",
    "default_prefixes",
    "duration_seconds",
    "load_prefixes",
    "parse_date",
    "parse_duration",
    "parse_feed",
    "sanitize_html",
    "to_plain_text",
    "unwrap",
]
