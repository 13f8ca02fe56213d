"""The rules counting applies, as data: window types, settings, and every reason a request can be given, in the
order they take precedence (a request gets the first that applies, so `explain` can always say why)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

WindowType = Literal["calendar_day", "first_touch_24h", "extending_24h"]
WINDOW_TYPES: Final[tuple[WindowType, ...]] = ("calendar_day", "first_touch_24h", "extending_24h")
SourceKind = Literal["prefix", "logs"]
SOURCE_KINDS: Final[tuple[SourceKind, ...]] = ("prefix", "logs")

US_PER_DAY: Final = 86_400_000_000
# A typical ID3 tag with 1400x1400 cover art; used when an episode's own header size was not measured.
DEFAULT_HEADER_BYTES: Final = 256 * 1024
# Potential downloads (distinct user agent, episode and source) one address may make in one UTC day.
DEFAULT_IP_VOLUME_LIMIT: Final = 1000
THRESHOLD_SECONDS: Final = 60
# The share of the file that counts when one minute cannot be computed (short episode, sizes unknown).
WHOLE_FILE_PERCENT: Final = 99

REASONS: Final[tuple[str, ...]] = (
    "no_episode",
    "head",
    "not_get",
    "not_modified_304",
    "bad_status",
    "zero_one_range_only",
    "tiny_ranges_only",
    "apple_watch_duplicate",
    "bot_ua",
    "bot_keyword",
    "missing_ua",
    "datacenter",
    "ip_volume",
    "below_threshold",
    "duplicate_in_window",
    "counted",
)
CODE: Final[dict[str, int]] = {reason: code for code, reason in enumerate(REASONS, start=1)}
PASSED: Final = 0

REASON_TEXT: Final[dict[str, str]] = {
    "no_episode": "the request could not be matched to an episode of the show",
    "head": "a HEAD request transfers no audio, so it is never a download",
    "not_get": "only GET requests can be downloads",
    "not_modified_304": "a 304 Not Modified answer means the player already had the file",
    "bad_status": "the response did not deliver the file (an error or informational status)",
    "zero_one_range_only": "a `bytes=0-1` range only checks that ranges work (a later, larger request can count)",
    "tiny_ranges_only": "no requested byte range was longer than 2 bytes",
    "bot_ua": "the user agent is a known bot",
    "bot_keyword": "the user agent calls itself a bot, crawler or spider",
    "missing_ua": "the request carried no user agent",
    "apple_watch_duplicate": "an Apple Watch download duplicates the paired phone's (IAB v2.2 addendum)",
    "datacenter": "the address belongs to a data centre, not a listener",
    "ip_volume": "the address made an implausible number of downloads that UTC day",
    "below_threshold": "the merged byte ranges never reached the ID3 header plus one minute of audio",
    "duplicate_in_window": "the same listener already has a download of this episode in this window",
    "counted": "a download: the first request of this listener, episode and window",
}

# Seeds of the 64-bit keys: one per column, so that equal values in different columns hash differently.
SEED_IP: Final = 0x1F3A
SEED_UA: Final = 0x2B4C
SEED_EPISODE: Final = 0x3D5E
SEED_SOURCE: Final = 0x4E6F
SEED_DAY: Final = 0x5A71
SEED_WINDOW: Final = 0x6B82


@dataclass(frozen=True)
class CountingSettings:
    """A tenant's counting choices, stated with every count.

    `ip_volume_limit`: above this many potential downloads (distinct user agent, episode, source) from one address
    in one UTC day, every request of that address that day is excluded. `header_bytes`: the ID3/header size assumed
    for an episode whose own was not measured."""

    window: WindowType = "calendar_day"
    ip_volume_limit: int = DEFAULT_IP_VOLUME_LIMIT
    header_bytes: int = DEFAULT_HEADER_BYTES

    def __post_init__(self) -> None:
        if self.window not in WINDOW_TYPES:
            raise ValueError(f"window must be one of {', '.join(WINDOW_TYPES)}, not {self.window!r}")
        if self.ip_volume_limit < 1:
            raise ValueError("ip_volume_limit must be at least 1")
        if self.header_bytes < 0:
            raise ValueError("header_bytes cannot be negative")
