"""Exports: CSV that a spreadsheet never runs as formulas, typed XLSX that reads back cell for cell, and download
names that cannot break their header."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.utils.escape import unescape

from podsponsor.reports import exports
from podsponsor.reports.exports import Column, Sheet

# text as typed → text as written to CSV and XLSX
ESCAPING = [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("+", "'+"),
    ("+1 555 0100", "'+1 555 0100"),
    ("-5", "'-5"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("Łódź · 東京 · café", "Łódź · 東京 · café"),
    ("a=b", "a=b"),
    (" =1+1", " =1+1"),
    ("", ""),
    ("'quoted", "'quoted"),
    ('say "hi", then go', 'say "hi", then go'),
    ("two\nlines", "two\nlines"),
]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(("typed", "written"), ESCAPING)
def test_csv_text_that_looks_like_a_formula_is_neutralised(typed: str, written: str) -> None:
    data = exports.csv_bytes(["Show"], [[typed]])
    assert read_csv(data) == [["Show"], [written]]


def test_csv_numbers_stay_numbers_and_only_text_is_escaped() -> None:
    data = exports.csv_bytes(
        ["count", "text", "float", "money", "day", "moment", "flag", "none"],
        [[-5, "-5", -0.25, exports.money(-123_450), date(2026, 3, 1),
          datetime(2026, 3, 1, 9, 30, tzinfo=UTC), True, None]],
    )  # fmt: skip
    assert data.split(b"\r\n")[1] == b"-5,'-5,-0.25,-1234.50,2026-03-01,2026-03-01T09:30:00+00:00,true,"
    assert data.endswith(b"\r\n")
    assert not data.startswith(exports.BOM.encode())


def test_csv_headers_are_escaped_too_and_the_bom_is_optional() -> None:
    data = exports.csv_bytes(["=cmd", "Revenue (€)"], [], excel_bom=True)
    assert data.startswith(b"\xef\xbb\xbf")
    assert read_csv(data.removeprefix(b"\xef\xbb\xbf")) == [["'=cmd", "Revenue (€)"]]


def test_csv_streams_in_chunks_with_the_same_bytes() -> None:
    rows = [[n, f"show {n}"] for n in range(1_234)]
    chunks = list(exports.csv_chunks(["n", "title"], iter(rows)))
    assert len(chunks) == 3
    assert b"".join(chunks) == exports.csv_bytes(["n", "title"], rows)
    assert len(read_csv(b"".join(chunks))) == 1_235


def test_xlsx_reads_back_with_types_formats_and_escaping() -> None:
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    sheet = Sheet(
        "Delivery",
        [
            Column("Show"),
            Column("Downloads", "integer"),
            Column("Revenue (USD)", "money"),
            Column("Fill", "percent"),
            Column("Day", "date"),
            Column("Counted at (UTC)"),
            Column("Ratio"),
            Column("Exact"),
            Column("Live"),
        ],
        [["Night Shift", 12_345, 123_450, 0.875, date(2026, 3, 1), moment, 1.5, Decimal("2.25"), True]]
        + [[typed, -5, -99, None, None, None, None, None, False] for typed, _ in ESCAPING],
    )
    workbook = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes([sheet])))
    assert workbook.sheetnames == ["Delivery"]
    ws = workbook["Delivery"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:I{2 + len(ESCAPING)}"
    header = ws[1]
    assert [cell.value for cell in header] == [c.title for c in sheet.columns]  # type: ignore[union-attr]
    assert all(cell.font.b for cell in header)

    first = ws[2]
    expected = [
        ("Night Shift", str, "General"),
        (12_345, int, "#,##0"),
        (1_234.5, float, "#,##0.00"),
        (0.875, float, "0.0%"),
        (datetime(2026, 3, 1), datetime, "yyyy-mm-dd"),
        (datetime(2026, 3, 1, 7, 30), datetime, "yyyy-mm-dd hh:mm:ss"),
        (1.5, float, "#,##0.00"),
        (2.25, float, "#,##0.00"),
        (True, bool, "General"),
    ]
    for cell, (value, kind, number_format) in zip(first, expected, strict=True):
        assert (cell.value, type(cell.value), cell.number_format) == (value, kind, number_format), cell.coordinate

    for row, (_, written) in zip(ws.iter_rows(min_row=3), ESCAPING, strict=True):
        text, count, money, *rest = row
        # Control characters travel as _x000D_ escapes, which Excel decodes and openpyxl leaves to its caller.
        assert unescape(text.value or "") == written
        assert text.data_type in ("s", "n")  # an empty string is an empty cell; never a formula ("f")
        assert (count.value, money.value) == (-5, -0.99)
        assert [cell.value for cell in rest] == [None, None, None, None, None, False]


def test_xlsx_column_widths_fit_the_text_within_bounds() -> None:
    sheet = Sheet("Widths", [Column("A"), Column("Long", width=12), "Note"], [["x" * 30, 1, "y" * 200]])
    ws = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes([sheet])))["Widths"]
    widths = [ws.column_dimensions[letter].width for letter in "ABC"]
    assert 32 <= widths[0] < 34
    assert 12 <= widths[1] < 13
    assert exports.MAX_COLUMN_WIDTH <= widths[2] < exports.MAX_COLUMN_WIDTH + 1


def test_xlsx_sheet_names_are_made_valid_and_unique() -> None:
    names = ["Revenue: Q1/Q2", "revenue  Q1 Q2", "A" * 40, "A" * 40, "[]", "Downloads"]
    sheets = [Sheet(name, ["n"], [[1]]) for name in names]
    workbook = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(sheets)))
    assert workbook.sheetnames == [
        "Revenue  Q1 Q2",
        "revenue  Q1 Q2 (2)",
        "A" * 31,
        "A" * 27 + " (2)",
        "Sheet",
        "Downloads",
    ]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="zip"):
        exports.xlsx_bytes([Sheet("Bad", ["a", "b"], [[1]])])


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("delivery-2026-03.csv", "attachment; filename=\"delivery-2026-03.csv\"; "
         "filename*=UTF-8''delivery-2026-03.csv"),
        ("Łódź report.xlsx", "attachment; filename=\"Lodz report.xlsx\"; "
         "filename*=UTF-8''%C5%81%C3%B3d%C5%BA%20report.xlsx"),
        ('a"b;c%.csv', "attachment; filename=\"a_b_c_.csv\"; filename*=UTF-8''a%22b%3Bc%25.csv"),
        ("../../etc\r\nSet-Cookie: x.csv", "attachment; filename=\".. .. etc Set-Cookie: x.csv\"; "
         "filename*=UTF-8''..%20..%20etc%20Set-Cookie%3A%20x.csv"),
        ("東京", "attachment; filename=\"export\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC"),
        ("東京.csv", "attachment; filename=\"export.csv\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.csv"),
        ("Ørsted Straße.csv", "attachment; filename=\"Orsted Strasse.csv\"; "
         "filename*=UTF-8''%C3%98rsted%20Stra%C3%9Fe.csv"),
    ],
)  # fmt: skip
def test_content_disposition(name: str, header: str) -> None:
    assert exports.content_disposition(name) == header
    assert "\r" not in header and "\n" not in header
