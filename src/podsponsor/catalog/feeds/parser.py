"""`parse_feed(content, feed_url)`: RSS 2.0, RSS 1.0 and Atom, with iTunes and Podcasting 2.0, into a ParsedFeed.

Duplicate guids inside one feed: the first occurrence in document order is kept (feeds list newest first, and the
top entry is the one an app shows); every later one is dropped and named in the warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from podsponsor.catalog.feeds import atom, podcasting20
from podsponsor.catalog.feeds.document import load
from podsponsor.catalog.feeds.errors import FeedParseError
from podsponsor.catalog.feeds.identity import computed_podcast_guid, declared_podcast_guid
from podsponsor.catalog.feeds.items import Context, parse_entry
from podsponsor.catalog.feeds.model import ParsedEpisode, ParsedFeed
from podsponsor.catalog.feeds.names import (
    ATOM,
    DC,
    ITUNES,
    OTHER,
    PODCAST,
    RSS,
    Children,
    Element,
    attr,
    key,
    markup_of,
    text_of,
)
from podsponsor.catalog.feeds.prefixes import PrefixList, default_prefixes
from podsponsor.catalog.feeds.sanitize import sanitize_html, to_plain_text
from podsponsor.catalog.feeds.values import Warnings, explicit_flag, http_url, yes_no

_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_SHOW_TYPES: dict[str, Literal["episodic", "serial"]] = {"episodic": "episodic", "serial": "serial"}


@dataclass(frozen=True)
class _Layout:
    """Where the channel metadata and the entries are in this document."""

    root: Element
    channel: Element
    entries: list[Element]
    is_atom: bool


def parse_feed(content: bytes, feed_url: str, *, prefixes: PrefixList | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from `feed_url` (used to resolve relative URLs and compute podcast:guid).

    Raises FeedParseError when the bytes are not a feed at all; everything less serious is a warning.
    """
    document = load(content)
    warnings = Warnings()
    for message in document.warnings:
        warnings.add(message)
    layout = _layout(document.root, warnings)
    base = _base(document.root, feed_url)
    context = Context(base=base, prefixes=default_prefixes() if prefixes is None else prefixes, warnings=warnings)
    episodes = _episodes(layout, context)
    return _channel(layout, feed_url, base, context, episodes, document.recovered)


def _layout(root: Element, warnings: Warnings) -> _Layout:
    root_key = key(root)
    children = Children(root)
    if root_key == (ATOM, "feed"):
        return _Layout(root, root, children.all(ATOM, "entry"), is_atom=True)
    if root_key in ((RSS, "rss"), (OTHER, "RDF")):
        channel = children.first(RSS, "channel")
        if channel is None and children.first(RSS, "redirect") is not None:
            return _Layout(root, root, [], is_atom=False)
        if channel is None:
            if not children.all(RSS, "item"):
                raise FeedParseError("the feed has no <channel> and no episodes")
            warnings.add("the feed has no <channel> element; its items were read from <rss> directly")
            return _Layout(root, root, children.all(RSS, "item"), is_atom=False)
        # RSS 1.0 puts items beside the channel; broken RSS 2.0 sometimes closes the channel too early.
        return _Layout(root, channel, [*Children(channel).all(RSS, "item"), *children.all(RSS, "item")], False)
    local = root_key[1] if root_key else "?"
    if local.lower() == "html":
        raise FeedParseError("the address returned a web page (HTML), not a podcast feed")
    raise FeedParseError(f"the document is XML but not an RSS or Atom feed (it starts with <{local}>)")


def _base(root: Element, feed_url: str) -> str:
    declared = root.get(_XML_BASE)
    return urljoin(feed_url, declared.strip()) if declared and declared.strip() else feed_url


def _episodes(layout: _Layout, context: Context) -> list[ParsedEpisode]:
    kept: list[ParsedEpisode] = []
    first_position: dict[str, int] = {}
    for position, element in enumerate(layout.entries, start=1):
        episode = parse_entry(element, position, context, is_atom=layout.is_atom)
        if episode is None:
            continue
        if episode.guid in first_position:
            context.warnings.add(
                f"item {position} repeats the guid {episode.guid[:80]!r} of item {first_position[episode.guid]}; "
                "kept the first"
            )
            continue
        first_position[episode.guid] = position
        kept.append(episode)
    return kept


def _channel(
    layout: _Layout, feed_url: str, base: str, context: Context, episodes: list[ParsedEpisode], recovered: bool
) -> ParsedFeed:
    c = Children(layout.channel)
    warnings = context.warnings
    html_source = _channel_description(c, layout.is_atom)
    owner = Children(owner_element) if (owner_element := c.first(ITUNES, "owner")) is not None else None
    podcast_guid, computed = _podcast_guid(c, feed_url, warnings)
    locked = c.first(PODCAST, "locked")
    return ParsedFeed(
        feed_url=feed_url,
        title=_channel_title(c, layout.is_atom),
        link=http_url(_channel_link(c, layout.is_atom), base),
        description_html=sanitize_html(html_source),
        summary=to_plain_text(html_source),
        author=c.text(ITUNES, "author") or c.text(DC, "creator") or atom.author_name(c) or None,
        owner_name=owner.text(ITUNES, "name") or None if owner else None,
        owner_email=owner.text(ITUNES, "email") or None if owner else None,
        language=_language(c, layout),
        image_url=_channel_image(c, base),
        explicit=explicit_flag(c.text(ITUNES, "explicit")),
        categories=_categories(c),
        keywords=tuple(word.strip() for word in c.text(ITUNES, "keywords").split(",") if word.strip()),
        itunes_type=_show_type(c, warnings),
        generator=c.text(RSS, "generator") or c.text(ATOM, "generator") or None,
        new_feed_url=_new_feed_url(c, Children(layout.root), feed_url, warnings),
        self_url=http_url(atom.first_href(c, "self"), base),
        next_page_url=http_url(atom.first_href(c, "next"), base),
        podcast_guid=podcast_guid,
        podcast_guid_computed=computed,
        locked=yes_no(text_of(locked)) if locked is not None else None,
        locked_owner=(attr(locked, "owner") or None) if locked is not None else None,
        funding=podcasting20.funding(c, base),
        value=podcasting20.values(c),
        persons=podcasting20.persons(c, base),
        locations=podcasting20.locations(c),
        contacts=podcasting20.contacts(c),
        license=podcasting20.license_of(c, base),
        medium=c.text(PODCAST, "medium").lower() or None,
        recovered=recovered,
        episodes=episodes,
        warnings=warnings.as_list(),
    )


def _channel_title(c: Children, is_atom: bool) -> str:
    if is_atom:
        return atom.plain_text(c.first(ATOM, "title"))
    return c.text(RSS, "title") or c.text(ITUNES, "title")


def _channel_link(c: Children, is_atom: bool) -> str:
    return ("" if is_atom else c.text(RSS, "link")) or atom.first_href(c, "alternate")


def _channel_description(c: Children, is_atom: bool) -> str:
    description = c.first(RSS, "description")
    candidates = (
        markup_of(description) if description is not None else "",
        c.text(ITUNES, "summary"),
        c.text(ITUNES, "subtitle"),
        atom.text_construct(c.first(ATOM, "subtitle")) if is_atom else "",
    )
    return next((text for text in candidates if text), "")


def _language(c: Children, layout: _Layout) -> str | None:
    declared = c.text(RSS, "language") or c.text(DC, "language") or (layout.root.get(_XML_LANG) or "").strip()
    return declared or None


def _channel_image(c: Children, base: str) -> str | None:
    image = c.first(RSS, "image")
    candidates = (
        c.attr(ITUNES, "image", "href"),
        Children(image).text(RSS, "url") if image is not None else "",
        attr(image, "url") if image is not None else "",
        c.text(ATOM, "logo"),
        c.text(ATOM, "icon"),
    )
    return next((url for raw in candidates if raw and (url := http_url(raw, base))), None)


def _categories(c: Children) -> tuple[tuple[str, ...], ...]:
    paths: list[tuple[str, ...]] = []

    def walk(element: Element, trail: tuple[str, ...]) -> None:
        name = attr(element, "text")
        path = (*trail, name) if name else trail
        nested = Children(element).all(ITUNES, "category")
        if path and not nested and path not in paths:
            paths.append(path)
        for child in nested:
            walk(child, path)

    for element in c.all(ITUNES, "category"):
        walk(element, ())
    return tuple(paths)


def _show_type(c: Children, warnings: Warnings) -> Literal["episodic", "serial"] | None:
    raw = c.text(ITUNES, "type")
    known = _SHOW_TYPES.get(raw.lower())
    if raw and known is None:
        warnings.add(f"itunes:type {raw[:20]!r} is neither episodic nor serial; ignored")
    return known


def _new_feed_url(c: Children, root: Children, feed_url: str, warnings: Warnings) -> str | None:
    redirect = c.first(RSS, "redirect")
    if redirect is None:
        redirect = root.first(RSS, "redirect")
    raw = c.text(ITUNES, "new-feed-url")
    if not raw and redirect is not None:
        raw = Children(redirect).text(RSS, "newLocation")
    if not raw:
        return None
    url = http_url(raw, feed_url)
    if url is None:
        warnings.add(f"the new feed address {raw[:80]!r} is not an http(s) address; ignored")
        return None
    return None if url == feed_url.strip() else url


def _podcast_guid(c: Children, feed_url: str, warnings: Warnings) -> tuple[str, bool]:
    raw = c.text(PODCAST, "guid")
    declared = declared_podcast_guid(raw) if raw else None
    if declared:
        return declared, False
    if raw:
        warnings.add(f"podcast:guid {raw[:60]!r} is not a UUID; computed one from the feed address instead")
    return computed_podcast_guid(feed_url), True
