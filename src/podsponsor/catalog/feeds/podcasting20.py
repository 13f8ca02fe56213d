"""Podcasting 2.0 tags (https://podcastindex.org/namespace/1.0), read the same on channels and items."""

from __future__ import annotations

from podsponsor.catalog.feeds.model import (
    AlternateEnclosure,
    Chapters,
    Contact,
    Funding,
    License,
    Location,
    Person,
    Soundbite,
    Transcript,
    Value,
    ValueRecipient,
)
from podsponsor.catalog.feeds.names import PODCAST, Children, Element, attr, text_of
from podsponsor.catalog.feeds.values import absolute_url, http_url, non_negative_int, number, positive_length


def _optional(element: Element, name: str) -> str | None:
    return attr(element, name) or None


def persons(children: Children, base: str) -> tuple[Person, ...]:
    found = []
    for element in children.all(PODCAST, "person"):
        name = text_of(element)
        if not name:
            continue
        found.append(
            Person(
                name=name,
                role=(attr(element, "role") or "host").lower(),
                group=(attr(element, "group") or "cast").lower(),
                href=http_url(attr(element, "href"), base),
                img=http_url(attr(element, "img"), base),
            )
        )
    return tuple(found)


def locations(children: Children) -> tuple[Location, ...]:
    return tuple(
        Location(
            name=text_of(element),
            geo=_optional(element, "geo"),
            osm=_optional(element, "osm"),
            country=_optional(element, "country"),
            rel=_optional(element, "rel"),
        )
        for element in children.all(PODCAST, "location")
        if text_of(element)
    )


def transcripts(children: Children, base: str) -> tuple[Transcript, ...]:
    found = []
    for element in children.all(PODCAST, "transcript"):
        url = http_url(attr(element, "url"), base)
        if url:
            found.append(
                Transcript(
                    url=url,
                    type=_optional(element, "type"),
                    language=_optional(element, "language"),
                    rel=_optional(element, "rel"),
                )
            )
    return tuple(found)


def chapters(children: Children, base: str) -> Chapters | None:
    for element in children.all(PODCAST, "chapters"):
        url = http_url(attr(element, "url"), base)
        if url:
            return Chapters(url=url, type=_optional(element, "type"))
    return None


def soundbites(children: Children) -> tuple[Soundbite, ...]:
    found = []
    for element in children.all(PODCAST, "soundbite"):
        start = number(attr(element, "startTime"))
        duration = number(attr(element, "duration"))
        if start is not None and duration is not None and start >= 0 and duration > 0:
            found.append(Soundbite(start_time=start, duration=duration, title=text_of(element)))
    return tuple(found)


def _recipient(element: Element) -> ValueRecipient | None:
    address = attr(element, "address")
    split = number(attr(element, "split"))
    if not address or split is None or split < 0:
        return None
    return ValueRecipient(
        name=attr(element, "name"),
        type=attr(element, "type"),
        address=address,
        split=round(split),
        fee=attr(element, "fee").lower() == "true",
        custom_key=_optional(element, "customKey"),
        custom_value=_optional(element, "customValue"),
    )


def values(children: Children) -> tuple[Value, ...]:
    found = []
    for element in children.all(PODCAST, "value"):
        recipients = [_recipient(child) for child in Children(element).all(PODCAST, "valueRecipient")]
        found.append(
            Value(
                type=attr(element, "type"),
                method=attr(element, "method"),
                suggested=_optional(element, "suggested"),
                recipients=tuple(recipient for recipient in recipients if recipient is not None),
            )
        )
    return tuple(found)


def alternate_enclosures(children: Children, base: str) -> tuple[AlternateEnclosure, ...]:
    found = []
    for element in children.all(PODCAST, "alternateEnclosure"):
        sources = [absolute_url(attr(source, "uri"), base) for source in Children(element).all(PODCAST, "source")]
        kept = tuple(source for source in sources if source)
        if not kept:
            continue
        height = non_negative_int(attr(element, "height"))
        found.append(
            AlternateEnclosure(
                type=_optional(element, "type"),
                length=positive_length(attr(element, "length")),
                bitrate=number(attr(element, "bitrate")),
                height=height or None,
                language=_optional(element, "language"),
                title=_optional(element, "title"),
                default=attr(element, "default").lower() == "true",
                sources=kept,
            )
        )
    return tuple(found)


def funding(children: Children, base: str) -> tuple[Funding, ...]:
    found = []
    for element in children.all(PODCAST, "funding"):
        url = http_url(attr(element, "url"), base)
        if url:
            found.append(Funding(url=url, text=text_of(element)))
    return tuple(found)


def contacts(children: Children) -> tuple[Contact, ...]:
    return tuple(
        Contact(type=_optional(element, "type"), value=text_of(element))
        for element in children.all(PODCAST, "contact")
        if text_of(element)
    )


def license_of(children: Children, base: str) -> License | None:
    element = children.first(PODCAST, "license")
    if element is None or not text_of(element):
        return None
    return License(identifier=text_of(element), url=http_url(attr(element, "url"), base))
