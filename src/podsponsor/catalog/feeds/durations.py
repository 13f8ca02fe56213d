"""`itunes:duration` in every form publishers write it.

Accepted: `HH:MM:SS`, `H:MM:SS`, `MM:SS` (minutes may exceed 59: `90:00` is an hour and a half), plain seconds,
fractional seconds (`1014.708375`), and a fraction on the last field (`01:02:03.400`). Anything else is None.
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_CLOCK = re.compile(r"(?:(\d{1,3}):)?(\d{1,4}):(\d{1,2}(?:[.,]\d+)?)")


def parse_duration(raw: str | None) -> float | None:
    """Seconds (possibly fractional), or None for empty, negative or unreadable values."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return _finite(float(text))
    clock = _CLOCK.fullmatch(text)
    if clock is None:
        return None
    hours, minutes, seconds = clock.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    return _finite(total)


def duration_seconds(raw: str | None) -> int | None:
    """Whole seconds, rounded to the nearest (the catalog stores integers)."""
    seconds = parse_duration(raw)
    return None if seconds is None else round(seconds)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
