"""Chart specs: each builder's spec renders with vl-convert into marks carrying its data, every mark has a tooltip,
numbers are formatted for people, and a spec embedded in a page cannot break out of its script block."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import vl_convert
from lxml import etree
from lxml import html as lxml_html

from podsponsor.bookings import pdf_layout
from podsponsor.reports import charts
from podsponsor.reports.charts import FunnelStep, GridCell, Measure, Series, Spec
from podsponsor.web import STATIC
from podsponsor.web.render import TEMPLATES
from tests.reports.conftest import (
    FIRST_DAY,
    conversion_funnel,
    delivery_line,
    inventory_grid,
    revenue_bars,
    seller_bars,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '</script><script>alert("x")</script><!-- & \u2028'


def mark_groups(svg: str) -> dict[str, int]:
    """Drawn items per mark type (line, symbol, rect, text) of a rendered chart, axes and legends left out."""
    tree = etree.fromstring(svg.encode())
    counts: dict[str, int] = {}
    for group in tree.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if "role-mark" in classes:
            kind = next(c.removeprefix("mark-") for c in classes if c.startswith("mark-"))
            counts[kind] = counts.get(kind, 0) + len(group)
    return counts


def compiled_marks(spec: Spec) -> list[dict[str, Any]]:
    def walk(marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for mark in marks:
            if mark["type"] == "group":
                found += walk(mark.get("marks", []))
            else:
                found.append(mark)
        return found

    return walk(vl_convert.vegalite_to_vega(spec)["marks"])


def test_every_spec_renders_to_an_svg_with_its_title_and_marks(any_spec: Spec) -> None:
    svg = charts.render_svg(any_spec)
    assert svg.startswith("<svg")
    assert any_spec["title"] in svg
    assert sum(mark_groups(svg).values()) >= len(any_spec["data"]["values"])
    assert any_spec["$schema"] == charts.SCHEMA
    assert any_spec["description"]


def test_every_mark_of_every_spec_has_a_tooltip(any_spec: Spec) -> None:
    marks = compiled_marks(any_spec)
    assert marks
    for mark in marks:
        assert "tooltip" in mark["encode"]["update"], f"{mark['name']} has no tooltip"


def test_a_line_chart_draws_each_series_and_leaves_a_gap_for_a_missing_day() -> None:
    spec = delivery_line()
    drawn = mark_groups(charts.render_svg(spec))
    assert drawn["line"] == 2
    assert drawn["symbol"] == 13 + 14  # the delivered series has no 14 March
    assert {"day": "2026-03-14", "series": "Delivered", "value": None} in spec["data"]["values"]
    assert spec["description"] == (
        "Line chart of Delivered and Expected by day, 1 Mar 2026 to 14 Mar 2026, in impressions."
    )
    dash = spec["encoding"]["strokeDash"]["scale"]
    assert dash == {"domain": ["Delivered", "Expected"], "range": [[1, 0], [6, 4]]}
    # Read as UTC on both sides, so a browser west of Greenwich does not move the days back.
    assert spec["encoding"]["x"]["timeUnit"] == "utcyearmonthdate"


def test_money_is_drawn_in_units_with_thousands_separators_and_two_decimals_in_tooltips() -> None:
    spec = revenue_bars()
    svg = charts.render_svg(spec)
    assert "Revenue (USD)" in svg
    assert re.search(r">1[02],000<", svg), "axis labels carry thousands separators"
    assert {"month": "Jan 2026", "order": 0, "series": "Booked", "value": 12_500.0} in spec["data"]["values"]
    assert spec["encoding"]["tooltip"][-1] == {
        "field": "value",
        "type": "quantitative",
        "title": "Revenue (USD)",
        "format": ",.2f",
    }
    assert mark_groups(svg)["rect"] == 8  # February has no attributed revenue: no bar, not a zero bar
    assert spec["encoding"]["xOffset"]["field"] == "series"


def test_stacked_bars_stack_in_series_order() -> None:
    spec = revenue_bars(stacked=True)
    assert "xOffset" not in spec["encoding"]
    assert spec["encoding"]["y"]["stack"] == "zero"
    assert spec["encoding"]["order"] == {"field": "order", "type": "quantitative"}
    assert spec["description"].startswith("Stacked bar chart of Booked, Delivered and Attributed by month")


def test_percent_and_count_axes() -> None:
    share = charts.line_chart(
        "Completion", [Series("Completion", [(FIRST_DAY, 0.42)])], measure=Measure("Completion", "percent")
    )
    assert share["encoding"]["y"]["axis"] == {"title": "Completion", "format": ".0%"}
    assert share["encoding"]["tooltip"][-1]["format"] == ".1%"
    assert ">40%<" in charts.render_svg(share)
    counts = seller_bars()["encoding"]["x"]["axis"]
    assert counts == {"title": "Deals", "format": ",.0f", "tickMinStep": 1}


def test_horizontal_bars_keep_the_given_order_and_pinned_colours() -> None:
    spec = seller_bars()
    assert spec["encoding"]["y"]["sort"] == ["Sam Seller", "Uma Ops", "Łukasz Łódź"]
    assert spec["encoding"]["color"]["scale"] == {"domain": ["Won", "Lost"], "range": ["#59a14f", "#e15759"]}
    svg = charts.render_svg(spec)
    assert "Łukasz Łódź" in svg
    assert mark_groups(svg)["rect"] == 6


def test_the_heat_grid_shows_each_week_and_position_with_empty_weeks_greyed() -> None:
    spec = inventory_grid()
    rows = spec["data"]["values"]
    assert len(rows) == 12
    empty = [row for row in rows if row["week"] == "2026-03-16"]
    assert {(row["label"], row["share"], row["total"]) for row in empty} == {("—", None, 0)}
    assert spec["encoding"]["y"]["sort"] == ["Pre-roll", "Mid-roll", "Post-roll"]
    svg = charts.render_svg(spec)
    drawn = mark_groups(svg)
    assert drawn["rect"] == 12, "a week without slots is drawn, not dropped"
    assert drawn["text"] == 12
    assert charts.EMPTY in svg
    assert ">2 Mar<" in svg and ">23 Mar<" in svg


def test_the_funnel_gives_each_step_its_share_of_the_one_before() -> None:
    spec = conversion_funnel()
    rows = {row["step"]: row for row in spec["data"]["values"]}
    assert rows["Exposed households"]["of_previous"] == pytest.approx(48_500 / 120_000)
    assert rows["Conversions"]["of_first"] == pytest.approx(1_310 / 120_000)
    assert rows["Conversions"]["label"] == "1,310 · 2.7% of exposed households"
    assert rows["Downloads"]["start"] == 0 and rows["Downloads"]["end"] == 120_000
    svg = charts.render_svg(spec)
    assert "48,500 · 40.4% of downloads" in svg
    assert spec["description"] == "Funnel: Downloads 120,000; Exposed households 48,500; Conversions 1,310."


def test_a_funnel_of_nothing_does_not_divide_by_zero() -> None:
    spec = charts.funnel("Nothing yet", [FunnelStep("Downloads", 0), FunnelStep("Conversions", 0)])
    assert [row["of_first"] for row in spec["data"]["values"]] == [None, None]
    assert charts.render_svg(spec).startswith("<svg")


def test_png_is_a_png_twice_as_wide_at_scale_two() -> None:
    spec = conversion_funnel()
    one, two = charts.render_png(spec, 1), charts.render_png(spec, 2)
    assert one.startswith(charts.PNG_SIGNATURE) and two.startswith(charts.PNG_SIGNATURE)
    (w1, h1), (w2, h2) = charts.png_size(one), charts.png_size(two)
    assert (w2, h2) == (2 * w1, 2 * h1)
    with pytest.raises(ValueError, match="not a PNG"):
        charts.png_size(b"GIF89a")


def test_a_spec_never_makes_the_server_fetch_data() -> None:
    spec = {**delivery_line(), "data": {"url": "http://127.0.0.1:9/secret.json"}}
    with pytest.raises(ValueError, match="not allowed"):
        charts.render_svg(spec)


def test_a_pdf_draws_the_chart_at_the_frame_width(tmp_path: Path) -> None:
    spec = revenue_bars()
    flowable = charts.pdf_chart(spec, 400)
    width, height = charts.png_size(charts.render_png(spec, 2))
    assert flowable.drawWidth == 400
    assert flowable.drawHeight == pytest.approx(400 * height / width)
    pdf = pdf_layout.build([flowable], "a4", title="Charts", author="podsponsor")
    path = tmp_path / "chart.pdf"
    path.write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert f" {width} {height} " in re.sub(r" +", " ", images), images
    assert pdf == pdf_layout.build([charts.pdf_chart(spec, 400)], "a4", title="Charts", author="podsponsor")


def test_the_json_block_cannot_be_closed_by_the_data() -> None:
    spec = charts.horizontal_bars(
        HOSTILE, [Series(HOSTILE, [(HOSTILE, 1)])], measure=Measure("Deals"), category_title="Seller"
    )
    text = str(charts.chart_json(spec))
    for unsafe in ("</", "<!--", "<", ">", "&", "\u2028"):
        assert unsafe not in text
    assert json.loads(text) == spec


def test_the_macro_embeds_the_spec_a_placeholder_and_the_numbers() -> None:
    spec = charts.horizontal_bars(
        HOSTILE, [Series("Won", [(HOSTILE, 3), ("Uma Ops", 1_250)])], measure=Measure("Deals"), category_title="Seller"
    )
    page = TEMPLATES.env.from_string('{% from "reports/chart.html" import chart %}{{ chart("won", spec) }}')
    markup = page.render(spec=spec)
    assert markup.count("</script>") == 1
    tree = lxml_html.fromstring(f"<div>{markup}</div>")
    (figure,) = tree.xpath("//figure[@id='won'][@data-chart]")
    (block,) = figure.xpath("script[@type='application/json'][@id='won-spec']")
    assert json.loads(block.text) == spec
    (placeholder,) = figure.xpath(".//*[@data-chart-view]/svg[@class='chart-placeholder']")
    assert placeholder.get("aria-label").startswith(HOSTILE + ". Bar chart of Won")
    assert [th.text for th in figure.xpath(".//thead//th")] == ["Seller", "Series", "Deals"]
    assert [[td.text for td in tr.xpath("td")] for tr in figure.xpath(".//tbody/tr")] == [
        [HOSTILE, "Won", "3"],
        ["Uma Ops", "Won", "1,250"],
    ]


def test_the_table_shows_what_the_tooltips_show() -> None:
    table = charts.chart_table(delivery_line())
    assert table.columns == ["Day", "Series", "Impressions"]
    assert table.rows[0] == ["1 Mar 2026", "Delivered", "1,000"]
    assert ["14 Mar 2026", "Delivered", "—"] in table.rows
    money = charts.chart_table(revenue_bars())
    assert money.rows[3] == ["Jan 2026", "Delivered", "11,000.50"]
    grid = charts.chart_table(inventory_grid())
    assert grid.columns == ["Week of", "Position", "Booked slots", "Open slots", "Booked share"]
    assert grid.rows[0] == ["2 Mar 2026", "Pre-roll", "0", "4", "0.0%"]
    assert ["16 Mar 2026", "Pre-roll", "0", "0", "—"] in grid.rows


def test_the_server_drawing_escapes_text_and_is_named_for_screen_readers() -> None:
    spec = charts.horizontal_bars(
        "Won", [Series("Won", [("<b>Uma</b>", 3)])], measure=Measure("Deals"), category_title="Seller"
    )
    drawing = str(charts.fallback_svg(spec))
    assert "<b>" not in drawing and "&lt;b&gt;Uma&lt;/b&gt;" in drawing
    root = etree.fromstring(drawing.encode())
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Won. Bar chart of Won for 1 seller rows, in deals."


def test_the_vendored_bundle_is_the_one_the_installed_converter_makes() -> None:
    bundle = STATIC / "vendor" / "vega-charts.js"
    header = bundle.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == (
        f"/*! vega {vl_convert.get_vega_version()}, vega-lite {vl_convert.get_vegalite_versions()[-1]}, "
        f"vega-embed {vl_convert.get_vega_embed_version()}; bundled by vl-convert-python "
        f"{version('vl-convert-python')} (scripts/vendor_vega.py). Licences: vega-charts.LICENSE */"
    ), "run scripts/vendor_vega.py after changing vl-convert-python"
    assert (STATIC / "vendor" / "vega-charts.LICENSE").is_file()


def test_the_grid_cell_and_month_keys_accept_iso_text() -> None:
    spec = charts.monthly_bars("Revenue", [Series("Booked", [("2026-02-01", 100), (date(2026, 1, 1), 200)])],
                               measure=Measure("Revenue", "money", "EUR"))  # fmt: skip
    assert spec["encoding"]["x"]["sort"] == ["Jan 2026", "Feb 2026"]
    cell = GridCell(date(2026, 3, 2), "Mid-roll", 1, 2)
    assert charts.heat_grid("Calendar", [cell])["data"]["values"][0]["share"] == 0.5
