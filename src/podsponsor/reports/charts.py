"""Dashboard and report charts as Vega-Lite specs: one definition, drawn by the browser on pages and by vl-convert
on the server for PDFs, so a chart reads the same on screen and on paper.

Builders take plain values (days, names, counts, integer cents, fractions) and return a JSON-ready spec with the data
inlined, a title, an accessible description, formatted axes and a tooltip on every mark. Pages embed a spec with the
`chart` macro of templates/reports/chart.html; PDFs draw it with `pdf_chart`.

Days are sent as ISO dates and read as UTC on both sides, so 1 March stays 1 March in a browser west of Greenwich.
"""

from __future__ import annotations

import functools
import io
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeAlias

import vl_convert
from markupsafe import Markup, escape
from reportlab.platypus import Image

Spec: TypeAlias = dict[str, Any]
Number: TypeAlias = int | float
ValueKind: TypeAlias = Literal["count", "decimal", "money", "percent"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
# Tableau 10, the palette of the hand-drawn charts in web/chart_svg.py, so a series keeps its colour across pages.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
INK = "#1d2130"
INK_MUTED = "#5d6577"
GRID = "#e2e5ec"
AXIS = "#9aa1b1"
EMPTY = "#f0f1f5"
# The pages' font stack, with DejaVu Sans (present where the PDFs are made) before the generic fallback.
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif'
# Not strftime("%b"): that follows the server's locale, and a chart must read the same everywhere.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

CONFIG: Spec = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None},
    "title": {"anchor": "start", "color": INK, "fontSize": 14, "fontWeight": 600, "offset": 12},
    "axis": {
        "labelColor": INK_MUTED,
        "labelFontSize": 11,
        "titleColor": INK_MUTED,
        "titleFontSize": 11,
        "titleFontWeight": 600,
        "domainColor": AXIS,
        "tickColor": AXIS,
        "gridColor": GRID,
    },
    "legend": {"orient": "bottom", "labelColor": INK, "labelFontSize": 11, "titleColor": INK_MUTED},
    "range": {"category": list(PALETTE)},
}

# d3 formats the builders use; those of tooltips have their Python twin below, for the table under a chart.
COUNT = ",.0f"
# Fractional amounts such as attributed conversions (credit is split between touchpoints).
DECIMAL_AXIS = ",.2~f"
DECIMAL = ",.1f"
MONEY_AXIS = ",.2~f"
MONEY = ",.2f"
PERCENT_AXIS = ".0%"
PERCENT = ".1%"
DAY = "%-d %b %Y"
DAY_AXIS = "%-d %b"


def _day(value: Any) -> str:
    day = date.fromisoformat(str(value))
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


_TEXT_FORMATS: dict[str, Callable[[Any], str]] = {
    COUNT: lambda value: f"{value:,.0f}",
    DECIMAL: lambda value: f"{value:,.1f}",
    MONEY: lambda value: f"{value:,.2f}",
    PERCENT: lambda value: f"{value:.1%}",
    DAY: _day,
}


@dataclass(frozen=True)
class Measure:
    """What the values of a chart are: counts, fractional amounts (`decimal`), money in integer cents of `currency`,
    or fractions shown as %."""

    title: str
    kind: ValueKind = "count"
    currency: str = ""

    @property
    def label(self) -> str:
        return f"{self.title} ({self.currency})" if self.kind == "money" and self.currency else self.title

    def value(self, raw: Number | None) -> Number | None:
        if raw is None or self.kind != "money":
            return raw
        return raw / 100

    def axis(self) -> Spec:
        if self.kind == "money":
            return {"title": self.label, "format": MONEY_AXIS}
        if self.kind == "percent":
            return {"title": self.label, "format": PERCENT_AXIS}
        if self.kind == "decimal":
            return {"title": self.label, "format": DECIMAL_AXIS}
        # Counts are whole: no 0.5 tick printed as a second "1".
        return {"title": self.label, "format": COUNT, "tickMinStep": 1}

    def tooltip(self, field: str = "value") -> Spec:
        text_format = {"money": MONEY, "percent": PERCENT, "decimal": DECIMAL}.get(self.kind, COUNT)
        return {"field": field, "type": "quantitative", "title": self.label, "format": text_format}


@dataclass(frozen=True)
class Series:
    """One named line or set of bars. Keys are days (lines), first days of months (monthly bars) or names
    (horizontal bars); a None value leaves a gap. `dashed` draws a line dashed (expected, planned);
    `colour` pins a colour, e.g. green for won and red for lost."""

    name: str
    points: Sequence[tuple[date | str, Number | None]]
    dashed: bool = False
    colour: str | None = None


@dataclass(frozen=True)
class GridCell:
    """One week (its Monday) and ad position of the inventory calendar: `booked` of `total` slots sold."""

    week: date
    position: str
    booked: int
    total: int


@dataclass(frozen=True)
class FunnelStep:
    label: str
    count: int


@dataclass(frozen=True)
class ChartTable:
    """The numbers of a chart as text, for the table under it: what the tooltips show, one row per mark."""

    columns: list[str]
    rows: list[list[str]]


# --- Builders ----------------------------------------------------------------------------------------------------


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    measure: Measure,
    x_title: str = "Day",
    description: str | None = None,
    width: int = 640,
    height: int = 240,
) -> Spec:
    """Daily lines, e.g. delivered against expected impressions, or downloads."""
    rows = [
        {"day": _iso(day), "series": s.name, "value": measure.value(value)} for s in series for day, value in s.points
    ]
    days = sorted({_iso(day) for s in series for day, _ in s.points})
    x = {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": x_title}
    tooltip = [
        {**x, "format": DAY},
        {"field": "series", "type": "nominal", "title": "Series"},
        measure.tooltip(),
    ]
    encoding = {
        "x": {**x, "axis": {"format": DAY_AXIS, "labelOverlap": True}},
        "y": {"field": "value", "type": "quantitative", "axis": measure.axis()},
        "color": _colours(series),
        "strokeDash": {
            "field": "series",
            "type": "nominal",
            "scale": {"domain": [s.name for s in series], "range": [[6, 4] if s.dashed else [1, 0] for s in series]},
            "legend": None,
        },
        "tooltip": tooltip,
    }
    span = f"{_day(days[0])} to {_day(days[-1])}" if days else "no days"
    described = description or f"Line chart of {_names(series)} by day, {span}, in {measure.label.lower()}."
    mark = {"type": "line", "point": {"filled": True, "size": 28}, "strokeWidth": 2}
    return _spec(title, described, rows, {"mark": mark, "encoding": encoding}, width, height)


def monthly_bars(
    title: str,
    series: Sequence[Series],
    *,
    measure: Measure,
    stacked: bool = False,
    description: str | None = None,
    width: int = 640,
    height: int = 240,
) -> Spec:
    """Bars by month, side by side per series (booked, delivered, attributed revenue) or stacked.
    The keys of the points are the first days of their months."""
    rows = [
        {"month": _month(key), "order": index, "series": s.name, "value": measure.value(value)}
        for index, s in enumerate(series)
        for key, value in s.points
        if value is not None
    ]
    months = [_month(key) for key in sorted({key for s in series for key, _ in s.points}, key=_iso)]
    x = {"field": "month", "type": "ordinal", "sort": months, "title": None, "axis": {"labelAngle": 0}}
    encoding: Spec = {
        "x": x,
        "y": {"field": "value", "type": "quantitative", "axis": measure.axis(), "stack": "zero" if stacked else None},
        "color": _colours(series),
        "tooltip": [
            {"field": "month", "type": "ordinal", "title": "Month"},
            {"field": "series", "type": "nominal", "title": "Series"},
            measure.tooltip(),
        ],
    }
    if stacked:
        encoding["order"] = {"field": "order", "type": "quantitative"}
    else:
        encoding["xOffset"] = {"field": "series", "type": "nominal", "sort": [s.name for s in series]}
    span = f"{months[0]} to {months[-1]}" if months else "no months"
    how = "Stacked" if stacked else "Grouped"
    described = description or f"{how} bar chart of {_names(series)} by month, {span}, in {measure.label.lower()}."
    return _spec(title, described, rows, {"mark": {"type": "bar"}, "encoding": encoding}, width, height)


def horizontal_bars(
    title: str,
    series: Sequence[Series],
    *,
    measure: Measure,
    category_title: str,
    stacked: bool = True,
    description: str | None = None,
    width: int = 640,
    bar_step: int = 22,
) -> Spec:
    """One row per name (seller, show, sponsor) in the order first given; several series stack (won and lost
    deals per seller) or sit side by side."""
    rows = [
        {"category": str(key), "order": index, "series": s.name, "value": measure.value(value)}
        for index, s in enumerate(series)
        for key, value in s.points
        if value is not None
    ]
    categories = list(dict.fromkeys(str(key) for s in series for key, _ in s.points))
    encoding: Spec = {
        "y": {"field": "category", "type": "nominal", "sort": categories, "title": category_title},
        "x": {"field": "value", "type": "quantitative", "axis": measure.axis(), "stack": "zero" if stacked else None},
        "color": _colours(series),
        "tooltip": [
            {"field": "category", "type": "nominal", "title": category_title},
            {"field": "series", "type": "nominal", "title": "Series"},
            measure.tooltip(),
        ],
    }
    if stacked:
        encoding["order"] = {"field": "order", "type": "quantitative"}
    else:
        encoding["yOffset"] = {"field": "series", "type": "nominal", "sort": [s.name for s in series]}
    described = description or (
        f"Bar chart of {_names(series)} for {len(categories)} {category_title.lower()} rows, "
        f"in {measure.label.lower()}."
    )
    body = {"mark": {"type": "bar"}, "encoding": encoding}
    return _spec(title, described, rows, body, width, {"step": bar_step})


def heat_grid(
    title: str,
    cells: Sequence[GridCell],
    *,
    positions: Sequence[str] | None = None,
    description: str | None = None,
    width: int = 640,
    cell_height: int = 36,
) -> Spec:
    """The inventory calendar: one square per week and position, darker the more of its slots are booked."""
    rows = [
        {
            "week": cell.week.isoformat(),
            "week_of": _day(cell.week),
            "position": cell.position,
            "booked": cell.booked,
            "open": cell.total - cell.booked,
            "total": cell.total,
            "share": cell.booked / cell.total if cell.total else None,
            "label": f"{cell.booked}/{cell.total}" if cell.total else "—",
        }
        for cell in sorted(cells, key=lambda cell: cell.week)
    ]
    weeks = list(dict.fromkeys(row["week"] for row in rows))
    order = list(positions) if positions is not None else list(dict.fromkeys(cell.position for cell in cells))
    encoding = {
        "x": {
            "field": "week",
            "type": "ordinal",
            "sort": weeks,
            "title": "Week of",
            # ISO days keep weeks of different years apart; the label shows the day and month only.
            "axis": {"labelAngle": 0, "labelExpr": "utcFormat(toDate(datum.value), '%-d %b')"},
        },
        "y": {"field": "position", "type": "nominal", "sort": order, "title": None},
        "tooltip": [
            {"field": "week_of", "type": "nominal", "title": "Week of"},
            {"field": "position", "type": "nominal", "title": "Position"},
            {"field": "booked", "type": "quantitative", "title": "Booked slots", "format": COUNT},
            {"field": "open", "type": "quantitative", "title": "Open slots", "format": COUNT},
            {"field": "share", "type": "quantitative", "title": "Booked share", "format": PERCENT},
        ],
    }
    fill = {
        "condition": {"test": "datum.total === 0", "value": EMPTY},
        "field": "share",
        "type": "quantitative",
        "title": "Booked",
        "scale": {"domain": [0, 1], "scheme": "blues"},
        "legend": {"format": PERCENT_AXIS, "orient": "right"},
    }
    # Light text on dark squares, dark text on light ones, so every count stays readable.
    text_colour = {"condition": {"test": "datum.share > 0.6", "value": "white"}, "value": INK}
    layer = [
        # A week without slots has no share: drawn grey instead of dropped, so the grid has no holes.
        {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 2, "invalid": "show"}, "encoding": {"color": fill}},
        {"mark": {"type": "text", "fontSize": 11}, "encoding": {"text": {"field": "label"}, "color": text_colour}},
    ]
    span = f", weeks of {rows[0]['week_of']} to {rows[-1]['week_of']}" if rows else ""
    described = description or (
        f"Inventory calendar of {len(order)} positions over {len(weeks)} weeks{span}: booked of all slots in each."
    )
    body = {"encoding": encoding, "layer": layer}
    return _spec(title, described, rows, body, width, {"step": cell_height})


def funnel(
    title: str,
    steps: Sequence[FunnelStep],
    *,
    description: str | None = None,
    width: int = 640,
    bar_step: int = 40,
) -> Spec:
    """Steps narrowing from the first (downloads → exposed households → conversions), each with its count and its
    share of the step before and of the first."""
    widest = max((step.count for step in steps), default=0) or 1
    first = steps[0].count if steps else 0
    rows = []
    for index, step in enumerate(steps):
        before = steps[index - 1].count if index else step.count
        of_previous = step.count / before if before else None
        of_first = step.count / first if first else None
        share = "" if index == 0 or of_previous is None else f" · {of_previous:.1%} of {steps[index - 1].label.lower()}"
        rows.append(
            {
                "step": step.label,
                "count": step.count,
                "start": (widest - step.count) / 2,
                "end": (widest + step.count) / 2,
                "label_at": widest * 1.03,
                "label": f"{step.count:,}{share}",
                "of_previous": of_previous,
                "of_first": of_first,
            }
        )
    labels = [step.label for step in steps]
    # The bars are centred in the left part of the plot; the right part holds each step's numbers.
    x_scale = {"domain": [0, widest * 1.6]}
    steps_axis = {"ticks": False, "domain": False}
    encoding = {
        "y": {"field": "step", "type": "nominal", "sort": labels, "title": None, "axis": steps_axis},
        "tooltip": [
            {"field": "step", "type": "nominal", "title": "Step"},
            {"field": "count", "type": "quantitative", "title": "Count", "format": COUNT},
            {"field": "of_previous", "type": "quantitative", "title": "Of the step before", "format": PERCENT},
            {"field": "of_first", "type": "quantitative", "title": f"Of {labels[0].lower() if labels else 'first'}",
             "format": PERCENT},
        ],
    }  # fmt: skip
    layer = [
        {
            "mark": {"type": "bar", "cornerRadius": 2},
            "encoding": {
                "x": {"field": "start", "type": "quantitative", "scale": x_scale, "axis": None},
                "x2": {"field": "end"},
                "color": {"field": "step", "type": "nominal", "sort": labels, "legend": None},
            },
        },
        {
            "mark": {"type": "text", "align": "left", "fontSize": 12, "color": INK},
            "encoding": {
                "x": {"field": "label_at", "type": "quantitative", "scale": x_scale, "axis": None},
                "text": {"field": "label"},
            },
        },
    ]
    described = description or "Funnel: " + "; ".join(f"{row['step']} {row['count']:,}" for row in rows) + "."
    return _spec(title, described, rows, {"encoding": encoding, "layer": layer}, width, {"step": bar_step})


# --- Rendering ---------------------------------------------------------------------------------------------------


def render_svg(spec: Spec) -> str:
    """The chart as a standalone SVG document. Blocking (tens of ms): async callers run it in a thread."""
    return _svg(_canonical(spec))


def render_png(spec: Spec, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes at `scale` pixels per CSS pixel. Blocking, as `render_svg`."""
    return _png(_canonical(spec), scale)


def pdf_chart(spec: Spec, width: float, *, scale: float = 2.0) -> Image:
    """A reportlab flowable of the chart, `width` points wide, its height from the chart's own proportions."""
    png = render_png(spec, scale)
    pixels_wide, pixels_high = png_size(png)
    image = Image(io.BytesIO(png), width=width, height=width * pixels_high / pixels_wide)
    image.hAlign = "LEFT"
    return image


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, read from the IHDR chunk that follows the signature."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


# Repeat views of unchanged numbers cost nothing; a few dozen charts of ~100 KB each bound the memory.
@functools.lru_cache(maxsize=64)
def _svg(canonical: str) -> str:
    # No base URL is allowed: a spec carries its data inline and never makes the server fetch anything.
    return vl_convert.vegalite_to_svg(canonical, allowed_base_urls=[])


@functools.lru_cache(maxsize=32)
def _png(canonical: str, scale: float) -> bytes:
    return vl_convert.vegalite_to_png(canonical, scale=scale, allowed_base_urls=[])


def _canonical(spec: Spec) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)


# --- Embedding ---------------------------------------------------------------------------------------------------


def chart_json(spec: Spec) -> Markup:
    """The spec as JSON that cannot end the <script type="application/json"> holding it: '<', '>' and '&' are
    written as \\u escapes (so no '</script>' or '<!--'), as are the line separators JavaScript once rejected."""
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, escaped)
    return Markup(text)  # noqa: S704  (every character that could end the script element is escaped above)


def chart_table(spec: Spec) -> ChartTable:
    """The rows of the spec's data as its tooltip shows them."""
    fields: list[Spec] = spec["encoding"]["tooltip"]
    rows = [[_cell(row.get(field["field"]), field) for field in fields] for row in spec["data"]["values"]]
    return ChartTable(columns=[str(field["title"]) for field in fields], rows=rows)


@dataclass(frozen=True)
class ChartEmbed:
    """What templates/reports/chart.html needs to put a spec in a page."""

    json: Markup
    table: ChartTable
    width: int
    height: int
    label: str


def chart_embed(spec: Spec) -> ChartEmbed:
    width, height = chart_size(spec)
    return ChartEmbed(chart_json(spec), chart_table(spec), width, height, chart_label(spec))


def chart_label(spec: Spec) -> str:
    return f"{spec['title']}. {spec['description']}"


def fallback_svg(spec: Spec) -> Markup:
    """The server's drawing of the chart, to show where the page's script does not run (share links, e-mail),
    named for screen readers as the live chart is."""
    svg = render_svg(spec)
    named = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(chart_label(spec))}" ', 1)
    return Markup(named)  # noqa: S704  (Vega's SVG writer escapes every text it draws; the label is escaped here)


def chart_size(spec: Spec) -> tuple[int, int]:
    """Room to keep for the chart before the browser draws it: a guess from the spec, in CSS pixels."""
    width = spec["width"] if isinstance(spec.get("width"), int) else 640
    height = spec.get("height")
    if isinstance(height, dict):
        values = spec["data"]["values"]
        key = spec["encoding"]["y"]["field"]
        height = height["step"] * max(1, len({row.get(key) for row in values}))
    # Title, axes and legend add about a hundred pixels around the plot.
    return width + 80, int(height or 240) + 100


def _cell(value: Any, field: Spec) -> str:
    if value is None:
        return "—"
    text_format = field.get("format")
    if text_format is None:
        return str(value)
    return _TEXT_FORMATS[text_format](value)


# --- Parts -------------------------------------------------------------------------------------------------------


def _spec(title: str, description: str, rows: list[Spec], body: Spec, width: int, height: int | Spec) -> Spec:
    return {
        "$schema": SCHEMA,
        "title": title,
        "description": description,
        "width": width,
        "height": height,
        "data": {"values": rows},
        "config": CONFIG,
        **body,
    }


def _colours(series: Sequence[Series]) -> Spec:
    colours = [s.colour or PALETTE[index % len(PALETTE)] for index, s in enumerate(series)]
    legend = None if len(series) < 2 else {"title": None}
    return {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": [s.name for s in series], "range": colours},
        "legend": legend,
    }


def _names(series: Sequence[Series]) -> str:
    names = [s.name for s in series]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _iso(key: date | str) -> str:
    return key.isoformat() if isinstance(key, date) else key


def _month(key: date | str) -> str:
    day = key if isinstance(key, date) else date.fromisoformat(key)
    return f"{MONTHS[day.month - 1]} {day.year}"
