"""Who made a request: OPAWG user-agent classification, IAB bot rules, Apple Watch duplicates, data-centre ranges.

Pure and in memory: a `Classifier` is built once per set of reference-list versions (the service caches it) and then
answers without I/O. The counting job sees millions of hits but few distinct user agents, so each user agent is
classified once (an LRU cache per classifier), and in each list only the entries whose literal text can occur in
the user agent run their regular expression (`FirstMatch`). The order is OPAWG's: bots → apps → libraries →
browsers, first match wins; then devices; for browsers the Referer against referrers.

IAB rules on top of the lists (Podcast Measurement Technical Guidelines v2.3, step 1.2):
- a bot is an entry of the bots list, a library of category "bot", a user agent containing "bot", "crawler" or
  "spider" (any case) unless the lists or the tenant identify it as an app, or a missing user agent;
- an Apple Watch duplicate is a user agent that starts with `atc/` and contains `watchOS`, or contains
  `(null)/(null) watchOS` (compared without regard to case).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import uuid
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from podsponsor.measurement.jsregex import compile_js, pattern_gates

Kind = Literal["bot", "app", "library", "browser", "unknown"]
Label = Literal["bot", "app", "browser", "library", "ignore"]
UA_ORDER: tuple[tuple[str, Kind], ...] = (
    ("bots", "bot"),
    ("apps", "app"),
    ("libraries", "library"),
    ("browsers", "browser"),
)
USER_AGENT_MAX = 512
UA_CACHE_SIZE = 1 << 16
REFERER_CACHE_SIZE = 1 << 12
PREFIX_KEY = 2
LABEL_KINDS: dict[str, Kind] = {"bot": "bot", "app": "app", "browser": "browser", "library": "library"}
BOT_WORDS = re.compile(r"bot|crawler|spider", re.IGNORECASE)
_LINE_BREAKS = str.maketrans("", "", "\r\n")


@dataclass(frozen=True, slots=True)
class PatternEntry:
    name: str
    pattern: str
    category: str | None = None


@dataclass(frozen=True, slots=True)
class DatacenterRange:
    start: int
    end: int
    provider: str


@dataclass(frozen=True)
class ReferenceLists:
    """The lists a classifier uses: pattern lists by kind (bots, apps, libraries, browsers, devices, referrers),
    data-centre ranges, and the version id of each list they came from (recorded with every count)."""

    patterns: Mapping[str, Sequence[PatternEntry]]
    datacenters: Sequence[DatacenterRange] = ()
    versions: Mapping[str, uuid.UUID] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Override:
    """A tenant's label for a user agent from the review queue."""

    label: Label
    name: str | None


@dataclass(frozen=True, slots=True)
class Classification:
    kind: Kind
    name: str | None = None
    is_bot: bool = False
    bot_reason: str | None = None
    app: str | None = None
    device: str | None = None
    device_category: str | None = None
    via_referrer: bool = False
    referrer_category: str | None = None
    apple_watch_duplicate: bool = False
    labelled: bool = False

    @property
    def needs_review(self) -> bool:
        """Present but recognised by no list and no label: the review queue wants it."""
        return self.kind == "unknown" and self.bot_reason != "missing user agent" and not self.labelled


MISSING = Classification(kind="unknown", is_bot=True, bot_reason="missing user agent")


def clean(value: str | None) -> str:
    """A header as OPAWG matches it: line breaks removed (they only come from bad actors)."""
    return value.translate(_LINE_BREAKS) if value else ""


def review_key(user_agent: str | None) -> str:
    """How the review queue stores a user agent, and so how a label is looked up: cleaned and capped."""
    return clean(user_agent)[:USER_AGENT_MAX]


def is_apple_watch_duplicate(user_agent: str) -> bool:
    lowered = user_agent.lower()
    return (lowered.startswith("atc/") and "watchos" in lowered) or "(null)/(null) watchos" in lowered


class FirstMatch:
    """One list, answering which entry matches first. Every alternative of every pattern has a literal gate (an
    anchored literal prefix, or a literal it must contain; see `jsregex.literal_gate`); only the entries whose gate
    passes are tried, in list order. Prefixes are found by dictionary lookup, so the hundreds of anchored app
    patterns cost nothing for a user agent that starts otherwise."""

    __slots__ = ("_always", "_contains", "_entries", "_prefixes", "_search")

    def __init__(self, entries: Sequence[PatternEntry]) -> None:
        self._entries = tuple(entries)
        self._search = tuple(compile_js(entry.pattern).search for entry in self._entries)
        prefixes: dict[str, list[tuple[int, str]]] = {}
        contains: list[tuple[int, str]] = []
        always: list[int] = []
        for index, entry in enumerate(self._entries):
            gates = pattern_gates(entry.pattern)
            if gates is None:
                always.append(index)
                continue
            for kind, text in gates:
                if kind == "prefix":
                    prefixes.setdefault(text[:PREFIX_KEY], []).append((index, text))
                else:
                    contains.append((index, text))
        self._prefixes = {key: tuple(found) for key, found in prefixes.items()}
        self._contains = tuple(contains)
        self._always = frozenset(always)

    def __len__(self) -> int:
        return len(self._entries)

    def first(self, text: str) -> PatternEntry | None:
        candidates = [index for index, needle in self._contains if needle in text]
        for length in range(1, min(PREFIX_KEY, len(text)) + 1):
            for index, prefix in self._prefixes.get(text[:length], ()):
                if text.startswith(prefix):
                    candidates.append(index)
        candidates.extend(self._always)
        for index in sorted(set(candidates)):
            if self._search[index](text):
                return self._entries[index]
        return None


class Classifier:
    """Classifies user agents and client addresses with one set of reference lists."""

    def __init__(self, lists: ReferenceLists) -> None:
        self.lists = lists
        self.versions = dict(lists.versions)
        self._ua_lists = tuple((kind, FirstMatch(lists.patterns.get(name, ()))) for name, kind in UA_ORDER)
        self._devices = FirstMatch(lists.patterns.get("devices", ()))
        self._referrers = FirstMatch(lists.patterns.get("referrers", ()))
        ranges = sorted(lists.datacenters, key=lambda r: r.start)
        self._starts = [r.start for r in ranges]
        self._ends = [r.end for r in ranges]
        self._providers = [r.provider for r in ranges]
        self._by_user_agent = lru_cache(maxsize=UA_CACHE_SIZE)(self._classify_user_agent)
        self._by_referer = lru_cache(maxsize=REFERER_CACHE_SIZE)(self._referrers.first)
        self._by_label = lru_cache(maxsize=REFERER_CACHE_SIZE)(self._labelled)
        self.missing = tuple(
            name
            for name in ("bots", "apps", "libraries", "browsers", "devices", "referrers")
            if not lists.patterns.get(name)
        ) + (() if ranges else ("datacenters",))

    def classify(
        self, user_agent: str | None, referer: str | None = None, overrides: Mapping[str, Override] | None = None
    ) -> Classification:
        """The OPAWG entity, IAB bot verdict, device and Apple Watch flag of one request.

        `overrides` are a tenant's labels by `review_key(user_agent)`; a label decides the kind and name."""
        if overrides:
            cleaned = clean(user_agent)
            label = overrides.get(cleaned[:USER_AGENT_MAX])
            if label is not None and label.label != "ignore" and cleaned.strip():
                return self._by_label(cleaned, label)
        found = self._by_user_agent(user_agent)
        if found.kind != "browser" or not referer:
            return found
        return self._with_referrer(found, clean(referer))

    def is_datacenter(self, ip: str) -> str | None:
        """The hosting provider whose range holds this IPv4 address (an IPv4-mapped IPv6 address too), else None."""
        number = _ipv4_number(ip)
        if number is None:
            return None
        at = bisect_right(self._starts, number) - 1
        if at >= 0 and number <= self._ends[at]:
            return self._providers[at]
        return None

    def cache_info(self) -> dict[str, int]:
        info = self._by_user_agent.cache_info()
        return {"hits": info.hits, "misses": info.misses, "size": info.currsize}

    def _classify_user_agent(self, raw: str | None) -> Classification:
        user_agent = clean(raw)
        if not user_agent.strip():
            return MISSING
        watch = is_apple_watch_duplicate(user_agent)
        for kind, patterns in self._ua_lists:
            entry = patterns.first(user_agent)
            if entry is not None:
                return self._identified(user_agent, kind, entry, watch)
        return self._unidentified(user_agent, watch)

    def _identified(self, user_agent: str, kind: Kind, entry: PatternEntry, watch: bool) -> Classification:
        reason = None
        if kind == "bot":
            reason = f"OPAWG bots list: {entry.name}"
        elif kind == "library" and entry.category == "bot":
            reason = f"OPAWG library of category bot: {entry.name}"
        elif kind != "app" and BOT_WORDS.search(user_agent):
            reason = _keyword_reason(user_agent)
        if reason is not None:
            return Classification(
                kind=kind, name=entry.name, is_bot=True, bot_reason=reason, apple_watch_duplicate=watch
            )
        device = self._devices.first(user_agent)
        return Classification(
            kind=kind,
            name=entry.name,
            app=entry.name if kind == "app" else None,
            device=device.name if device else None,
            device_category=device.category if device else None,
            apple_watch_duplicate=watch,
        )

    def _unidentified(self, user_agent: str, watch: bool) -> Classification:
        if BOT_WORDS.search(user_agent):
            return Classification(
                kind="unknown", is_bot=True, bot_reason=_keyword_reason(user_agent), apple_watch_duplicate=watch
            )
        device = self._devices.first(user_agent)
        return Classification(
            kind="unknown",
            device=device.name if device else None,
            device_category=device.category if device else None,
            apple_watch_duplicate=watch,
        )

    def _labelled(self, user_agent: str, label: Override) -> Classification:
        kind = LABEL_KINDS[label.label]
        watch = is_apple_watch_duplicate(user_agent)
        reason = None
        if kind == "bot":
            reason = f"labelled a bot by the workspace: {label.name or user_agent}"
        elif kind != "app" and BOT_WORDS.search(user_agent):
            reason = _keyword_reason(user_agent)
        if reason is not None:
            return Classification(
                kind=kind, name=label.name, is_bot=True, bot_reason=reason, apple_watch_duplicate=watch, labelled=True
            )
        device = self._devices.first(user_agent)
        return Classification(
            kind=kind,
            name=label.name,
            app=label.name if kind == "app" else None,
            device=device.name if device else None,
            device_category=device.category if device else None,
            apple_watch_duplicate=watch,
            labelled=True,
        )

    def _with_referrer(self, found: Classification, referer: str) -> Classification:
        entry = self._by_referer(referer)
        if entry is None:
            return found
        return Classification(
            kind=found.kind,
            name=found.name,
            app=entry.name,
            device=found.device,
            device_category=found.device_category,
            via_referrer=True,
            referrer_category=entry.category,
            apple_watch_duplicate=found.apple_watch_duplicate,
        )


def _keyword_reason(user_agent: str) -> str:
    word = BOT_WORDS.search(user_agent)
    return f"user agent contains {word.group(0).lower()!r}" if word else "user agent names a bot"


def _ipv4_number(ip: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except OSError:
        pass
    if ":" not in ip:
        return None
    try:
        mapped = ipaddress.IPv6Address(ip).ipv4_mapped
    except ValueError:
        return None
    return int(mapped) if mapped is not None else None
