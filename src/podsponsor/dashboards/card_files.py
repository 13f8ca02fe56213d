"""A card's data as files: CSV of one of its parts (a table, its series as points, or its figures) and XLSX of all
of them, and the whole dashboard as one workbook; written by reports.exports, so text that looks like a formula is
neutralised and numbers stay numbers.

Money is integer cents in the cards: CSV writes currency units, XLSX typed money cells. Percentages are 0 to 100 in
CSV (the column title says %), fractions shown as % in XLSX. Days and times are ISO 8601 in CSV, dates in XLSX.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from podsponsor.dashboards.schemas import Card, Dashboard, Figure, Series, Table, Unit, Value
from podsponsor.reports import exports
from podsponsor.reports.exports import Cell, ColumnKind, Sheet

SERIES: Final = "series"
FIGURES: Final = "figures"
CENT: Final = Decimal("0.01")
KINDS: Final[dict[str, ColumnKind]] = {
    "percent": "percent",
    "cents": "money",
    "cpm_cents": "money",
    "ratio": "decimal",
    "date": "date",
    "datetime": "datetime",
    "text": "text",
}
UNIT_NAMES: Final = {"cents": "money", "cpm_cents": "money per 1,000", "percent": "%"}


@dataclass(frozen=True)
class Field:
    """A column of a part; `unit` None: the values are plain already (text, or numbers in their own units)."""

    title: str
    unit: Unit | None = None
    note: str = ""

    def csv_title(self) -> str:
        if self.unit == "percent":
            return f"{self.title} (%)"
        return f"{self.title} (UTC)" if self.unit == "datetime" else self.title

    def column(self) -> exports.Column:
        kind = KINDS.get(self.unit) if self.unit else None
        return exports.Column(f"{self.title} (UTC)" if self.unit == "datetime" else self.title, kind)


@dataclass(frozen=True)
class Part:
    """One block of a card's data as rows: one of its tables, its series as points, or its figures."""

    key: str
    label: str
    fields: list[Field]
    rows: list[list[Cell]]


# --- Parts of a card ---------------------------------------------------------------------------------------------


def card_parts(card: Card) -> list[Part]:
    """The card's tables, then its series (where it has any), then its figures."""
    parts = [table_part(table) for table in card.tables]
    if card.series:
        parts.append(series_part(card.series))
    parts.append(figures_part(card.figures))
    return parts


def card_part(card: Card, key: str | None) -> Part | None:
    """The part named `key`, or by default the card's main data: its first table, else its series, else figures."""
    parts = card_parts(card)
    if key is None:
        return parts[0]
    return next((part for part in parts if part.key == key), None)


def table_part(table: Table) -> Part:
    fields = [Field(column.label, column.unit, column.note) for column in table.columns]
    rows: list[list[Cell]] = [[row.get(column.key) for column in table.columns] for row in table.rows]
    return Part(table.key, table.label, fields, rows)


def series_part(series: Sequence[Series]) -> Part:
    """Every point of every series, one row each; money in currency units."""
    xs = [point.x for s in series for point in s.points]
    x_title = "Month" if all(len(x) == 7 for x in xs) else "Day" if all(len(x) == 10 for x in xs) else "Day of age"
    fields = [Field("Series"), Field("Group"), Field(x_title), Field("Value"), Field("Currency")]
    rows: list[list[Cell]] = [
        [s.label, s.group, point.x, _plain(point.y, s.unit), s.currency] for s in series for point in s.points
    ]
    return Part(SERIES, "Series", fields, rows)


def figures_part(figures: Sequence[Figure], card: Card | None = None) -> Part:
    """The figures with their notes; `card` adds its title first (the whole dashboard's sheet)."""
    fields = [
        Field("Figure"),
        Field("Value"),
        Field("Unit"),
        Field("Currency"),
        Field("Low (95 %)"),
        Field("High (95 %)"),
        Field("How computed"),
    ]
    rows: list[list[Cell]] = [
        [
            figure.label,
            _plain(figure.value, figure.unit),
            UNIT_NAMES.get(figure.unit, figure.unit),
            figure.currency,
            _plain(figure.low, figure.unit),
            _plain(figure.high, figure.unit),
            figure.note,
        ]
        for figure in figures
    ]
    if card is not None:
        fields.insert(0, Field("Card"))
        rows = [[card.title, *row] for row in rows]
    return Part(FIGURES, "Figures", fields, rows)


def notes_part(cards: Sequence[Card]) -> Part:
    """How every column and series of the cards is computed (the figures carry theirs beside them)."""
    rows: list[list[Cell]] = []
    for card in cards:
        for table in card.tables:
            rows += [[card.title, table.label, c.label, c.note] for c in table.columns if c.note]
        rows += [[card.title, "Series", s.label, s.note] for s in {s.key: s for s in card.series}.values()]
    fields = [Field("Card"), Field("Part"), Field("Column or series"), Field("How computed")]
    return Part("notes", "How computed", fields, rows)


# --- Files -------------------------------------------------------------------------------------------------------


def part_csv(part: Part) -> bytes:
    return exports.csv_bytes(
        [field.csv_title() for field in part.fields],
        ([_csv_cell(value, field.unit) for value, field in zip(row, part.fields, strict=True)] for row in part.rows),
    )


def card_xlsx(card: Card) -> bytes:
    """A sheet per part of the card, and how its columns and series are computed."""
    return exports.xlsx_bytes([_sheet(part) for part in card_parts(card)] + [_sheet(notes_part([card]))])


def dashboard_xlsx(dashboard: Dashboard) -> bytes:
    """Every card's figures on the first sheet, then a sheet per card (its table, or each of its tables, or its
    series), then how every column and series is computed."""
    figures = [figures_part(card.figures, card) for card in dashboard.cards]
    first = Part(FIGURES, "Figures", figures[0].fields, [row for part in figures for row in part.rows])
    sheets = [_sheet(first)]
    for card in dashboard.cards:
        tables = [table_part(table) for table in card.tables]
        if len(tables) == 1:
            sheets.append(_sheet(tables[0], card.title))
        sheets += [_sheet(part, f"{card.title} · {part.label}") for part in tables if len(tables) > 1]
        if not tables and card.series:
            sheets.append(_sheet(series_part(card.series), card.title))
    sheets.append(_sheet(notes_part(dashboard.cards)))
    return exports.xlsx_bytes(sheets)


def filename(dashboard: Dashboard, extension: str, card: Card | None = None, part: str | None = None) -> str:
    named = "-".join(name for name in ("dashboard", dashboard.dashboard, card.id if card else "", part or "") if name)
    return f"{named}-{dashboard.start.isoformat()}-to-{dashboard.end.isoformat()}.{extension}"


def _sheet(part: Part, name: str | None = None) -> Sheet:
    rows = ([_xlsx_cell(value, field.unit) for value, field in zip(row, part.fields, strict=True)] for row in part.rows)
    return Sheet(name or part.label, [field.column() for field in part.fields], rows)


def _csv_cell(value: Cell, unit: Unit | None) -> Cell:
    if unit in ("cents", "cpm_cents") and isinstance(value, int | float):
        return _units(value)
    return value


def _xlsx_cell(value: Cell, unit: Unit | None) -> Cell:
    if value is None or unit is None:
        return value
    if unit == "percent" and isinstance(value, int | float):
        return value / 100
    if unit == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if unit == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _plain(value: Value, unit: Unit) -> Cell:
    """A value in its own units for a column of mixed units: money in currency units, days as dates."""
    if value is None:
        return None
    if unit in ("cents", "cpm_cents") and isinstance(value, int | float):
        return _units(value)
    if unit == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _units(cents: int | float) -> Decimal:
    """Cents as currency units; fractional cents (an interval's end) rounded half up to the cent."""
    if isinstance(cents, int):
        return exports.money(cents)
    return (Decimal(repr(cents)) / 100).quantize(CENT, ROUND_HALF_UP)
