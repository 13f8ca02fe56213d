"""Exports of dashboard cards and data views: CSV that a spreadsheet opens without running anything in it, and XLSX
with typed cells.

A spreadsheet runs a cell that starts with '=', '+', '-' or '@' as a formula, and some also after a leading tab or
carriage return: a show title or user agent like '=HYPERLINK(...)' would run on the reader's machine. Such text gets
a leading apostrophe, which spreadsheets show and never run. Only text is changed: a real number is written as a
number, so -5 stays the number -5 while the text "-5" becomes "'-5". Money is integer cents in the system; money
columns write it as currency units.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias
from urllib.parse import quote

import xlsxwriter

Cell: TypeAlias = str | int | float | Decimal | date | datetime | bool | None
ColumnKind: TypeAlias = Literal["text", "integer", "decimal", "money", "percent", "date", "datetime"]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# Rows per chunk of a streamed CSV: large enough to keep per-chunk overhead small, small enough to start at once.
CSV_CHUNK_ROWS = 500

NUMBER_FORMATS: dict[ColumnKind, str] = {
    "integer": "#,##0",
    "decimal": "#,##0.00",
    "money": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
# Excel's limits on sheet names.
SHEET_NAME_LENGTH = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Column widths in characters: at least the header, at most this wide, measured over the first rows.
MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE_ROWS = 1000


def money(cents: int) -> Decimal:
    """Integer cents as currency units with both decimals, for a CSV cell: 123450 -> Decimal('1234.50')."""
    return Decimal(cents).scaleb(-2)


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as it is, never runs: a formula-like start gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- CSV ---------------------------------------------------------------------------------------------------------


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Cell]], *, excel_bom: bool = False) -> bytes:
    """The table as RFC 4180 CSV in UTF-8; `excel_bom` starts it with a byte-order mark so Excel reads it as UTF-8."""
    return b"".join(csv_chunks(columns, rows, excel_bom=excel_bom))


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[Cell]], *, excel_bom: bool = False) -> Iterator[bytes]:
    """As `csv_bytes`, a few hundred rows at a time, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if excel_bom:
        buffer.write(BOM)
    writer.writerow([neutralise(title) for title in columns])
    for index, row in enumerate(rows, 1):
        writer.writerow([csv_text(value) for value in row])
        if index % CSV_CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def csv_text(value: Cell) -> str:
    """A cell as CSV text: numbers plainly ('-5', '0.1', '1234.50'), days and times in ISO 8601, none empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(value))


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a sheet. `kind` sets the number format; money takes integer cents and shows currency units
    (name the currency in the title). None formats each cell by its type. `width` in characters, else measured."""

    title: str
    kind: ColumnKind | None = None
    width: float | None = None


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: Sequence[Column | str]
    rows: Iterable[Sequence[Cell]]


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook of the sheets: bold frozen header row with filters, typed cells, number formats, fitted widths.
    Aware datetimes are written in UTC (a spreadsheet has no time zones); say so in the column title."""
    buffer = io.BytesIO()
    # Constant memory: rows go to a temporary file as written, so a long data view does not sit in memory as cells.
    workbook = xlsxwriter.Workbook(
        buffer, {"constant_memory": True, "nan_inf_to_errors": True, "strings_to_formulas": False}
    )
    formats = _Formats(workbook)
    names: set[str] = set()
    for sheet in sheets:
        _write_sheet(workbook.add_worksheet(sheet_name(sheet.name, names)), sheet, formats)
    workbook.close()
    return buffer.getvalue()


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A name Excel accepts: no []:*?/\\, at most 31 characters, not blank, unique in the workbook (any case)."""
    base = _SHEET_NAME_FORBIDDEN.sub(" ", wanted).strip().strip("'") or "Sheet"
    name, number = base[:SHEET_NAME_LENGTH], 1
    while name.lower() in taken:
        number += 1
        suffix = f" ({number})"
        name = base[: SHEET_NAME_LENGTH - len(suffix)] + suffix
    taken.add(name.lower())
    return name


class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.header = workbook.add_format({"bold": True, "bottom": 1})
        self.kinds = {kind: workbook.add_format({"num_format": code}) for kind, code in NUMBER_FORMATS.items()}


def _write_sheet(worksheet: Any, sheet: Sheet, formats: _Formats) -> None:
    columns = [column if isinstance(column, Column) else Column(column) for column in sheet.columns]
    widths = [len(column.title) for column in columns]
    for index, column in enumerate(columns):
        worksheet.write_string(0, index, neutralise(column.title), formats.header)
    row_number = 0
    for row_number, row in enumerate(sheet.rows, 1):
        for index, (column, value) in enumerate(zip(columns, row, strict=True)):
            shown = _write_cell(worksheet, row_number, index, column.kind, value, formats)
            if row_number <= WIDTH_SAMPLE_ROWS:
                widths[index] = max(widths[index], shown)
    for index, column in enumerate(columns):
        width = column.width if column.width is not None else min(MAX_COLUMN_WIDTH, widths[index] + 2)
        worksheet.set_column(index, index, width)
    worksheet.freeze_panes(1, 0)
    if columns:
        worksheet.autofilter(0, 0, row_number, len(columns) - 1)


def _write_cell(worksheet: Any, row: int, col: int, kind: ColumnKind | None, value: Cell, formats: _Formats) -> int:
    """Writes the cell by its type, in the column's format; returns about how many characters it shows."""
    if value is None:
        return 0
    if isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
        return 5
    if isinstance(value, int | float | Decimal):
        number = float(value) / 100 if kind == "money" else float(value)
        chosen = kind if kind not in (None, "text", "date", "datetime") else _number_kind(value)
        worksheet.write_number(row, col, number, formats.kinds[chosen])
        return len(f"{number:,.2f}")
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        worksheet.write_datetime(row, col, moment, formats.kinds["datetime"])
        return 19
    if isinstance(value, date):
        worksheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats.kinds["date"])
        return 10
    text = neutralise(str(value))
    worksheet.write_string(row, col, text)
    return max((len(line) for line in text.splitlines()), default=0)


def _number_kind(value: int | float | Decimal) -> ColumnKind:
    return "integer" if isinstance(value, int) else "decimal"


# --- Downloads ---------------------------------------------------------------------------------------------------


# Latin letters that Unicode does not decompose into an ASCII letter and a mark.
_LATIN_LETTERS = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE",
     "œ": "oe", "Þ": "Th", "þ": "th"}
)  # fmt: skip


def content_disposition(filename: str) -> str:
    """An attachment header (RFC 6266) for any name: an ASCII fallback and the exact name in UTF-8, with no path,
    quote or line break that could escape the header."""
    name = re.sub(r"[\x00-\x1f\x7f/\\]+", " ", filename).strip() or "export"
    spelt = unicodedata.normalize("NFKD", name.translate(_LATIN_LETTERS)).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r'["%;]+', "_", spelt).strip()
    if not re.search(r"[A-Za-z0-9]", fallback.rsplit(".", 1)[0]):
        fallback = "export" + ("." + fallback.rsplit(".", 1)[1] if "." in fallback else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
