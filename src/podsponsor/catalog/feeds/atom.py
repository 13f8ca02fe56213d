"""Atom pieces shared by Atom feeds and RSS feeds that borrow `atom:link`."""

from __future__ import annotations

from dataclasses import dataclass

from podsponsor.catalog.feeds.names import ATOM, Children, Element, attr, markup_of, text_of
from podsponsor.catalog.feeds.sanitize import to_plain_text


@dataclass(frozen=True)
class Link:
    rel: str
    href: str
    type: str
    length: str


def links(children: Children) -> list[Link]:
    return [
        Link(
            rel=(attr(element, "rel") or "alternate").lower(),
            href=attr(element, "href"),
            type=attr(element, "type"),
            length=attr(element, "length"),
        )
        for element in children.all(ATOM, "link")
        if attr(element, "href")
    ]


def first_href(children: Children, rel: str) -> str:
    return next((link.href for link in links(children) if link.rel == rel), "")


def text_construct(element: Element | None) -> str:
    """An Atom text construct (title, summary, content) as text or markup, whatever its `type`."""
    if element is None:
        return ""
    if attr(element, "type").lower() == "xhtml":
        return markup_of(element)
    return text_of(element)


def plain_text(element: Element | None) -> str:
    """A text construct as plain text (titles): markup types are decoded, plain text is kept as written."""
    if element is None:
        return ""
    markup = attr(element, "type").lower() in ("html", "xhtml")
    return to_plain_text(text_construct(element), html_known=markup)


def author_name(children: Children) -> str:
    author = children.first(ATOM, "author")
    return Children(author).text(ATOM, "name") if author is not None else ""
