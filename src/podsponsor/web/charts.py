"""Charts as plain inline SVG rendered on the server.

They need no script and no `style` attribute, so they pass the pages' content security policy, and they print.
Colours sit on the SVG attributes and on `series-N` classes the stylesheet may override. Every value is also in
a table under the chart, for screen readers and for anyone who wants the numbers.

`width` and `height` are the drawing's own units: the SVG scales to its container's width, so a width near the
column's keeps the 11-unit labels near 11px.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias

from markupsafe import Markup

from podsponsor.web.chart_svg import (
    CHAR_WIDTH,
    Plot,
    Tick,
    axes,
    colour_of,
    coordinate,
    date_labels,
    date_ticks,
    format_number,
    legend,
    number_ticks,
    shorten,
    tag,
    text,
    value_ticks,
)

# A bar chart also takes text categories (funnel steps); a line chart needs dates or numbers.
X: TypeAlias = date | int | float | str
XKind: TypeAlias = Literal["date", "number", "label"]

MAX_X_LABELS = 8
# Beyond this many points on a line, or on the whole chart, dots would bead the lines into a blur; they stay as
# invisible hover targets so every point keeps its tooltip.
MAX_DOTS_PER_LINE = 40
MAX_DOTS_PER_CHART = 160


@dataclass(frozen=True)
class Series:
    """One named line or set of bars; a None value leaves a gap."""

    name: str
    points: Sequence[tuple[X, float | None]]


# Draws the series on the plot; returns them and the x ticks, positioned in SVG units.
Marks: TypeAlias = Callable[[Plot, Sequence[Series], XKind], tuple[Markup, list[Tick]]]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 720,
    height: int = 280,
    max_legend: int = 8,
    empty_text: str = "No data yet",
    chart_id: str | None = None,
) -> Markup:
    """Lines over dates or numbers (days since release), points sorted by x. `height` excludes the legend rows."""
    if _x_kind(series) == "label":
        raise ValueError("a line chart's x values must be dates or numbers")
    cleaned = _cleaned(series, sort=True)
    return _figure(
        "line", cleaned, _line_marks, title, x_label, y_label, width, height, max_legend, empty_text, chart_id
    )


def bar_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 720,
    height: int = 280,
    max_legend: int = 8,
    empty_text: str = "No data yet",
    chart_id: str | None = None,
) -> Markup:
    """Grouped bars, one group per x: dates and numbers in order, text categories as first given."""
    cleaned = _cleaned(series, sort=_x_kind(series) != "label")
    return _figure("bar", cleaned, _bar_marks, title, x_label, y_label, width, height, max_legend, empty_text, chart_id)


def _figure(
    kind: Literal["line", "bar"],
    series: Sequence[Series],
    marks: Marks,
    title: str,
    x_label: str,
    y_label: str,
    width: int,
    height: int,
    max_legend: int,
    empty_text: str,
    chart_id: str | None,
) -> Markup:
    # Below these sizes the margins would leave no room to plot.
    width, height = max(width, 240), max(height, 160)
    cid = chart_id or _default_id(kind, title, series)
    height_drawn = float(height)
    values = [value for s in series for _, value in s.points if value is not None]
    if not values:
        body = text(width / 2, height / 2, empty_text, {"class": "chart-empty", "text-anchor": "middle"})
        desc = empty_text
        table = Markup("")
    else:
        x_kind = _x_kind(series)
        integral = all(float(value).is_integer() for value in values)
        y_ticks = value_ticks(min(values), max(values), integral=integral)
        left = 22 + max(len(tick.label) for tick in y_ticks) * CHAR_WIDTH + 8
        plot = Plot(left, 12, width - 28, height - 50, y_ticks[0].position, y_ticks[-1].position)
        drawn, x_ticks = marks(plot, series, x_kind)
        key, key_height = legend([s.name for s in series], max_legend, plot.left, height + 6, plot.right)
        body = axes(plot, y_ticks, x_ticks, x_label, y_label, height) + drawn + key
        height_drawn += key_height
        desc = _describe(kind, series, x_label, y_label, y_ticks)
        table = _data_table(series, x_label)
    svg = tag(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width} {coordinate(height_drawn)}",
            "role": "img",
            "aria-labelledby": f"{cid}-title {cid}-desc",
            "font-size": 11,
        },
        tag("title", {"id": f"{cid}-title"}, title),
        tag("desc", {"id": f"{cid}-desc"}, desc),
        body,
    )
    # The caption comes first: a <figcaption> may only be the first or the last child, and the data table follows.
    return tag("figure", {"class": f"chart chart--{kind}", "id": cid}, tag("figcaption", {}, title), svg, table)


def _line_marks(plot: Plot, series: Sequence[Series], x_kind: XKind) -> tuple[Markup, list[Tick]]:
    # The axis spans every x given, so days not counted yet show as a gap at the end rather than vanish.
    positions = [_position(x) for s in series for x, _ in s.points]
    low, high = min(positions), max(positions)
    max_ticks = min(MAX_X_LABELS, max(2, int((plot.right - plot.left) // 72)))
    if x_kind == "date":
        ticks = date_ticks(date.fromordinal(int(low)), date.fromordinal(int(high)), max_ticks=max_ticks)
    else:
        ticks = number_ticks(low, high, max_ticks=max_ticks, integral=all(p.is_integer() for p in positions))
    # A lone x sits in the middle rather than on the y axis.
    low, high = (low - 1, high + 1) if low == high else (low, high)

    def x_at(position: float) -> float:
        return plot.left + (position - low) / (high - low) * (plot.right - plot.left)

    dots_visible = sum(value is not None for s in series for _, value in s.points) <= MAX_DOTS_PER_CHART
    drawn = []
    for index, s in enumerate(series):
        colour, css = colour_of(index)
        segments: list[list[tuple[X, float]]] = [[]]
        for x, value in s.points:
            if value is None:
                segments.append([])
            else:
                segments[-1].append((x, value))
        segments = [segment for segment in segments if segment]
        line_dots_visible = dots_visible and sum(len(segment) for segment in segments) <= MAX_DOTS_PER_LINE
        parts = []
        for segment in segments:
            coordinates = [(x_at(_position(x)), plot.y(value)) for x, value in segment]
            if len(segment) > 1:
                path = "M" + " L".join(f"{coordinate(cx)} {coordinate(cy)}" for cx, cy in coordinates)
                line = {"class": f"chart-line {css}", "d": path, "fill": "none", "stroke": colour}
                parts.append(tag("path", {**line, "stroke-width": 2, "stroke-linejoin": "round"}))
            for (x, value), (cx, cy) in zip(segment, coordinates, strict=True):
                # A point alone between gaps has no line through it, so its dot must show.
                shown = line_dots_visible or len(segment) == 1
                dot = {"class": f"chart-point {css}", "cx": cx, "cy": cy, "r": 3 if shown else 4, "fill": colour}
                if not shown:
                    dot |= {"class": f"chart-point chart-point--hit {css}", "fill-opacity": 0}
                parts.append(tag("circle", dot, tag("title", {}, _tooltip(s.name, x, value))))
        drawn.append(tag("g", {"class": "chart-series"}, *parts))
    return Markup("").join(drawn), [Tick(x_at(tick.position), tick.label, tick.year) for tick in ticks]


def _bar_marks(plot: Plot, series: Sequence[Series], x_kind: XKind) -> tuple[Markup, list[Tick]]:
    categories = _categories(series)
    band = (plot.right - plot.left) / len(categories)
    bar = band * 0.8 / len(series)
    slot = {category: index for index, category in enumerate(categories)}
    zero = plot.y(0)
    drawn = []
    for index, s in enumerate(series):
        colour, css = colour_of(index)
        bars = []
        for x, value in s.points:
            if value is None:
                continue
            top = plot.y(value)
            place = {"x": plot.left + slot[x] * band + band * 0.1 + index * bar, "y": min(top, zero), "width": bar}
            rect = {"class": f"chart-bar {css}", **place, "height": abs(zero - top), "fill": colour}
            bars.append(tag("rect", rect, tag("title", {}, _tooltip(s.name, x, value))))
        drawn.append(tag("g", {"class": "chart-series"}, *bars))
    # Every category has a bar group, but only every `every`-th one a label, so the labels never overlap.
    every = math.ceil(len(categories) / MAX_X_LABELS)
    shown = range(0, len(categories), every)
    if x_kind == "date":
        days = [day for day in (categories[i] for i in shown) if isinstance(day, date)]
        labels = [(tick.label, tick.year) for tick in date_labels(days)]
    else:
        fits = int(band * every / CHAR_WIDTH)
        labels = [(shorten(_format_x(categories[i]), fits), "") for i in shown]
    centres = [plot.left + (i + 0.5) * band for i in shown]
    return Markup("").join(drawn), [Tick(x, label, year) for x, (label, year) in zip(centres, labels, strict=True)]


def _data_table(series: Sequence[Series], x_label: str) -> Markup:
    by_series = [dict(s.points) for s in series]
    header = tag(
        "tr",
        {},
        tag("th", {"scope": "col"}, x_label),
        *(tag("th", {"scope": "col", "class": "num"}, s.name) for s in series),
    )
    rows = []
    for x in _categories(series):
        cells = [by_series[i].get(x) for i in range(len(series))]
        texts = ["—" if value is None else format_number(value) for value in cells]
        rows.append(
            tag(
                "tr",
                {},
                tag("th", {"scope": "row"}, _format_x(x)),
                *(tag("td", {"class": "num"}, text) for text in texts),
            )
        )
    table = tag("table", {"class": "table table--compact"}, tag("thead", {}, header), tag("tbody", {}, *rows))
    scroll = tag("div", {"class": "table-scroll"}, table)
    return tag("details", {"class": "chart-data"}, tag("summary", {}, "Data"), scroll)


def _describe(kind: str, series: Sequence[Series], x_label: str, y_label: str, y_ticks: list[Tick]) -> str:
    names = ", ".join(shorten(s.name, 60) for s in series[:8])
    if len(series) > 8:
        names += f" and {len(series) - 8} more"
    categories = _categories(series)
    span = f"{_format_x(categories[0])} to {_format_x(categories[-1])}"
    return (
        f"{kind.capitalize()} chart of {len(series)} series: {names}. {x_label}: {span}. "
        f"{y_label}: axis from {y_ticks[0].label} to {y_ticks[-1].label}. The data table lists every value."
    )


def _cleaned(series: Sequence[Series], *, sort: bool) -> list[Series]:
    """NaN and infinities become gaps; points go in x order so a line never doubles back."""
    cleaned = []
    for s in series:
        points = [(x, None if value is None or not math.isfinite(value) else float(value)) for x, value in s.points]
        cleaned.append(Series(s.name, sorted(points, key=lambda point: _position(point[0])) if sort else points))
    return cleaned


def _x_kind(series: Sequence[Series]) -> XKind:
    kinds: set[XKind] = {_kind_of(x) for s in series for x, _ in s.points}
    if len(kinds) > 1:
        raise ValueError(f"a chart's x values must be all dates, all numbers or all labels, not {sorted(kinds)}")
    return kinds.pop() if kinds else "number"


def _kind_of(x: X) -> XKind:
    if isinstance(x, date):
        return "date"
    if isinstance(x, str):
        return "label"
    if isinstance(x, int | float):
        return "number"
    raise TypeError(f"a chart's x value must be a date, a number or a label, not {type(x).__name__}")


def _position(x: X) -> float:
    if isinstance(x, date):
        return float(x.toordinal())
    if isinstance(x, str):
        raise TypeError("text categories have no position")
    return float(x)


def _categories(series: Sequence[Series]) -> list[X]:
    """Every x given, once, in x order; text categories in the order first given."""
    seen: dict[X, None] = {}
    for s in series:
        seen.update((x, None) for x, _ in s.points)
    categories = list(seen)
    return categories if categories and isinstance(categories[0], str) else sorted(categories, key=_position)


def _format_x(x: X) -> str:
    if isinstance(x, date):
        return x.isoformat()
    return x if isinstance(x, str) else format_number(x)


def _tooltip(name: str, x: X, value: float) -> str:
    return f"{name} · {_format_x(x)} · {format_number(value)}"


def _default_id(kind: str, title: str, series: Sequence[Series]) -> str:
    """Derived from the content, so the same chart renders the same bytes; pass chart_id for twins on one page."""
    content = repr((kind, title, [(s.name, list(s.points)) for s in series]))
    return "chart-" + hashlib.sha256(content.encode()).hexdigest()[:12]
