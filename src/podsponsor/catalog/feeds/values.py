"""Small readers for values feeds write loosely: flags, numbers, URLs; and the capped warnings list."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_EXPLICIT_TRUE = frozenset({"yes", "true", "explicit"})
_EXPLICIT_FALSE = frozenset({"no", "false", "clean"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
MAX_WARNINGS = 200


class Warnings:
    """Warnings in order, capped so a 5,000-item feed with one recurring fault yields a readable list."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._dropped = 0

    def add(self, message: str) -> None:
        if len(self._items) < MAX_WARNINGS:
            self._items.append(message)
        else:
            self._dropped += 1

    def as_list(self) -> list[str]:
        if self._dropped:
            return [*self._items, f"{self._dropped} more warnings were left out"]
        return list(self._items)


def explicit_flag(raw: str) -> bool | None:
    value = raw.strip().lower()
    if value in _EXPLICIT_TRUE:
        return True
    if value in _EXPLICIT_FALSE:
        return False
    return None


def yes_no(raw: str) -> bool | None:
    value = raw.strip().lower()
    if value in ("yes", "true"):
        return True
    if value in ("no", "false"):
        return False
    return None


def non_negative_int(raw: str) -> int | None:
    text = raw.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if value < 2**31 else None


def positive_length(raw: str) -> int | None:
    """Enclosure lengths: 0 and junk mean "unknown" in practice."""
    text = raw.strip().replace(",", "")
    if not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None


def number(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def absolute_url(raw: str, base: str) -> str | None:
    """`raw` without surrounding whitespace, resolved against `base` when relative; None when empty."""
    text = raw.strip()
    if not text:
        return None
    if _SCHEME.match(text):
        return text
    return urljoin(base, text)


def http_url(raw: str, base: str) -> str | None:
    """Like `absolute_url`, but only http(s) addresses with a host count."""
    url = absolute_url(raw, base)
    if url is None:
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
