"""From bytes to an XML tree the way podcast apps read feeds: strictly when possible, forgivingly when not.

Order of attempts: strict XML; strict again after turning undefined HTML entities (`&nbsp;`) into character
references; then libxml2's recovery mode. No attempt loads a DTD, expands external entities or touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.entities import name2codepoint

from lxml import etree

from podsponsor.catalog.feeds.errors import FeedParseError
from podsponsor.catalog.feeds.names import Element

_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LXML_SOURCE = re.compile(r" \(<string>, line \d+\)$")


@dataclass(frozen=True)
class Document:
    root: Element
    recovered: bool
    warnings: tuple[str, ...]


def _parser(*, recover: bool) -> etree.XMLParser:
    return etree.XMLParser(
        recover=recover,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
        remove_comments=True,
        remove_pis=True,
    )


def _trim_leading_junk(content: bytes) -> tuple[bytes, str | None]:
    """Drop a BOM, whitespace or junk before the XML declaration (or before the first tag)."""
    if content.startswith(_UTF16_BOMS):
        return content, None
    if content.startswith(_UTF8_BOM):
        content = content[len(_UTF8_BOM) :]
    start = content.find(b"<?xml")
    if start == -1:
        start = content.find(b"<")
    if start <= 0:
        return content, None
    junk = content[:start]
    if not junk.strip():
        return content[start:], None
    return content[start:], f"ignored {len(junk)} bytes of text before the start of the XML"


def _html_entities_to_references(content: bytes) -> tuple[bytes, int]:
    replaced = 0

    def replace(match: re.Match[bytes]) -> bytes:
        nonlocal replaced
        name = match.group(1).decode("ascii")
        codepoint = name2codepoint.get(name)
        if name in _XML_ENTITIES or codepoint is None:
            return match.group(0)
        replaced += 1
        return b"&#%d;" % codepoint

    return _ENTITY.sub(replace, content), replaced


def _strict(content: bytes) -> tuple[Element | None, str]:
    try:
        return etree.fromstring(content, _parser(recover=False)), ""
    except etree.XMLSyntaxError as exc:
        return None, _LXML_SOURCE.sub("", str(exc))


def _recover(content: bytes) -> Element | None:
    try:
        return etree.fromstring(content, _parser(recover=True))
    except etree.XMLSyntaxError:
        return None


def load(content: bytes) -> Document:
    """Parse feed bytes into a tree; `FeedParseError` when nothing feed-like can be read."""
    if not content.strip():
        raise FeedParseError("the feed is empty")
    content, junk_warning = _trim_leading_junk(content)
    warnings = [junk_warning] if junk_warning else []
    root, error = _strict(content)
    if root is not None:
        return Document(root, recovered=bool(junk_warning), warnings=tuple(warnings))
    fixed, replaced = _html_entities_to_references(content)
    if replaced:
        root, _ = _strict(fixed)
        if root is not None:
            warnings.append(f"replaced {replaced} HTML entities that XML does not define (such as &nbsp;)")
            return Document(root, recovered=True, warnings=tuple(warnings))
    root = _recover(fixed)
    if root is None or not isinstance(root.tag, str):
        raise FeedParseError(f"the feed is not readable XML ({error})")
    warnings.append(f"the feed is not well-formed XML and was read in recovery mode ({error})")
    return Document(root, recovered=True, warnings=tuple(warnings))
