"""Publish dates as feeds really write them, always returned as timezone-aware UTC.

RFC 822/2822 with a missing or wrong weekday (the weekday is ignored, as every app does), full or abbreviated month
names, two-digit years (00-49 → 20xx, 50-99 → 19xx, RFC 2822 §4.3), missing seconds, numeric offsets with or
without a colon, named zones (GMT, UT, Z, EST, PDT, CEST, …; an unknown name counts as UTC), a missing zone (UTC),
JavaScript's `Mon Jul 13 2020 04:00:00 GMT-0400 (EDT)`, and ISO 8601 as Atom uses it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_ZONE_HOURS: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
    "BST": 1, "IST": 5.5, "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "WEST": 1, "EET": 2, "EEST": 3, "MSK": 3,
    "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AWST": 8, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13,
}  # fmt: skip
_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
_WEEKDAY = r"(?:[A-Za-z]+\.?(?:,\s*|\s+))?"
_DAY_FIRST = re.compile(
    rf"{_WEEKDAY}(?P<day>\d{{1,2}})(?:st|nd|rd|th)?[\s\-/]+(?P<month>[A-Za-z]{{3,}})\.?,?[\s\-/]+(?P<year>\d{{2,4}})"
    rf"(?:[\sT,]+{_TIME})?\s*(?P<zone>.*)"
)
_MONTH_FIRST = re.compile(
    rf"{_WEEKDAY}(?P<month>[A-Za-z]{{3,}})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})"
    rf"(?:[\sT,]+{_TIME})?\s*(?P<zone>.*)"
)
_OFFSET = re.compile(r"(?:GMT|UTC|UT)?\s*(?P<sign>[+-])(?P<hours>\d{1,2}):?(?P<minutes>\d{2})?")
_ISO_START = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def parse_date(raw: str | None) -> datetime | None:
    """A UTC datetime, or None when the text is empty or not a date."""
    if raw is None:
        return None
    text = " ".join(raw.split())
    if not text:
        return None
    if _ISO_START.match(text):
        return _iso(text)
    for pattern in (_DAY_FIRST, _MONTH_FIRST):
        match = pattern.fullmatch(text)
        if match:
            return _from_parts(match)
    return None


def _iso(text: str) -> datetime | None:
    normal = re.sub(r"\s*(?:Z|UTC|GMT)$", "+00:00", text, flags=re.IGNORECASE)
    normal = re.sub(r"\s*([+-]\d{2}):?(\d{2})$", r"\1:\2", normal).replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(normal)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _year(raw: str) -> int:
    year = int(raw)
    if len(raw) <= 2:
        return year + (2000 if year < 50 else 1900)
    return year


def _hour(raw: str | None, ampm: str | None) -> int:
    hour = int(raw or 0)
    if ampm:
        meridiem = ampm.lower()[0]
        if hour == 12:
            hour = 0
        if meridiem == "p":
            hour += 12
    return hour


def _from_parts(match: re.Match[str]) -> datetime | None:
    month = _MONTHS.get(match["month"][:3].lower())
    if month is None or len(match["year"]) == 3:
        return None
    try:
        local = datetime(
            _year(match["year"]),
            month,
            int(match["day"]),
            _hour(match["hour"], match["ampm"]),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            tzinfo=_zone(match["zone"]),
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def _zone(raw: str) -> timezone:
    text = re.sub(r"\(.*?\)", "", raw).strip()
    offset = _OFFSET.match(text)
    if offset:
        sign = -1 if offset["sign"] == "-" else 1
        delta = timedelta(hours=int(offset["hours"]), minutes=int(offset["minutes"] or 0))
        if delta < timedelta(hours=24):
            return timezone(sign * delta)
        return UTC
    name = text.split(" ", 1)[0].upper() if text else ""
    return timezone(timedelta(hours=_ZONE_HOURS.get(name, 0)))
