"""How a dashboard's cards read on the page and in the PDF: every number written in its unit with the note of how it
is computed beside it, the health cards' figures with a status, tables with a value and its 95 % interval in one
cell and without the ids (which the exports keep), and the names that lead to the order, campaign or show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Literal

from podsponsor.dashboards.card_charts import CardChart, card_charts
from podsponsor.dashboards.schemas import Card, Column, Dashboard, Figure, Table, Unit, Value
from podsponsor.reports import report as numbers

Status = Literal["ok", "warn", "bad"]
STATUS_TEXT: Final[dict[Status, str]] = {"ok": "OK", "warn": "Check", "bad": "Failing"}
NUMERIC: Final = frozenset(
    {"count", "downloads", "impressions", "percent", "cents", "cpm_cents", "ratio", "days", "bytes"}
)
# Where a name in a table leads: (the name's column, the id column), the page it opens.
LINKS: Final = {
    ("number", "io_id"): "/io/{}/delivery",
    ("campaign", "campaign_id"): "/campaigns/{}/delivery",
    ("show", "podcast_id"): "/podcasts/{}",
}


@dataclass(frozen=True)
class Limit:
    """A health figure is OK up to `warn`, to check above it, failing above `bad`."""

    warn: float | None = None
    bad: float | None = None

    def status(self, value: float) -> Status:
        if self.bad is not None and value > self.bad:
            return "bad"
        if self.warn is not None and value > self.warn:
            return "warn"
        return "ok"

    def text(self, unit: str) -> str:
        parts = []
        if self.warn is not None:
            parts.append(f"check above {self.warn:g}{unit}")
        if self.bad is not None:
            parts.append(f"failing above {self.bad:g}{unit}")
        return ", ".join(parts)


# By card and figure label. A date figure is judged by its days before the dashboard's as-of day.
HEALTH: Final[dict[str, dict[str, Limit]]] = {
    "etl_health": {
        "Failed imports": Limit(bad=0),
        "Rows rejected": Limit(warn=0),
        # Daily files arrive once a day: a source two days quiet is late, three days is failing.
        "Stalest source (hours)": Limit(warn=26, bad=72),
    },
    "measurement_health": {
        "Unknown user agents": Limit(warn=0),
        "Bot share": Limit(warn=10, bad=25),
        "Last counted day": Limit(warn=1, bad=3),
        "Failed count runs": Limit(bad=0),
        "Spill backlog": Limit(warn=0),
        "Oldest spill (hours)": Limit(warn=1, bad=24),
        "Spill set aside": Limit(bad=0),
    },
    "attribution_health": {
        "Signature failures": Limit(warn=0),
        "Sources failing": Limit(bad=0),
        "Highest unusable-address share": Limit(warn=20, bad=50),
    },
}


@dataclass(frozen=True)
class FigureView:
    label: str
    text: str
    interval: str | None
    note: str
    status: Status | None = None
    status_note: str = ""

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status] if self.status else ""

    @property
    def hover(self) -> str:
        """The note shown on hover: how the number is computed, and what its status means."""
        return f"{self.note}. {self.status_note}" if self.status_note else self.note


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None


@dataclass(frozen=True)
class ColumnView:
    key: str
    label: str
    note: str
    numeric: bool


@dataclass(frozen=True)
class TableView:
    key: str
    label: str
    columns: list[ColumnView]
    rows: list[list[Cell]]
    total_rows: int

    @property
    def notes(self) -> list[ColumnView]:
        return [column for column in self.columns if column.note]


@dataclass(frozen=True)
class CardView:
    card: Card
    figures: list[FigureView]
    charts: list[CardChart]
    tables: list[TableView]
    series_notes: list[str]

    @property
    def anchor(self) -> str:
        return "card-" + self.card.id.replace("_", "-")


def dashboard_views(dashboard: Dashboard, *, order: str | None = None) -> list[CardView]:
    return [card_view(card, dashboard.as_of, order=order) for card in dashboard.cards]


def card_view(card: Card, as_of: date, *, order: str | None = None) -> CardView:
    limits = HEALTH.get(card.id, {})
    return CardView(
        card=card,
        figures=[figure_view(figure, limits.get(figure.label), as_of) for figure in card.figures],
        charts=card_charts(card, order=order),
        tables=[table_view(table) for table in card.tables],
        series_notes=list(dict.fromkeys(series.note for series in card.series)),
    )


def figure_view(figure: Figure, limit: Limit | None, as_of: date) -> FigureView:
    interval = None
    if figure.value is not None and (figure.low is not None or figure.high is not None):
        interval = interval_text(figure.low, figure.high, figure.unit, figure.currency)
    found = FigureView(
        figure.label, value_text(figure.value, figure.unit, figure.currency), interval, figure.note.rstrip(".")
    )
    if limit is None or figure.value is None:
        return found
    if figure.unit == "date":
        judged, unit = float((as_of - date.fromisoformat(str(figure.value))).days), f" day(s) before {as_of}"
    elif isinstance(figure.value, int | float):
        judged, unit = float(figure.value), " %" if figure.unit == "percent" else ""
    else:
        return found
    status = limit.status(judged)
    rule = f"Status: {STATUS_TEXT[status]} ({limit.text(unit)})"
    return FigureView(found.label, found.text, found.interval, found.note, status, rule)


def table_view(table: Table) -> TableView:
    """The table as shown: ids left out, a value and its interval (`x_low`, `x_high`) in one cell."""
    keys = {column.key for column in table.columns}
    ranged = {key: _bounds(key) for key in keys if _bounds(key) <= keys}
    hidden = {bound for bounds in ranged.values() for bound in bounds}
    shown = [c for c in table.columns if c.key not in hidden and not c.key.endswith("_id") and c.key != "key"]
    columns = [ColumnView(c.key, c.label, c.note, c.unit in NUMERIC) for c in shown]
    rows = [[_cell(row, column, ranged) for column in shown] for row in table.rows]
    return TableView(table.key, table.label, columns, rows, table.total_rows)


def _bounds(key: str) -> set[str]:
    """The columns of a value's interval: `conversions_low` and `_high`, or `cpa_low` and `_high` of `cpa_cents`."""
    base = key.removesuffix("_cents")
    return {f"{base}_low", f"{base}_high"}


def _cell(row: dict[str, Value], column: Column, ranged: dict[str, set[str]]) -> Cell:
    value = row.get(column.key)
    currency = row.get("currency")
    money = str(currency) if isinstance(currency, str) else None
    text = value_text(value, column.unit, money)
    if column.key in ranged and value is not None:
        base = column.key.removesuffix("_cents")
        low, high = row.get(f"{base}_low"), row.get(f"{base}_high")
        if low is not None or high is not None:
            text += " " + interval_text(_float(low), _float(high), column.unit, money)
    for (name, id_key), pattern in LINKS.items():
        if column.key == name and row.get(id_key) is not None:
            return Cell(text, pattern.format(row[id_key]))
    return Cell(text)


# --- Numbers as text ---------------------------------------------------------------------------------------------


def value_text(value: Value, unit: Unit, currency: str | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return _moment(value) if unit == "datetime" else value
    if unit == "percent":
        return numbers.pct(value)
    if unit in ("cents", "cpm_cents"):
        return numbers.money(value, currency)
    if unit == "ratio":
        return numbers.decimal(value, 2)
    if unit == "bytes":
        return _bytes(value)
    text = numbers.count(value) if float(value).is_integer() else numbers.decimal(value)
    if unit == "days":
        return f"{text} day" if value == 1 else f"{text} days"
    return text


def interval_text(low: float | None, high: float | None, unit: Unit, currency: str | None = None) -> str:
    """'(7 to 20)'; an interval without an upper end reads '(7 to ∞)'."""
    upper = "∞" if high is None else value_text(high, unit, currency)
    return f"({value_text(low, unit, currency)} to {upper})"


def _bytes(value: int | float) -> str:
    size, name = float(value), "bytes"
    for bigger in ("KB", "MB", "GB"):
        if size < 1024:
            break
        size, name = size / 1024, bigger
    return f"{size:,.0f} bytes" if name == "bytes" else f"{size:,.1f} {name}"


def _moment(value: str) -> str:
    moment = datetime.fromisoformat(value)
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M UTC")


def _float(value: Value) -> float | None:
    return float(value) if isinstance(value, int | float) else None
