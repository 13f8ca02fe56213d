"""The look every chart shares and how its values read: the Vega-Lite config (font, palette, colours of ink and grid),
the d3 formats of axes and tooltips with their Python twins (for the table under a chart), and `Measure`, what a
chart's values are. reports.charts builds the specs with these; reports.chart_render draws and embeds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeAlias

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


def day_label(value: Any) -> str:
    """An ISO day as charts write it, '1 Mar 2026', whatever the server's locale."""
    day = date.fromisoformat(str(value))
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


TEXT_FORMATS: dict[str, Callable[[Any], str]] = {
    COUNT: lambda value: f"{value:,.0f}",
    DECIMAL: lambda value: f"{value:,.1f}",
    MONEY: lambda value: f"{value:,.2f}",
    PERCENT: lambda value: f"{value:.1%}",
    DAY: day_label,
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
