"""Charts' specs drawn and put in pages: SVG and PNG by vl-convert on the server (the PDFs' charts, the fallback where
a page's script does not run), and the JSON, the table of numbers and the room a page keeps for the browser to draw
the spec itself. One spec, drawn the same on screen and on paper."""

from __future__ import annotations

import functools
import io
import json
import struct
from dataclasses import dataclass
from typing import Any

import vl_convert
from markupsafe import Markup, escape
from reportlab.platypus import Image

from podsponsor.reports.chart_style import TEXT_FORMATS, Spec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ChartTable:
    """The numbers of a chart as text, for the table under it: what the tooltips show, one row per mark."""

    columns: list[str]
    rows: list[list[str]]


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
    return TEXT_FORMATS[text_format](value)
