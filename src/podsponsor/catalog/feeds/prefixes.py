"""Measurement and redirect prefixes in enclosure URLs: recognise them, record them in order, unwrap them.

A prefix service is put in front of the media URL by writing its own address followed by the destination without
its scheme, e.g. `https://dts.podtrac.com/redirect.mp3/chrt.fm/track/AB12/traffic.libsyn.com/show/ep.mp3`.
Services chain that way, so unwrapping repeats until no known prefix is left.

Rule for one layer: the URL's host and path are split into segments; a prefix matches where its pattern's segments
equal the URL's segments (a pattern starting with "." matches the end of a host, as `xyz.gum.fm`). After the pattern
come the service's own id segments (`AB12`, `e,pg=<guid>`, `redirect.mp3`) and then the destination, which starts at
the first segment that looks like a host name. The destination keeps the query string. Its scheme is the one it
spells itself (`op3.dev/e/https://…`); otherwise https, except that an http URL whose destination looks http-only
(an IP address or an explicit port other than 443) stays http. A matching pattern followed by nothing host-like is
not a wrapper and is left alone.

The list is opawg/podcast-prefixes (MIT, see prefixes.json.LICENSE), shipped in this package; `load_prefixes(path)`
reads a refreshed copy in the same format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MAX_LAYERS = 10
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]+)(?::\d{1,5})?")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?")
# File names that would otherwise pass for host names (`redirect.aac`).
_MEDIA_SUFFIXES = frozenset({"aac", "flac", "mov", "ogg", "oga", "opus", "wav", "webm", "mpeg", "mpga", "html"})


@dataclass(frozen=True)
class Prefix:
    pattern: str
    name: str
    segments: tuple[str, ...]

    @classmethod
    def of(cls, pattern: str, name: str) -> Prefix:
        clean = pattern.strip().lower().strip("/")
        return cls(pattern=pattern, name=name.strip(), segments=tuple(clean.split("/")))


class PrefixList:
    """A loaded prefix list, indexed by host so unwrapping costs a dictionary lookup per URL segment."""

    __slots__ = ("_by_host", "_by_host_suffix", "prefixes")

    def __init__(self, prefixes: tuple[Prefix, ...]) -> None:
        # Longer patterns first, so `mgln.ai/track/…` is tried before a shorter pattern of the same host.
        self.prefixes = tuple(sorted(prefixes, key=lambda prefix: -len(prefix.segments)))
        by_host: dict[str, list[Prefix]] = {}
        suffixes: list[Prefix] = []
        for prefix in self.prefixes:
            if prefix.segments[0].startswith("."):
                suffixes.append(prefix)
            else:
                by_host.setdefault(prefix.segments[0], []).append(prefix)
        self._by_host = {host: tuple(found) for host, found in by_host.items()}
        self._by_host_suffix = tuple(suffixes)

    def __len__(self) -> int:
        return len(self.prefixes)

    def for_host(self, host: str) -> tuple[Prefix, ...]:
        exact = self._by_host.get(host, ())
        by_suffix = tuple(prefix for prefix in self._by_host_suffix if host.endswith(prefix.segments[0]))
        return exact + by_suffix if by_suffix else exact


@dataclass(frozen=True)
class Unwrapped:
    """`url` as given, `destination` with every known prefix removed, `prefixes` their names outermost first."""

    url: str
    destination: str
    prefixes: tuple[str, ...]


def load_prefixes(path: Path | str | None = None) -> PrefixList:
    """The prefix list: the packaged one, or a JSON list of {prefixpattern, prefixname} objects at `path`."""
    if path is None:
        raw = resources.files(__package__).joinpath("prefixes.json").read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8")
    entries = json.loads(raw)
    if not isinstance(entries, list):
        raise ValueError("a prefix list is a JSON array of objects with prefixpattern and prefixname")
    prefixes = [
        Prefix.of(str(entry["prefixpattern"]), str(entry.get("prefixname") or entry["prefixpattern"]))
        for entry in entries
        if isinstance(entry, dict) and str(entry.get("prefixpattern", "")).strip(" /")
    ]
    return PrefixList(tuple(prefixes))


@lru_cache(maxsize=1)
def default_prefixes() -> PrefixList:
    return load_prefixes()


def unwrap(url: str, prefixes: PrefixList | None = None) -> Unwrapped:
    """Remove every known measurement prefix from `url`, outermost first."""
    known = default_prefixes() if prefixes is None else prefixes
    current = url
    names: list[str] = []
    for _ in range(MAX_LAYERS):
        layer = _unwrap_once(current, known)
        if layer is None:
            break
        name, current = layer
        names.append(name)
    return Unwrapped(url=url, destination=current, prefixes=tuple(names))


def _unwrap_once(url: str, prefixes: PrefixList) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    segments = [parts.netloc.lower(), *parts.path.split("/")[1:]]
    for start, segment in enumerate(segments):
        for prefix in prefixes.for_host(segment.lower().split(":", 1)[0]):
            end = _match_tail(segments, start, prefix)
            if end is None:
                continue
            destination = _destination(segments[end:], parts.scheme, parts.query)
            if destination is not None:
                return prefix.name, destination
    return None


def _match_tail(segments: list[str], start: int, prefix: Prefix) -> int | None:
    """Where the pattern ends, when its segments after the host follow `segments[start]` exactly."""
    tail = prefix.segments[1:]
    if start + 1 + len(tail) > len(segments):
        return None
    for offset, expected in enumerate(tail, start=start + 1):
        if segments[offset].lower() != expected:
            return None
    return start + 1 + len(tail)


def _destination(rest: list[str], scheme: str, query: str) -> str | None:
    for index, segment in enumerate(rest):
        lowered = segment.lower()
        if lowered in ("http:", "https:"):
            remainder = [part for part in rest[index + 1 :] if part] if index + 1 < len(rest) else []
            if remainder and _looks_like_host(remainder[0]):
                path_start = rest.index(remainder[0], index + 1)
                return _build(lowered[:-1], rest[path_start], rest[path_start + 1 :], query)
            return None
        if _looks_like_host(segment):
            return _build(_implied_scheme(scheme, segment), segment, rest[index + 1 :], query)
    return None


def _looks_like_host(segment: str) -> bool:
    lowered = segment.lower()
    if _IPV4.fullmatch(lowered):
        return True
    if not _HOST.fullmatch(lowered):
        return False
    return lowered.split(":", 1)[0].rsplit(".", 1)[-1] not in _MEDIA_SUFFIXES


def _implied_scheme(wrapper_scheme: str, host: str) -> str:
    if wrapper_scheme == "https":
        return "https"
    name, _, port = host.partition(":")
    http_only = bool(_IPV4.fullmatch(name)) or (port not in ("", "443"))
    return "http" if http_only else "https"


def _build(scheme: str, host: str, path: list[str], query: str) -> str:
    return urlunsplit((scheme, host, "/" + "/".join(path) if path else "/", query, ""))
