"""Parts of the server-rendered charts: nice 1-2-5 value ticks, calendar ticks, axes, legend, and the escaping
element builder everything is drawn with."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

# Not strftime("%b"): that follows the server's locale, and a chart must render the same everywhere.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_STEPS = (1, 2, 3, 7, 14)
MONTH_STEPS = (1, 2, 3, 6)
# Tableau 10: ten colours chosen to stay distinguishable side by side; the tooltips and table name every series.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
INK_MUTED = "#5d6577"
GRID = "#e2e5ec"
AXIS = "#9aa1b1"
CHAR_WIDTH = 6.6  # average width of an 11px label, to size margins and cut labels without measuring text
LEGEND_ROW = 18
LEGEND_COLUMN = 220
# Tolerance for float steps such as 0.1, so 0.3 / 0.1 counts as 3 and not 3.0000000000000004.
EPSILON = 1e-9


@dataclass(frozen=True)
class Plot:
    """The plot area in SVG units, and the value range the y axis spans over it."""

    left: float
    top: float
    right: float
    bottom: float
    y_low: float
    y_high: float

    def y(self, value: float) -> float:
        return self.bottom - (value - self.y_low) / (self.y_high - self.y_low) * (self.bottom - self.top)


@dataclass(frozen=True)
class Tick:
    """A tick at `position` (a value, or a date's ordinal); `year` is a second label line where the year changes."""

    position: float
    label: str
    year: str = ""


def nice_step(span: float, intervals: int, *, integral: bool = False) -> float:
    """The smallest step of 1, 2 or 5 times a power of ten that splits `span` into at most `intervals` parts."""
    raw = span / max(intervals, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - EPSILON))
    # Counts (downloads, impressions) have no half units: a chart of 0..3 ticks 0, 1, 2, 3, not 0, 0.5, …
    return max(step, 1.0) if integral else step


def step_decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + EPSILON))


def nice_ticks(low: float, high: float, *, intervals: int = 5, integral: bool = False) -> list[float]:
    """Multiples of a nice step from one at or below `low` to one at or above `high`."""
    if high <= low:
        high = low + 1
    step = nice_step(high - low, intervals, integral=integral)
    decimals = step_decimals(step)
    first = math.floor(low / step + EPSILON)
    last = math.ceil(high / step - EPSILON)
    return [round(index * step, decimals) + 0.0 for index in range(first, last + 1)]


def format_number(value: float, decimals: int | None = None) -> str:
    """12500 → "12,500"; a fraction keeps up to two decimals (three below 1) unless `decimals` is given."""
    if value == 0:  # also -0.0, and "0" rather than "0.0" at the foot of a fractional axis
        return "0"
    if decimals is None:
        if float(value).is_integer():
            decimals = 0
        else:
            text = f"{value:,.2f}" if abs(value) >= 1 else f"{value:,.3f}"
            return text.rstrip("0").rstrip(".")
    return f"{value:,.{decimals}f}"


def value_ticks(low: float, high: float, *, integral: bool) -> list[Tick]:
    """The value axis: always includes 0, so bars and lines are read against zero."""
    values = nice_ticks(min(low, 0.0), max(high, 0.0), integral=integral)
    decimals = step_decimals(values[1] - values[0])
    return [Tick(value, format_number(value, decimals)) for value in values]


def number_ticks(low: float, high: float, *, max_ticks: int, integral: bool) -> list[Tick]:
    """A numeric x axis (days since release): nice ticks within the data's range, never past it."""
    if high <= low:
        return [Tick(low, format_number(low))]
    values = nice_ticks(low, high, intervals=max(max_ticks - 1, 1), integral=integral)
    decimals = step_decimals(values[1] - values[0])
    return [Tick(v, format_number(v, decimals)) for v in values if low - EPSILON <= v <= high + EPSILON]


def date_ticks(first: date, last: date, *, max_ticks: int) -> list[Tick]:
    """Every 1, 2, 3, 7 or 14 days from the first date; else month starts; else years: whichever fits `max_ticks`."""
    span = (last - first).days
    for days in DAY_STEPS:
        if span // days + 1 <= max_ticks:
            return date_labels([first + timedelta(days=offset) for offset in range(0, span + 1, days)])
    for months in MONTH_STEPS:
        starts = _month_starts(first, last, months)
        if len(starts) <= max_ticks:
            return date_labels(starts, with_day=False)
    years = nice_ticks(first.year, last.year + 1, intervals=max(max_ticks - 1, 1), integral=True)
    starts = [date(int(year), 1, 1) for year in years if first <= date(int(year), 1, 1) <= last]
    return [Tick(day.toordinal(), str(day.year)) for day in starts] or date_labels([first])


def date_labels(days: Sequence[date], *, with_day: bool = True) -> list[Tick]:
    """Labels like "Nov 3" (or "Nov" for month starts); the year goes under the first and wherever it changes.

    Where a label would repeat ("Jul" of two years), every label carries its year, so none can be misread."""
    labels = [f"{MONTHS[day.month - 1]} {day.day}" if with_day else MONTHS[day.month - 1] for day in days]
    every_year = len(set(labels)) < len(labels)
    ticks: list[Tick] = []
    for index, (day, label) in enumerate(zip(days, labels, strict=True)):
        year_changed = index == 0 or days[index - 1].year != day.year
        ticks.append(Tick(day.toordinal(), label, str(day.year) if every_year or year_changed else ""))
    return ticks


def _month_starts(first: date, last: date, months: int) -> list[date]:
    starts: list[date] = []
    year, month = first.year, first.month
    while (day := date(year, month, 1)) <= last:
        if day >= first and (month - 1) % months == 0:
            starts.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def shorten(text: str, max_chars: int) -> str:
    """Cuts a label to `max_chars` with an ellipsis; the full text stays in the element's tooltip."""
    max_chars = max(max_chars, 2)
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def axes(plot: Plot, y_ticks: list[Tick], x_ticks: list[Tick], x_label: str, y_label: str, height: int) -> Markup:
    """Gridlines and labels for the y ticks (values), tick marks and labels for the x ticks (SVG positions)."""
    parts = []
    for tick in y_ticks:
        y = plot.y(tick.position)
        parts.append(tag("line", {"class": "chart-gridline", **_across(plot, y), "stroke": GRID}))
        parts.append(text(plot.left - 6, y, tick.label, {"class": "chart-tick", "dy": "0.32em", "text-anchor": "end"}))
    parts.append(tag("line", {"class": "chart-axis", **_across(plot, plot.bottom), "stroke": AXIS}))
    for tick in x_ticks:
        x = tick.position
        parts.append(tag("line", {"x1": x, "x2": x, "y1": plot.bottom, "y2": plot.bottom + 4, "stroke": AXIS}))
        year = tag("tspan", {"x": x, "dy": "1.2em"}, tick.year) if tick.year else Markup("")
        label = text(x, plot.bottom + 16, tick.label, {"class": "chart-tick", "text-anchor": "middle"}, year)
        parts.append(label)
    centre, middle = (plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2
    axis_label = {"class": "chart-axis-label", "text-anchor": "middle"}
    parts.append(text(centre, height - 4, x_label, axis_label))
    parts.append(text(12, middle, y_label, {**axis_label, "transform": f"rotate(-90 12 {coordinate(middle)})"}))
    return tag("g", {"class": "chart-axes"}, *parts)


def legend(names: Sequence[str], max_legend: int, left: float, top: float, right: float) -> tuple[Markup, float]:
    """At most `max_legend` names, then "+N more"; returns the legend and the height it takes."""
    shown = names[: max(max_legend, 0)]
    hidden = len(names) - len(shown)
    columns = max(1, int((right - left) // LEGEND_COLUMN))
    column_width = (right - left) / columns

    def place(index: int) -> tuple[float, float]:
        return left + index % columns * column_width, top + index // columns * LEGEND_ROW

    items = []
    for index, name in enumerate(shown):
        colour, css = colour_of(index)
        x, y = place(index)
        swatch = {"class": f"chart-swatch {css}", "x": x, "y": y + 2, "width": 10, "height": 10, "fill": colour}
        label = text(x + 15, y + 11, shorten(name, int((column_width - 20) / CHAR_WIDTH)), {})
        items.append(tag("g", {"class": "chart-legend-item"}, tag("title", {}, name), tag("rect", swatch), label))
    if hidden:
        x, y = place(len(shown))
        items.append(text(x, y + 11, f"+{hidden} more", {"class": "chart-legend-more"}))
    if not items:
        return Markup(""), 0
    return tag("g", {"class": "chart-legend"}, *items), math.ceil(len(items) / columns) * LEGEND_ROW + 6


def _across(plot: Plot, y: float) -> dict[str, float]:
    return {"x1": plot.left, "x2": plot.right, "y1": y, "y2": y}


def colour_of(index: int) -> tuple[str, str]:
    """The palette colour and its CSS class; past ten series the colours repeat (tooltips tell the lines apart)."""
    return PALETTE[index % len(PALETTE)], f"series-{index % len(PALETTE)}"


def text(x: float, y: float, content: str, attributes: Mapping[str, object], *more: str) -> Markup:
    return tag("text", {"x": x, "y": y, "fill": INK_MUTED, **attributes}, content, *more)


def coordinate(value: float) -> str:
    """Coordinates to a tenth of a unit: plenty on screen, and far shorter markup."""
    return f"{value:.1f}".removesuffix(".0")


def tag(name: str, attributes: Mapping[str, object], *children: str) -> Markup:
    """An element with every attribute value and every plain-text child escaped; Markup children pass as they are."""
    rendered = "".join(
        f' {key}="{escape(coordinate(value) if isinstance(value, float) else value)}"'
        for key, value in attributes.items()
    )
    if not children:
        return Markup(f"<{name}{rendered}/>")  # noqa: S704 - attributes are escaped above
    inner = "".join(escape(child) for child in children)
    return Markup(f"<{name}{rendered}>{inner}</{name}>")  # noqa: S704 - children are escaped or already Markup
