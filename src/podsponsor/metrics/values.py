"""Cell values as platform exports write them, made into what metrics_daily stores.

Each parser takes one cell and returns the value or raises `BadValue` with a reason a creator understands. The
column functions check a whole column of a chunk at once: a clean column (what the canonical format and most
exports contain) is checked by one regular expression over the joined column, and only a column that fails it
is parsed cell by cell. Output cells are COPY text: `\\N` is NULL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

NULL = "\\N"
EMPTY = frozenset({"", "-", "\u2014", "\u2013", "n/a", "na", "null", "none"})
MAX_COUNT = 10**15
EARLIEST_DAY = date(2000, 1, 1)
DAY_CACHE_SIZE = 50_000

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?: [\d:]+(?: ?[AaPp][Mm])?)?")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_MONTH_FIRST = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})")
_DAY_FIRST = re.compile(r"(\d{1,2}) ([A-Za-z]{3,9})\.?,? (\d{4})")
DATE_HINT = "not a date (write 2026-08-13, 8/13/2026 or Aug 13, 2026)"

_SEPARATORS = ",\u00a0\u202f '\u2019"
_GROUPED = re.compile(rf"\d{{1,3}}(?:([{_SEPARATORS}])\d{{3}})(?:\1\d{{3}})*(?:\.\d+)?")
_PLAIN = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_DECIMAL_COMMA = re.compile(r"\d+,\d+")
_CURRENCY = re.compile(r"^(?:[$€£]|usd|eur|gbp)\s*|\s*(?:[$€£]|usd|eur|gbp)$", re.IGNORECASE)

# Whole clean columns, each cell on its own line of the joined text: plain digits, or plain decimals.
_DIGIT_LINES = re.compile(r"[0-9\n]*")
_DECIMAL_LINES = re.compile(r"[0-9.\n]*")
CLEAN_DIGITS_MAX = 15


class BadValue(ValueError):
    """A cell that cannot be stored; `reason` says why, `suggestion` how to fix it."""

    def __init__(self, reason: str, suggestion: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suggestion = suggestion


def is_empty(raw: str) -> bool:
    return raw.strip().lower() in EMPTY


def latest_day() -> date:
    """Exports are dated in the platform's time zone: a day ahead of UTC is still today somewhere."""
    return datetime.now(UTC).date() + timedelta(days=1)


def parse_date(raw: str) -> date:
    text = raw.strip()
    found = _date_parts(text)
    if found is None:
        raise BadValue(DATE_HINT)
    year, month, day = found
    try:
        value = date(year, month, day)
    except ValueError as exc:
        raise BadValue(f"no such date ({exc})") from exc
    if value < EARLIEST_DAY:
        raise BadValue(f"before {EARLIEST_DAY.isoformat()}: check the year")
    if value > latest_day():
        raise BadValue("in the future")
    return value


def _date_parts(text: str) -> tuple[int, int, int] | None:
    for pattern in (_ISO, _COMPACT):
        match = pattern.fullmatch(text)
        if match:
            return int(match[1]), int(match[2]), int(match[3])
    match = _US.fullmatch(text)
    if match:
        year = int(match[3])
        return (2000 + year if year < 100 else year), int(match[1]), int(match[2])
    match = _DOTTED.fullmatch(text)
    if match:
        return int(match[3]), int(match[2]), int(match[1])
    match = _MONTH_FIRST.fullmatch(text)
    if match and match[1].lower() in MONTHS:
        return int(match[3]), MONTHS[match[1].lower()], int(match[2])
    match = _DAY_FIRST.fullmatch(text)
    if match and match[2].lower() in MONTHS:
        return int(match[3]), MONTHS[match[2].lower()], int(match[1])
    return None


def _number(text: str) -> Decimal:
    """'1,289', '1 289', '627.0', '0,18' (decimal comma) → Decimal; the sign is refused by the callers."""
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    digits = text.strip("-()+ ")
    if _GROUPED.fullmatch(digits):
        digits = re.sub(f"[{_SEPARATORS}]", "", digits)
    elif _DECIMAL_COMMA.fullmatch(digits):
        digits = digits.replace(",", ".")
    elif not _PLAIN.fullmatch(digits):
        raise BadValue("not a number")
    value = Decimal(digits)
    if negative and value != 0:
        raise BadValue("must be 0 or more")
    return value


def parse_count(raw: str) -> int | None:
    text = raw.strip()
    if text.lower() in EMPTY:
        return None
    value = _number(text)
    if value != value.to_integral_value():
        raise BadValue("not a whole number")
    if value >= MAX_COUNT:
        raise BadValue("too large")
    return int(value)


def parse_rate(raw: str, *, percent: bool = False, cap: bool = False) -> float | None:
    """A share from 0 to 1. '18%' is 0.18; in a column whose header says %, '18' is 18 % too. With `cap`, values over
    100 % (Apple's consumption counts repeat listening) are stored as 1."""
    text = raw.strip()
    if text.lower() in EMPTY:
        return None
    if text.endswith("%"):
        percent, text = True, text[:-1].strip()
    try:
        value = float(_number(text)) / (100 if percent else 1)
    except BadValue as exc:
        raise BadValue(exc.reason if exc.reason != "not a number" else "not a number or percentage") from None
    if not math.isfinite(value):
        raise BadValue("not a number or percentage")
    if value > 1:
        if cap:
            return 1.0
        if not percent and value <= 100:
            raise BadValue("must be between 0 and 1", f"write {text}% or {value / 100:g}")
        raise BadValue("must be between 0 and 1 (0 % to 100 %)")
    return value


def parse_money(raw: str, *, cents: bool) -> int | None:
    """Revenue in integer cents. A currency sign means the amount is in currency units ('$12.34' → 1234); a bare
    number is in cents when the column is in cents, else in currency units."""
    text = raw.strip()
    if text.lower() in EMPTY:
        return None
    negative = text.startswith("-") or text.startswith("(")
    stripped = _CURRENCY.sub("", text.strip("-()")).strip()
    units = stripped != text.strip("-()").strip() or not cents
    value = _number(("-" if negative else "") + stripped)
    if not units and value != value.to_integral_value():
        raise BadValue("not a whole number of cents", f"write ${value / 100:.2f} for an amount in dollars")
    try:
        amount = int((value * 100 if units else value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise BadValue("too large") from exc
    if amount >= MAX_COUNT:
        raise BadValue("too large")
    return amount


CellErrors = list[tuple[int, BadValue]]
T = TypeVar("T")


class DayColumn:
    """Days of one import: each distinct spelling is parsed once (a file has few distinct days)."""

    def __init__(self) -> None:
        self.parsed: dict[str, str | BadValue] = {}
        self.latest: str | None = None

    def convert(self, cells: Sequence[str]) -> tuple[list[str], CellErrors]:
        if len(self.parsed) > DAY_CACHE_SIZE:
            self.parsed.clear()
        parsed = self.parsed
        distinct = set(cells)
        for raw in distinct.difference(parsed):
            try:
                parsed[raw] = parse_date(raw).isoformat()
            except BadValue as exc:
                parsed[raw] = exc
        days = [value for raw in distinct if isinstance(value := parsed[raw], str)]
        if days and (self.latest is None or max(days) > self.latest):
            self.latest = max(days)
        if len(days) == len(distinct):
            return list(map(parsed.__getitem__, cells)), []  # type: ignore[arg-type]
        out: list[str] = []
        errors: CellErrors = []
        for index, raw in enumerate(cells):
            value = parsed[raw]
            if isinstance(value, BadValue):
                errors.append((index, value))
                out.append(NULL)
            else:
                out.append(value)
        return out, errors


def count_column(cells: Sequence[str]) -> tuple[list[str], CellErrors]:
    joined = "\n".join(cells)
    if _DIGIT_LINES.fullmatch(joined) and max(map(len, cells), default=0) <= CLEAN_DIGITS_MAX:
        return _nulls(cells, joined), []
    return _each(cells, parse_count, str)


def rate_column(cells: Sequence[str], *, percent: bool, cap: bool) -> tuple[list[str], CellErrors]:
    joined = "\n".join(cells)
    if not percent and _DECIMAL_LINES.fullmatch(joined):
        present = [cell for cell in cells if cell] if _has_empty(joined) else cells
        try:
            if max(map(float, present), default=0.0) <= 1:
                return _nulls(cells, joined), []
        except ValueError:
            pass
    return _each(cells, lambda raw: parse_rate(raw, percent=percent, cap=cap), repr)


def money_column(cells: Sequence[str], *, cents: bool) -> tuple[list[str], CellErrors]:
    if cents:
        joined = "\n".join(cells)
        if _DIGIT_LINES.fullmatch(joined) and max(map(len, cells), default=0) <= CLEAN_DIGITS_MAX:
            return _nulls(cells, joined), []
    return _each(cells, lambda raw: parse_money(raw, cents=cents), str)


def _has_empty(joined: str) -> bool:
    return not joined or joined[0] == "\n" or joined[-1] == "\n" or "\n\n" in joined


def _nulls(cells: Sequence[str], joined: str) -> list[str]:
    return [cell or NULL for cell in cells] if _has_empty(joined) else cells  # type: ignore[return-value]


def _each(
    cells: Sequence[str], parse: Callable[[str], T | None], render: Callable[[T], str]
) -> tuple[list[str], CellErrors]:
    out: list[str] = []
    errors: CellErrors = []
    for index, raw in enumerate(cells):
        try:
            value = parse(raw)
        except BadValue as exc:
            errors.append((index, exc))
            out.append(NULL)
            continue
        out.append(NULL if value is None else render(value))
    return out, errors
