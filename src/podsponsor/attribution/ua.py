"""Device families: the one thing a shop's browser user agent and a podcast app's download have in common.

Household matching pairs a conversion with downloads from the same address; the family of the device on each side
makes the pair more likely to be one person. The conversion side has a browser user agent (`ua_family`); the download
side has the device OPAWG named (`downloads.device` and `device_category`, e.g. "Apple iPhone" / "mobile";
`device_family`). Both answer one of `FAMILIES`, or None when there is nothing to go by.

Limits worth knowing: Safari on iPadOS asks for desktop pages by default and then says "Macintosh", so most iPads
browse as macOS; a bare app user agent (`CFNetwork/… Darwin/…`) does not say whether it is an iPhone or a Mac, and is
"other".
"""

from __future__ import annotations

import re
from typing import Final, Literal

Family = Literal["iOS", "iPadOS", "Android", "macOS", "Windows", "Linux", "ChromeOS", "other"]
FAMILIES: Final[tuple[Family, ...]] = ("iOS", "iPadOS", "Android", "macOS", "Windows", "Linux", "ChromeOS", "other")

# First match wins. The order matters where a user agent names several systems: Android and ChromeOS ones say
# "Linux", iPhone and iPad ones say "like Mac OS X", consoles and TVs say "Windows" or "Linux".
USER_AGENT_RULES: Final[tuple[tuple[re.Pattern[str], Family], ...]] = (
    (re.compile(r"Windows Phone|IEMobile|Xbox|PlayStation|Nintendo|KAIOS", re.IGNORECASE), "other"),
    (re.compile(r"SMART-?TV|Tizen|Web0S|webOS|HbbTV|Roku|CrKey|AppleTV|Apple TV|tvOS|watchOS", re.IGNORECASE), "other"),
    (re.compile(r"iPad", re.IGNORECASE), "iPadOS"),
    (re.compile(r"iPhone|iPod|\biOS\b", re.IGNORECASE), "iOS"),
    (re.compile(r"\bCrOS\b|Chromebook"), "ChromeOS"),
    (re.compile(r"Android", re.IGNORECASE), "Android"),
    (re.compile(r"Windows|Win64|Win32|WOW64"), "Windows"),
    (re.compile(r"Macintosh|Mac OS X|macOS"), "macOS"),
    (re.compile(r"Linux|X11|Ubuntu|Fedora", re.IGNORECASE), "Linux"),
)

# OPAWG's device names (opawg/user-agents-v2 devices.json) and the family each one runs.
OPAWG_DEVICES: Final[dict[str, Family]] = {
    "apple iphone": "iOS",
    "apple ipod": "iOS",
    "apple ipad": "iPadOS",
    "apple computer": "macOS",
    "google chromebook": "ChromeOS",
    "android phone": "Android",
    "android tablet": "Android",
    "windows computer": "Windows",
    "apple watch": "other",
    "apple tv": "other",
    "apple homepod": "other",
    "google home": "other",
    "amazon smart speaker": "other",
    "other smart speaker": "other",
    "other smart tv": "other",
    "other watch": "other",
    "smart car": "other",
    # OPAWG's catch-alls: the patterns behind them (Linux, VLC, okhttp, ffmpeg; "tablet"; Castro, Pocket Casts…)
    # do not tell the system.
    "other computer": "other",
    "other tablet": "other",
    "other mobile device": "other",
}
# For device names outside the list (a newer list, or a shorter spelling such as "iPhone" or "Android phone").
DEVICE_WORDS: Final[tuple[tuple[re.Pattern[str], Family], ...]] = (
    (re.compile(r"ipad", re.IGNORECASE), "iPadOS"),
    (re.compile(r"iphone|ipod", re.IGNORECASE), "iOS"),
    (re.compile(r"chromebook|chrome ?os", re.IGNORECASE), "ChromeOS"),
    (re.compile(r"android", re.IGNORECASE), "Android"),
    (re.compile(r"windows", re.IGNORECASE), "Windows"),
    (re.compile(r"\bmac", re.IGNORECASE), "macOS"),
    (re.compile(r"linux", re.IGNORECASE), "Linux"),
)


def ua_family(user_agent: str | None) -> Family | None:
    """The system a user agent runs on; None without a user agent, "other" when it names none of the families."""
    if user_agent is None or not user_agent.strip():
        return None
    for pattern, family in USER_AGENT_RULES:
        if pattern.search(user_agent):
            return family
    return "other"


def device_family(device: str | None, device_category: str | None = None) -> Family | None:
    """The family of a download's OPAWG device; None when neither the device nor its category is known."""
    name = (device or "").strip()
    if name:
        known = OPAWG_DEVICES.get(name.lower())
        if known is not None:
            return known
        for pattern, family in DEVICE_WORDS:
            if pattern.search(name):
                return family
        return "other"
    return "other" if device_category and device_category.strip() else None
