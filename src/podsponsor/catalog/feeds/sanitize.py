"""Show notes for display: a small allow-list of tags through nh3, and a plain-text version for summaries."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = frozenset({"p", "br", "a", "ul", "ol", "li", "strong", "em", "b", "i", "blockquote", "code", "pre"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    link_rel="noopener nofollow",
    url_schemes=set(URL_SCHEMES),
    strip_comments=True,
)
_TEXT_ONLY = nh3.Cleaner(tags=set(), attributes={}, strip_comments=True)
# Block boundaries become line breaks in the plain text, so "<p>a</p><p>b</p>" is not "ab".
_BLOCK_BOUNDARY = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?h[1-6]|/?blockquote|/?tr|/?pre)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")


def is_html(text: str) -> bool:
    return nh3.is_html(text)


def sanitize_html(markup: str) -> str:
    """Safe HTML for the show page; plain text (no tags) is escaped and its line breaks kept."""
    if not markup.strip():
        return ""
    if not is_html(markup):
        return "<br>".join(html.escape(line, quote=False) for line in markup.strip().splitlines())
    return _CLEANER.clean(markup).strip()


def to_plain_text(markup: str, *, html_known: bool = False) -> str:
    """Readable text from HTML or text: tags dropped, entities decoded, whitespace collapsed, paragraphs kept.

    `html_known` treats the input as HTML even when it looks like text (Atom's type="html" says so)."""
    if not markup.strip():
        return ""
    text = markup
    if html_known or is_html(markup):
        text = _TEXT_ONLY.clean(_BLOCK_BOUNDARY.sub("\n", markup))
        text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n", text).strip()
