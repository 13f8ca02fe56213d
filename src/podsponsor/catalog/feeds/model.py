"""What a parsed feed is: frozen dataclasses, no database, no framework.

Conventions: text fields are stripped and "" when absent; optional values are None when absent or unreadable (the
reason is then in `ParsedFeed.warnings`); URLs are absolute (relative ones resolved against the feed URL); datetimes
are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

EpisodeType = Literal["full", "trailer", "bonus"]
GuidSource = Literal["guid", "enclosure", "hash"]
CATEGORY_SEPARATOR = " \u203a "  # a single right-pointing angle quotation mark


@dataclass(frozen=True)
class Enclosure:
    """The media file. `url` is as published; `destination_url` has measurement prefixes removed (`prefixes`)."""

    url: str
    destination_url: str
    prefixes: tuple[str, ...]
    length: int | None
    type: str | None


@dataclass(frozen=True)
class AlternateEnclosure:
    type: str | None
    length: int | None
    bitrate: float | None
    height: int | None
    language: str | None
    title: str | None
    default: bool
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Transcript:
    url: str
    type: str | None
    language: str | None
    rel: str | None


@dataclass(frozen=True)
class Chapters:
    url: str
    type: str | None


@dataclass(frozen=True)
class Person:
    """`role` and `group` are lower-case, defaulting to "host" and "cast" as the namespace says."""

    name: str
    role: str
    group: str
    href: str | None
    img: str | None


@dataclass(frozen=True)
class Location:
    name: str
    geo: str | None
    osm: str | None
    country: str | None
    rel: str | None


@dataclass(frozen=True)
class Soundbite:
    start_time: float
    duration: float
    title: str


@dataclass(frozen=True)
class ValueRecipient:
    name: str
    type: str
    address: str
    split: int
    fee: bool
    custom_key: str | None
    custom_value: str | None


@dataclass(frozen=True)
class Value:
    type: str
    method: str
    suggested: str | None
    recipients: tuple[ValueRecipient, ...]


@dataclass(frozen=True)
class Funding:
    url: str
    text: str


@dataclass(frozen=True)
class Contact:
    type: str | None
    value: str


@dataclass(frozen=True)
class License:
    identifier: str
    url: str | None


@dataclass(frozen=True)
class ParsedEpisode:
    """One <item> (or Atom <entry>).

    `guid` is the identity to upsert by: the feed's guid; without one, the enclosure's destination URL (stable when
    a publisher adds or removes a measurement prefix); with neither, a hash of title and pubDate. `guid_source`
    says which.
    """

    guid: str
    guid_source: GuidSource
    title: str
    link: str | None
    description_html: str
    summary: str
    author: str | None
    published: datetime | None
    duration_seconds: int | None
    enclosure: Enclosure | None
    alternate_enclosures: tuple[AlternateEnclosure, ...]
    explicit: bool | None
    season: int | None
    episode_number: int | None
    episode_type: EpisodeType
    image_url: str | None
    transcripts: tuple[Transcript, ...]
    chapters: Chapters | None
    persons: tuple[Person, ...]
    locations: tuple[Location, ...]
    soundbites: tuple[Soundbite, ...]
    value: tuple[Value, ...]

    @property
    def transcript_url(self) -> str | None:
        return self.transcripts[0].url if self.transcripts else None


@dataclass(frozen=True)
class ParsedFeed:
    """A whole feed. `categories` are iTunes category paths, parent first: ("Business", "Marketing").

    `podcast_guid` is always set: the feed's `podcast:guid` when it is a UUID, else the namespace's UUIDv5 of the feed
    URL (`podcast_guid_computed` is then True). `new_feed_url` is `itunes:new-feed-url` (or `<redirect><newLocation>`)
    only when it names an http(s) address other than `feed_url`. `recovered` is True when the bytes were not
    well-formed XML and were read forgivingly.
    """

    feed_url: str
    title: str
    link: str | None
    description_html: str
    summary: str
    author: str | None
    owner_name: str | None
    owner_email: str | None
    language: str | None
    image_url: str | None
    explicit: bool | None
    categories: tuple[tuple[str, ...], ...]
    keywords: tuple[str, ...]
    itunes_type: Literal["episodic", "serial"] | None
    generator: str | None
    new_feed_url: str | None
    self_url: str | None
    next_page_url: str | None
    podcast_guid: str
    podcast_guid_computed: bool
    locked: bool | None
    locked_owner: str | None
    funding: tuple[Funding, ...]
    value: tuple[Value, ...]
    persons: tuple[Person, ...]
    locations: tuple[Location, ...]
    contacts: tuple[Contact, ...]
    license: License | None
    medium: str | None
    recovered: bool
    episodes: list[ParsedEpisode] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def category_labels(self) -> list[str]:
        """Categories as display strings, parent and child joined by CATEGORY_SEPARATOR (fits a text-array column)."""
        return [CATEGORY_SEPARATOR.join(path) for path in self.categories]
