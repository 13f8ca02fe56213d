"""Orders from a CSV file into a `csv` source: all or nothing, and idempotent.

The file is read with the metrics import's reader (any BOM, `,` `;` or tab, rows numbered as a spreadsheet numbers
them: the header is row 1). Columns are found by their header, ignoring case, spaces and punctuation, under their own
names or the names shop exports give them (`Total`, `Amount`, `Date`, `Discount Code`…); columns no field reads are
ignored. Every row passes the rules every conversion passes (`normalise.conversion_values`); rows go into
`conversions` as they are read, in the caller's transaction, and any bad row fails the whole file: the errors name
row, column, value and reason (every one counted, the first 1,000 kept) and the caller rolls back, so nothing is kept.

A row repeating an order id seen earlier in the file (exports with one line per item) counts once, as the first
row's order, and is not checked again; an order the source already has is a duplicate, not an error, so uploading the
same file again stores nothing new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import intake, intake_repository
from podsponsor.attribution.exceptions import InvalidConversion, OrdersFileRejected
from podsponsor.attribution.intake_schemas import OrdersUploadOut, check_address
from podsponsor.attribution.models import ConversionSource
from podsponsor.attribution.normalise import ORDER_ID_MAX, conversion_values
from podsponsor.attribution.schemas import ConversionData
from podsponsor.auth.subject import Subject
from podsponsor.events import service as events
from podsponsor.metrics.csv_reader import CsvFile, FileProblem, Malformed

ERRORS_KEPT: Final = 1000
VALUE_SHOWN: Final = 200
INSERT_ROWS: Final = 1000
EVENT_FIELDS: Final = {"file_name", "rows", "stored", "duplicates"}
REQUIRED: Final = ("order_id", "occurred_at")
# Each field's column names (lower case, runs of anything but letters and digits as one "_"), preferred first: a shop
# export often has several (Shopify's has `Created at` and `Paid at`); the first one present is read and the answer
# says which. A bare `name` is not an order id: too often it is the customer's.
COLUMN_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "order_id": ("order_id", "order_number", "order", "order_no", "order_name", "transaction_id", "reference", "id"),
    "occurred_at": (
        "occurred_at", "order_date", "date", "created_at", "created", "date_created", "purchase_date", "processed_at",
        "paid_at", "timestamp", "time",
    ),
    "value": ("value", "total", "order_total", "total_price", "amount", "revenue", "order_value"),
    "currency": ("currency", "currency_code", "order_currency"),
    "promo_codes": (
        "promo_codes", "promo_code", "discount_codes", "discount_code", "coupon_codes", "coupon_code", "coupons",
        "coupon", "voucher_code", "voucher",
    ),
    "landing_url": ("landing_url", "landing_site", "landing_page_url", "landing_page"),
    "ip": ("ip", "ip_address", "browser_ip", "client_ip", "customer_ip", "customer_ip_address"),
    "user_agent": ("user_agent", "browser_user_agent", "customer_user_agent", "ua"),
    "referrer": ("referrer", "referer", "referring_site", "referrer_url"),
    "kind": ("kind", "conversion_kind"),
}  # fmt: skip
CODE_SEPARATORS: Final = re.compile(r"[;,]")
TIME_FORMATS: Final = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z")
_NOT_WORD: Final = re.compile(r"[^0-9a-z]+")


def header_key(name: str) -> str:
    return _NOT_WORD.sub("_", name.strip().lower()).strip("_")


@dataclass
class Problems:
    """Every problem counted; the first `ERRORS_KEPT` kept in the order they were found."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, row: int | None, column: str | None, value: str | None, reason: str) -> None:
        self.count += 1
        if len(self.kept) < ERRORS_KEPT:
            shown = value if value is None or len(value) <= VALUE_SHOWN else value[:VALUE_SHOWN] + "…"
            self.kept.append({"row": row, "column": column, "value": shown, "reason": reason})


@dataclass(frozen=True)
class Layout:
    """Where each field is in the file: its cell index and the column's name as written."""

    index: dict[str, int]
    names: dict[str, str]
    ignored: list[str]


def layout_of(header: list[str], row: int, problems: Problems) -> Layout:
    positions: dict[str, int] = {}
    for position, raw in enumerate(header):
        key = header_key(raw)
        if key in positions and any(key in names for names in COLUMN_NAMES.values()):
            problems.add(row, raw, raw, f"two columns are named '{raw.strip()}': keep one")
        positions.setdefault(key, position)
    index: dict[str, int] = {}
    for name, accepted in COLUMN_NAMES.items():
        found = next((positions[key] for key in accepted if key in positions), None)
        if found is not None:
            index[name] = found
        elif name in REQUIRED:
            problems.add(row, None, None, f"no {name} column (a header named one of: {', '.join(accepted)})")
    used = set(index.values())
    ignored = [raw.strip() for at, raw in enumerate(header) if at not in used and raw.strip()]
    return Layout(index, {name: header[at].strip() for name, at in index.items()}, ignored)


def parse_time(text: str) -> datetime:
    """ISO 8601 (a date, or a date and time, with or without an offset), or a shop export's
    `2024-05-01 14:30:00 -0400`. ValueError otherwise."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for form in TIME_FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    raise ValueError("not a date and time such as 2024-05-01T14:30:00Z")


@dataclass
class Reading:
    """One file's rows going in: counts, the order ids seen, rows waiting for their insert."""

    source: ConversionSource
    layout: Layout
    width: int
    now: datetime
    problems: Problems
    rows: int = 0
    stored: int = 0
    seen: set[str] = field(default_factory=set)
    waiting: list[dict[str, Any]] = field(default_factory=list)

    def cell(self, cells: list[str], name: str) -> str | None:
        at = self.layout.index.get(name)
        if at is None or at >= len(cells):
            return None
        return cells[at].strip() or None

    def take(self, number: int, cells: list[str]) -> None:
        if not any(cell.strip() for cell in cells):
            return
        self.rows += 1
        # Trailing empty cells (a trailing delimiter) are common and harmless; text beyond the header is not.
        if any(cell.strip() for cell in cells[self.width :]):
            self.problems.add(number, None, None, f"more cells than the header's {self.width} columns")
            return
        order_id = self.cell(cells, "order_id")
        if order_id is None:
            self._problem(number, "order_id", None, "required: an upload is taken in once per order id")
            return
        if order_id in self.seen:
            return
        if len(order_id) <= ORDER_ID_MAX:
            self.seen.add(order_id)
        values = self._values(number, order_id, cells)
        if values is not None and not self.problems.count:
            self.waiting.append(values)

    def _values(self, number: int, order_id: str, cells: list[str]) -> dict[str, Any] | None:
        before = self.problems.count
        occurred = self._time(number, self.cell(cells, "occurred_at"))
        address = self.cell(cells, "ip")
        try:
            check_address(address)
        except ValueError as exc:
            self._problem(number, "ip", address, str(exc))
        codes = self.cell(cells, "promo_codes")
        data = ConversionData(
            order_id=order_id,
            occurred_at=occurred,
            value=self.cell(cells, "value"),
            currency=self.cell(cells, "currency"),
            promo_codes=CODE_SEPARATORS.split(codes) if codes else (),
            landing_url=self.cell(cells, "landing_url"),
            referrer=self.cell(cells, "referrer"),
            ip=address,
            user_agent=self.cell(cells, "user_agent"),
            kind=(self.cell(cells, "kind") or "purchase").lower(),
            fields=self.layout.names,
        )
        try:
            values = conversion_values(self.source, data, self.now)
        except InvalidConversion as invalid:
            for error in invalid.errors or []:
                self.problems.add(number, error["field"], _text(error.get("value")), str(error["reason"]))
            return None
        return values if self.problems.count == before else None

    def _time(self, number: int, raw: str | None) -> datetime | None:
        if raw is None:
            self._problem(number, "occurred_at", None, "required: when the order was placed")
            return None
        try:
            at = parse_time(raw)
        except ValueError as exc:
            self._problem(number, "occurred_at", raw, str(exc))
            return None
        ahead = intake.check_not_ahead(at, self.now)
        if ahead is not None:
            self._problem(number, "occurred_at", raw, ahead)
            return None
        return at

    def _problem(self, number: int, name: str, value: str | None, reason: str) -> None:
        self.problems.add(number, self.layout.names.get(name, name), value, reason)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def record_file(
    session: AsyncSession, subject: Subject, source: ConversionSource, path: Path, file_name: str, now: datetime
) -> OrdersUploadOut:
    """Records the orders of the file at `path` into `source`; OrdersFileRejected (the caller rolls back) when any
    row or the header is bad."""
    problems = Problems()
    reading: Reading | None = None
    header_row = 1
    try:
        with CsvFile(path) as reader:
            header = reader.read_header()
            header_row = reader.header_row
            layout = layout_of(header, header_row, problems)
            reading = Reading(source, layout, len(header), now, problems)
            if not problems.count:
                await _read_rows(session, reader, reading)
    except FileProblem as problem:
        problems.add(problem.row, None, problem.value, problem.reason)
    if reading is not None and not problems.count and not reading.rows:
        problems.add(header_row + 1, None, None, "the file has a header but no orders")
    if problems.count or reading is None:
        noun = "problem" if problems.count == 1 else "problems"
        raise OrdersFileRejected(
            f"{problems.count:,} {noun} found; nothing was recorded. Fix the file and upload it again.",
            errors=problems.kept,
            error_count=problems.count,
        )
    await intake_repository.count_events(session, subject.tenant_id, source.id, reading.rows, now)
    result = OrdersUploadOut(
        source_id=source.id,
        file_name=file_name,
        rows=reading.rows,
        stored=reading.stored,
        duplicates=reading.rows - reading.stored,
        columns=dict(reading.layout.names),
        ignored_columns=reading.layout.ignored,
    )
    await events.record(
        session,
        subject,
        "conversions.uploaded",
        subject_type="conversion_source",
        subject_id=source.id,
        payload={"sponsor_id": str(source.sponsor_id), **result.model_dump(mode="json", include=EVENT_FIELDS)},
    )
    return result


async def _read_rows(session: AsyncSession, reader: CsvFile, reading: Reading) -> None:
    for first_row, rows, _ in reader.chunks():
        for number, cells in enumerate(rows, start=first_row):
            if isinstance(cells, Malformed):
                reading.rows += 1
                reading.problems.add(number, None, None, cells.reason)
                continue
            reading.take(number, cells)
            if len(reading.waiting) >= INSERT_ROWS:
                await _flush(session, reading)
    await _flush(session, reading)


async def _flush(session: AsyncSession, reading: Reading) -> None:
    # Once a row is bad the file will be rolled back: inserting more would only be work thrown away.
    if not reading.problems.count:
        reading.stored += await intake_repository.insert_conversions(session, reading.waiting)
    reading.waiting.clear()
