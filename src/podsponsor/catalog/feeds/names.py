"""Element names by namespace URI, and text helpers over lxml elements.

Feeds bind the same vocabulary to many URIs (the Podcasting 2.0 namespace has three in use, iTunes is often written
with the wrong case) and to arbitrary prefixes, so every element is keyed by a short vocabulary name chosen from its
namespace URI. The prefix is consulted only when it was never declared: recovery mode then keeps the literal
`itunes:duration` as the tag, and that is how podcast apps read such feeds too.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from lxml import etree

Element = etree._Element
Key = tuple[str, str]

RSS = "rss"
ITUNES = "itunes"
ATOM = "atom"
CONTENT = "content"
PODCAST = "podcast"
MEDIA = "media"
DC = "dc"
PSC = "psc"
OTHER = "other"

# Lower-cased, scheme-less, without trailing slashes: the forms in the wild differ only in those.
_URIS: dict[str, str] = {
    "": RSS,
    "purl.org/rss/1.0": RSS,
    "backend.userland.com/rss2": RSS,
    "www.itunes.com/dtds/podcast-1.0.dtd": ITUNES,
    "itunes.com/dtds/podcast-1.0.dtd": ITUNES,
    "www.w3.org/2005/atom": ATOM,
    "purl.org/atom/ns#": ATOM,
    "purl.org/rss/1.0/modules/content": CONTENT,
    "podcastindex.org/namespace/1.0": PODCAST,
    "github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md": PODCAST,
    "github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md#": PODCAST,
    "search.yahoo.com/mrss": MEDIA,
    "purl.org/dc/elements/1.1": DC,
    "podlove.org/simple-chapters": PSC,
}

# Only for prefixes that were never declared (see the module docstring).
_UNDECLARED_PREFIXES: dict[str, str] = {
    "itunes": ITUNES,
    "podcast": PODCAST,
    "content": CONTENT,
    "atom": ATOM,
    "media": MEDIA,
    "dc": DC,
    "psc": PSC,
}


def vocabulary(uri: str) -> str:
    normal = uri.strip().lower().rstrip("/")
    for scheme in ("https://", "http://"):
        if normal.startswith(scheme):
            normal = normal[len(scheme) :]
            break
    return _URIS.get(normal, OTHER)


@lru_cache(maxsize=4096)
def key_of(tag: str) -> Key:
    """`{uri}local`, `local` or an undeclared `prefix:local` → (vocabulary, local name)."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return vocabulary(uri), local
    prefix, colon, local = tag.partition(":")
    if colon:
        return _UNDECLARED_PREFIXES.get(prefix.lower(), OTHER), local
    return RSS, tag


def key(element: Element) -> Key | None:
    tag = element.tag
    return key_of(tag) if isinstance(tag, str) else None


class Children:
    """The direct child elements of one element, grouped by key (built once, looked up many times)."""

    __slots__ = ("_by_key",)

    def __init__(self, element: Element) -> None:
        by_key: defaultdict[Key, list[Element]] = defaultdict(list)
        for child in element:
            child_key = key(child)
            if child_key is not None:
                by_key[child_key].append(child)
        self._by_key = by_key

    def all(self, vocab: str, local: str) -> list[Element]:
        return self._by_key.get((vocab, local), [])

    def first(self, vocab: str, local: str) -> Element | None:
        found = self._by_key.get((vocab, local))
        return found[0] if found else None

    def text(self, vocab: str, local: str) -> str:
        """The first such child's text, stripped; "" when absent."""
        found = self.first(vocab, local)
        return text_of(found) if found is not None else ""

    def attr(self, vocab: str, local: str, name: str) -> str:
        found = self.first(vocab, local)
        return attr(found, name) if found is not None else ""


def text_of(element: Element) -> str:
    if len(element) == 0:
        return (element.text or "").strip()
    # itertext never expands entity references (xpath's string() would: a billion-laughs risk).
    return "".join(str(part) for part in element.itertext()).strip()


def attr(element: Element, name: str) -> str:
    value = element.get(name)
    return value.strip() if value else ""


def markup_of(element: Element) -> str:
    """Text plus any child elements as markup: some feeds put unescaped XHTML inside <description>."""
    if len(element) == 0:
        return text_of(element)
    parts = [element.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", with_tail=True) for child in element)
    return "".join(parts).strip()
