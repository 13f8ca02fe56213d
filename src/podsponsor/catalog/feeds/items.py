"""One <item> or Atom <entry> → ParsedEpisode (or None, with the reason in the warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from podsponsor.catalog.feeds import atom, podcasting20
from podsponsor.catalog.feeds.dates import parse_date
from podsponsor.catalog.feeds.durations import duration_seconds
from podsponsor.catalog.feeds.identity import content_hash_guid
from podsponsor.catalog.feeds.model import Enclosure, EpisodeType, GuidSource, ParsedEpisode
from podsponsor.catalog.feeds.names import (
    ATOM,
    CONTENT,
    DC,
    ITUNES,
    MEDIA,
    PODCAST,
    RSS,
    Children,
    Element,
    attr,
    markup_of,
)
from podsponsor.catalog.feeds.prefixes import PrefixList, unwrap
from podsponsor.catalog.feeds.sanitize import is_html, sanitize_html, to_plain_text
from podsponsor.catalog.feeds.values import Warnings, explicit_flag, http_url, non_negative_int, positive_length

_EPISODE_TYPES: dict[str, EpisodeType] = {"full": "full", "trailer": "trailer", "bonus": "bonus"}
_MEDIA_BY_EXTENSION = {
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "ogg": "audio/ogg", "oga": "audio/ogg",
    "opus": "audio/opus", "wav": "audio/wav", "flac": "audio/flac", "mp4": "video/mp4", "m4v": "video/x-m4v",
    "mov": "video/quicktime", "webm": "video/webm", "m3u8": "application/x-mpegurl",
}  # fmt: skip
_STREAM_TYPES = frozenset({"application/x-mpegurl", "application/vnd.apple.mpegurl", "application/ogg"})
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass(frozen=True)
class Context:
    base: str
    prefixes: PrefixList
    warnings: Warnings


@dataclass(frozen=True)
class _Candidate:
    url: str
    length: str
    type: str


def parse_entry(element: Element, position: int, context: Context, *, is_atom: bool) -> ParsedEpisode | None:
    """`position` counts from 1 in document order and only labels warnings."""
    children = Children(element)
    title = _title(children, is_atom)
    label = f"item {position}" + (f" ({title[:60]!r})" if title else "")
    published_raw = _published_raw(children, is_atom)
    enclosure = _enclosure(children, context, label)
    identity = _identity(children, is_atom, enclosure, title, published_raw)
    if identity is None:
        context.warnings.add(f"{label} skipped: it has no guid, enclosure, title or date to identify it")
        return None
    guid, guid_source = identity
    if guid_source == "hash":
        context.warnings.add(f"{label} has neither a guid nor an enclosure; identified by a hash of title and date")
    html_source, summary = _descriptions(children, is_atom)
    season, number = _numbering(children, context.warnings, label)
    return ParsedEpisode(
        guid=guid,
        guid_source=guid_source,
        title=title,
        link=http_url(_link(children, is_atom), context.base),
        description_html=sanitize_html(html_source),
        summary=summary,
        author=children.text(ITUNES, "author") or children.text(RSS, "author") or _creator(children) or None,
        published=_published(published_raw, context.warnings, label),
        duration_seconds=_duration(children, context.warnings, label),
        enclosure=enclosure,
        alternate_enclosures=podcasting20.alternate_enclosures(children, context.base),
        explicit=explicit_flag(children.text(ITUNES, "explicit")),
        season=season,
        episode_number=number,
        episode_type=_episode_type(children, context.warnings, label),
        image_url=_image(children, context.base),
        transcripts=podcasting20.transcripts(children, context.base),
        chapters=podcasting20.chapters(children, context.base),
        persons=podcasting20.persons(children, context.base),
        locations=podcasting20.locations(children),
        soundbites=podcasting20.soundbites(children),
        value=podcasting20.values(children),
    )


def _title(children: Children, is_atom: bool) -> str:
    if is_atom:
        return atom.plain_text(children.first(ATOM, "title"))
    return children.text(RSS, "title") or children.text(ITUNES, "title")


def _link(children: Children, is_atom: bool) -> str:
    rss_link = "" if is_atom else children.text(RSS, "link")
    return rss_link or atom.first_href(children, "alternate")


def _creator(children: Children) -> str:
    return children.text(DC, "creator") or atom.author_name(children)


def _published_raw(children: Children, is_atom: bool) -> str:
    if is_atom:
        return children.text(ATOM, "published") or children.text(ATOM, "updated")
    return children.text(RSS, "pubDate") or children.text(DC, "date")


def _identity(
    children: Children, is_atom: bool, enclosure: Enclosure | None, title: str, published_raw: str
) -> tuple[str, GuidSource] | None:
    guid = children.text(ATOM, "id") if is_atom else children.text(RSS, "guid")
    if guid:
        return guid, "guid"
    if enclosure is not None:
        return enclosure.destination_url, "enclosure"
    if title or published_raw:
        return content_hash_guid(title, published_raw), "hash"
    return None


def _candidates(children: Children) -> list[_Candidate]:
    found = [
        _Candidate(attr(element, "url"), attr(element, "length"), attr(element, "type"))
        for element in children.all(RSS, "enclosure")
    ]
    found.extend(
        _Candidate(link.href, link.length, link.type) for link in atom.links(children) if link.rel == "enclosure"
    )
    media = children.all(MEDIA, "content")
    for group in children.all(MEDIA, "group"):
        media = [*media, *Children(group).all(MEDIA, "content")]
    found.extend(_Candidate(attr(el, "url"), attr(el, "fileSize"), attr(el, "type")) for el in media)
    return found


def _media_kind(declared: str, url: str) -> tuple[str | None, bool]:
    """(type to record, whether it is certainly audio/video) for one enclosure candidate."""
    lowered = declared.lower()
    if lowered.startswith(("audio/", "video/")) or lowered in _STREAM_TYPES:
        return declared, True
    if lowered not in _GENERIC_TYPES:
        return declared, False
    path = urlsplit(url).path
    guessed = _MEDIA_BY_EXTENSION.get(path.rsplit(".", 1)[-1].lower()) if "." in path else None
    return declared or guessed, guessed is not None


def _enclosure(children: Children, context: Context, label: str) -> Enclosure | None:
    typed: Enclosure | None = None
    untyped: Enclosure | None = None
    for candidate in _candidates(children):
        url = http_url(candidate.url, context.base)
        if url is None:
            context.warnings.add(f"{label}: an enclosure without a usable http(s) URL was ignored")
            continue
        kind, is_media = _media_kind(candidate.type, url)
        if not is_media and candidate.type.lower() not in _GENERIC_TYPES:
            continue
        unwrapped = unwrap(url, context.prefixes)
        enclosure = Enclosure(url, unwrapped.destination, unwrapped.prefixes, positive_length(candidate.length), kind)
        if is_media:
            typed = enclosure
            break
        untyped = untyped or enclosure
    return typed or untyped


def _descriptions(children: Children, is_atom: bool) -> tuple[str, str]:
    """(HTML source for display, plain-text summary). content:encoded is the richest source; a description or
    summary written as plain text wins as the summary, because publishers write those for exactly that."""
    encoded = children.first(CONTENT, "encoded")
    description = children.first(RSS, "description")
    described = [
        markup_of(description) if description is not None else "",
        children.text(ITUNES, "summary"),
        atom.text_construct(children.first(ATOM, "summary")) if is_atom else "",
    ]
    richest = [
        markup_of(encoded) if encoded is not None else "",
        atom.text_construct(children.first(ATOM, "content")) if is_atom else "",
        *described,
        children.text(ITUNES, "subtitle"),
    ]
    html_source = next((text for text in richest if text), "")
    plain = next((text for text in described if text and not is_html(text)), "")
    return html_source, to_plain_text(plain or html_source)


def _published(raw: str, warnings: Warnings, label: str) -> datetime | None:
    published = parse_date(raw)
    if raw and published is None:
        warnings.add(f"{label}: publish date {raw[:60]!r} is not a date; left empty")
    return published


def _duration(children: Children, warnings: Warnings, label: str) -> int | None:
    raw = children.text(ITUNES, "duration")
    seconds = duration_seconds(raw)
    if raw and seconds is None:
        warnings.add(f"{label}: duration {raw[:30]!r} is not a duration; left empty")
    return seconds


def _number(children: Children, local: str, warnings: Warnings, label: str) -> int | None:
    raw = children.text(ITUNES, local)
    value = non_negative_int(raw)
    if raw and value is None:
        warnings.add(f"{label}: itunes:{local} {raw[:20]!r} is not a number; left empty")
    if value is None:
        value = non_negative_int(children.text(PODCAST, local))
    return value


def _numbering(children: Children, warnings: Warnings, label: str) -> tuple[int | None, int | None]:
    return _number(children, "season", warnings, label), _number(children, "episode", warnings, label)


def _episode_type(children: Children, warnings: Warnings, label: str) -> EpisodeType:
    raw = children.text(ITUNES, "episodeType").lower()
    known = _EPISODE_TYPES.get(raw)
    if known is not None:
        return known
    if raw:
        warnings.add(f"{label}: episode type {raw[:20]!r} is not full, trailer or bonus; treated as full")
    return "full"


def _image(children: Children, base: str) -> str | None:
    href = children.attr(ITUNES, "image", "href")
    if not href:
        thumbnails = children.all(MEDIA, "thumbnail")
        for group in children.all(MEDIA, "group"):
            thumbnails = [*thumbnails, *Children(group).all(MEDIA, "thumbnail")]
        href = next((attr(element, "url") for element in thumbnails if attr(element, "url")), "")
    return http_url(href, base)
