"""Dashboard and report charts as Vega-Lite specs: one definition, drawn by the browser on pages and by vl-convert
on the server for PDFs, so a chart reads the same on screen and on paper.

Builders take plain values (days, names, counts, integer cents, fractions) and return a JSON-ready spec with the data
inlined, a title, an accessible description, formatted axes and a tooltip on every mark. Pages embed a spec with the
`chart` macro of templates/reports/chart.html; PDFs draw it with `pdf_chart`.

Days are sent as ISO dates and read as UTC on both sides, so 1 March stays 1 March in a browser west of Greenwich.

This module is where charts are used from: it also answers for the charts' look and formats (reports.chart_style)
and for drawing and embedding a spec (reports.chart_render).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from podsponsor.reports.chart_render import (
    PNG_SIGNATURE,
    ChartEmbed,
    ChartTable,
    chart_embed,
    chart_json,
    chart_label,
    chart_size,
    chart_table,
    fallback_svg,
    pdf_chart,
    png_size,
    render_png,
    render_svg,
)
from podsponsor.reports.chart_style import (
    AXIS,
    CONFIG,
    COUNT,
    DAY,
    DAY_AXIS,
    DECIMAL,
    DECIMAL_AXIS,
    EMPTY,
    FONT,
    GRID,
    INK,
    INK_MUTED,
    MONEY,
    MONEY_AXIS,
    MONTHS,
    PALETTE,
    PERCENT,
    PERCENT_AXIS,
    SCHEMA,
    Measure,
    Number,
    Spec,
    ValueKind,
    day_label,
)

__all__ = [
    "AXIS",
    "CONFIG",
    "COUNT",
    "DAY",
    "DAY_AXIS",
    "DECIMAL",
    "DECIMAL_AXIS",
    "EMPTY",
    "FONT",
    "GRID",
    "INK",
    "INK_MUTED",
    "MONEY",
    "MONEY_AXIS",
    "MONTHS",
    "PALETTE",
    "PERCENT",
    "PERCENT_AXIS",
    "PNG_SIGNATURE",
    "SCHEMA",
    "ChartEmbed",
    "ChartTable",
    "FunnelStep",
    "GridCell",
    "Measure",
    "Number",
    "Series",
    "Spec",
    "ValueKind",
    "chart_embed",
    "chart_json",
    "chart_label",
    "chart_size",
    "chart_table",
    "fallback_svg",
    "funnel",
    "heat_grid",
    "horizontal_bars",
    "line_chart",
    "monthly_bars",
    "pdf_chart",
    "png_size",
    "render_png",
    "render_svg",
]


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
    span = f"{day_label(days[0])} to {day_label(days[-1])}" if days else "no days"
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
    rows = _bar_rows("month", _month, series, measure)
    months = [_month(key) for key in sorted({key for s in series for key, _ in s.points}, key=_iso)]
    x = {"field": "month", "type": "ordinal", "sort": months, "title": None, "axis": {"labelAngle": 0}}
    month_tip = {"field": "month", "type": "ordinal", "title": "Month"}
    encoding = _bar_encoding(("x", x), "y", month_tip, series, measure, stacked)
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
    rows = _bar_rows("category", str, series, measure)
    categories = list(dict.fromkeys(str(key) for s in series for key, _ in s.points))
    y = {"field": "category", "type": "nominal", "sort": categories, "title": category_title}
    category_tip = {"field": "category", "type": "nominal", "title": category_title}
    encoding = _bar_encoding(("y", y), "x", category_tip, series, measure, stacked)
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
    rows = [_grid_row(cell) for cell in sorted(cells, key=lambda cell: cell.week)]
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
    span = f", weeks of {rows[0]['week_of']} to {rows[-1]['week_of']}" if rows else ""
    described = description or (
        f"Inventory calendar of {len(order)} positions over {len(weeks)} weeks{span}: booked of all slots in each."
    )
    body = {"encoding": encoding, "layer": _grid_layer()}
    return _spec(title, described, rows, body, width, {"step": cell_height})


def _grid_row(cell: GridCell) -> Spec:
    return {
        "week": cell.week.isoformat(),
        "week_of": day_label(cell.week),
        "position": cell.position,
        "booked": cell.booked,
        "open": cell.total - cell.booked,
        "total": cell.total,
        "share": cell.booked / cell.total if cell.total else None,
        "label": f"{cell.booked}/{cell.total}" if cell.total else "—",
    }


def _grid_layer() -> list[Spec]:
    """A square per cell, shaded by its booked share, with its 'booked/total' written on it."""
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
    return [
        # A week without slots has no share: drawn grey instead of dropped, so the grid has no holes.
        {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 2, "invalid": "show"}, "encoding": {"color": fill}},
        {"mark": {"type": "text", "fontSize": 11}, "encoding": {"text": {"field": "label"}, "color": text_colour}},
    ]


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
    rows = _funnel_rows(steps, widest)
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


def _funnel_rows(steps: Sequence[FunnelStep], widest: int) -> list[Spec]:
    """Each step's bar (centred on `widest`), its label, and its share of the step before and of the first."""
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
    return rows


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


def _bar_rows(
    field: str, key_text: Callable[[date | str], str], series: Sequence[Series], measure: Measure
) -> list[Spec]:
    """A row per bar: its month or category (`field`, written by `key_text`), its series and that series' place
    (the stacking order), and its value; a missing value draws no bar."""
    return [
        {field: key_text(key), "order": index, "series": s.name, "value": measure.value(value)}
        for index, s in enumerate(series)
        for key, value in s.points
        if value is not None
    ]


def _bar_encoding(
    category: tuple[str, Spec],
    value_channel: str,
    category_tip: Spec,
    series: Sequence[Series],
    measure: Measure,
    stacked: bool,
) -> Spec:
    """Bars along `category` (its channel and encoding) with their values along `value_channel`: stacked in the
    series' order, or side by side within a category."""
    channel, encoded = category
    value = {"field": "value", "type": "quantitative", "axis": measure.axis(), "stack": "zero" if stacked else None}
    encoding: Spec = {
        channel: encoded,
        value_channel: value,
        "color": _colours(series),
        "tooltip": [category_tip, {"field": "series", "type": "nominal", "title": "Series"}, measure.tooltip()],
    }
    if stacked:
        encoding["order"] = {"field": "order", "type": "quantitative"}
    else:
        encoding[f"{channel}Offset"] = {"field": "series", "type": "nominal", "sort": [s.name for s in series]}
    return encoding


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
