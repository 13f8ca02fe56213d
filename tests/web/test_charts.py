"""Server-rendered SVG charts: axes, marks, gaps, escaping, legend, data table, empty state, determinism."""

from __future__ import annotations

import itertools
import math
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from lxml import etree

from podsponsor.web.chart_svg import PALETTE, date_ticks, value_ticks
from podsponsor.web.charts import Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
STYLESHEET = Path(__file__).resolve().parents[2] / "src" / "podsponsor" / "static" / "app.css"
START = date(2025, 11, 3)


def parse(markup: str) -> etree._Element:
    return etree.fromstring(markup.encode())


def svg_all(root: etree._Element, name: str, *css_classes: str) -> list[etree._Element]:
    """The SVG elements `name` that have every one of `css_classes`."""
    return [e for e in root.iter(SVG + name) if set(css_classes) <= set(e.get("class", "").split())]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def plot_area(root: etree._Element) -> tuple[float, float, float, float]:
    """Left, top, right, bottom of the plot, read from the gridlines the chart draws at each y tick."""
    lines = svg_all(root, "line", "chart-gridline")
    ys = [float(line.get("y1", "")) for line in lines]
    return float(lines[0].get("x1", "")), min(ys), float(lines[0].get("x2", "")), max(ys)


def y_tick_labels(root: etree._Element) -> list[str]:
    return [t.text or "" for t in svg_all(root, "text", "chart-tick") if t.get("text-anchor") == "end"]


def x_tick_labels(root: etree._Element) -> list[str]:
    labels = [t for t in svg_all(root, "text", "chart-tick") if t.get("text-anchor") == "middle"]
    return [" ".join(str(part) for part in t.itertext()) for t in labels]


def tooltip(element: etree._Element) -> str:
    title = element.find(SVG + "title")
    assert title is not None
    return title.text or ""


def daily_downloads() -> list[Series]:
    raw = [(START + timedelta(days=day), float(9000 + (day * 37) % 3500)) for day in range(95)]
    iab = [(x, value * 0.7) for x, value in raw]
    return [Series("Raw requests", raw), Series("IAB downloads", iab)]


def downloads_chart(series: list[Series]) -> etree._Element:
    return parse(line_chart(series, title="Daily downloads", x_label="Date", y_label="Downloads"))


@pytest.mark.parametrize("top", [1, 3, 7, 10, 99, 101, 999, 12_345, 250_000, 1_000_001, 0.37, 4.2])
def test_value_ticks_are_nice_steps_from_zero_that_cover_the_maximum(top: float) -> None:
    integral = float(top).is_integer()
    ticks = value_ticks(0, top, integral=integral)
    values = [tick.position for tick in ticks]
    steps = {round(b - a, 9) for a, b in itertools.pairwise(values)}
    assert values[0] == 0
    assert values[-1] >= top
    assert values[-2] < top, "one step too many above the maximum"
    assert len(steps) == 1, f"uneven steps {values}"
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in {1, 2, 5}
    assert 2 <= len(values) <= 6
    if integral:
        assert step >= 1, "counts are never ticked at half units"


def test_tick_labels_carry_thousands_separators() -> None:
    assert [tick.label for tick in value_ticks(0, 12_345, integral=True)] == ["0", "5,000", "10,000", "15,000"]
    assert [tick.label for tick in value_ticks(0, 0.37, integral=False)] == ["0", "0.1", "0.2", "0.3", "0.4"]
    root = downloads_chart(daily_downloads())
    assert y_tick_labels(root) == ["0", "5,000", "10,000", "15,000"]


def test_points_map_inside_the_plot_in_order_and_in_proportion() -> None:
    series = daily_downloads()
    root = downloads_chart(series)
    left, top, right, bottom = plot_area(root)
    svg = root.find(SVG + "svg")
    assert svg is not None
    _, _, width, height = (float(v) for v in svg.get("viewBox", "").split())
    assert left < 0.15 * width and right > 0.9 * width, "the plot takes the drawing's width"
    assert top < 0.1 * height and bottom - top > 0.6 * 280, "the plot takes the height left by the axes and legend"
    y_max = number(y_tick_labels(root)[-1])
    assert y_max >= max(value for _, value in series[0].points if value is not None)
    for index, s in enumerate(series):
        points = svg_all(root, "circle", "chart-point", f"series-{index}")
        assert len(points) == len(s.points)
        xs = [float(p.get("cx", "")) for p in points]
        assert xs == sorted(xs) and len(set(xs)) == len(xs), "points go left to right, one per day"
        assert xs[0] == pytest.approx(left) and xs[-1] == pytest.approx(right)
        for point, (_, value) in zip(points, s.points, strict=True):
            assert value is not None
            cy = float(point.get("cy", ""))
            assert top <= cy <= bottom
            assert cy == pytest.approx(bottom - value / y_max * (bottom - top), abs=0.06)


def test_points_given_out_of_order_are_drawn_in_x_order() -> None:
    shuffled = Series("Ep 1", [(2, 30), (0, 10), (1, 20)])
    root = parse(line_chart([shuffled], title="Pacing", x_label="Days since release", y_label="Downloads"))
    assert [tooltip(p) for p in svg_all(root, "circle")] == ["Ep 1 · 0 · 10", "Ep 1 · 1 · 20", "Ep 1 · 2 · 30"]
    path = svg_all(root, "path", "chart-line")[0].get("d", "")
    xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+) ", path)]
    assert xs == sorted(xs)


def test_a_missing_value_breaks_the_line_into_two_segments() -> None:
    days = [(START + timedelta(days=d), None if d == 3 else float(100 + d)) for d in range(7)]
    root = downloads_chart([Series("IAB downloads", days)])
    paths = svg_all(root, "path", "chart-line")
    assert len(paths) == 2
    assert [p.get("d", "").count("L") for p in paths] == [2, 2], "three points before the gap, three after"
    assert len(svg_all(root, "circle", "chart-point")) == 6, "no point drawn for the missing day"
    gap_edges = float(paths[0].get("d", "").split()[-2].lstrip("L")), float(paths[1].get("d", "")[1:].split()[0])
    assert gap_edges[0] < gap_edges[1]


def test_a_point_alone_between_gaps_still_shows() -> None:
    lonely = Series("Ep", [(0, 5), (1, None), (2, 7), (3, None), (4, 9), (5, 11)])
    root = parse(line_chart([lonely], title="t", x_label="x", y_label="y"))
    assert len(svg_all(root, "path", "chart-line")) == 1
    assert len(svg_all(root, "circle", "chart-point")) == 4
    assert not svg_all(root, "circle", "chart-point--hit")


def test_long_series_keep_every_tooltip_but_hide_the_dots() -> None:
    root = downloads_chart(daily_downloads())
    hits = svg_all(root, "circle", "chart-point--hit")
    assert len(hits) == 2 * 95
    assert all(hit.get("fill-opacity") == "0" for hit in hits)
    assert tooltip(hits[0]) == "Raw requests · 2025-11-03 · 9,000"


def test_every_point_and_bar_has_a_series_x_value_tooltip() -> None:
    series = [Series("Raw requests", [(START, 12_500.0), (START + timedelta(days=1), 980.5)])]
    line = parse(line_chart(series, title="t", x_label="Date", y_label="Downloads"))
    assert [tooltip(p) for p in svg_all(line, "circle")] == [
        "Raw requests · 2025-11-03 · 12,500",
        "Raw requests · 2025-11-04 · 980.5",
    ]
    bars = parse(bar_chart(series, title="t", x_label="Date", y_label="Downloads"))
    assert [tooltip(r) for r in svg_all(bars, "rect", "chart-bar")] == [
        "Raw requests · 2025-11-03 · 12,500",
        "Raw requests · 2025-11-04 · 980.5",
    ]


def test_user_text_is_escaped_everywhere() -> None:
    name = '<script>alert("x")</script> & "Ep 1"'
    markup = line_chart(
        [Series(name, [(0, 1), (1, 2)])], title="<b>Pacing</b>", x_label="<i>Days</i>", y_label="Downloads'"
    )
    assert "<script" not in markup and "<b>" not in markup and "<i>" not in markup
    root = parse(markup)
    assert not list(root.iter("script", SVG + "script", "b", "i"))
    legend = svg_all(root, "g", "chart-legend-item")[0]
    assert tooltip(legend) == name
    assert root.findtext("figcaption") == "<b>Pacing</b>"
    assert [th.text for th in root.iter("th")][:2] == ["<i>Days</i>", name]
    assert all(tooltip(p).startswith(name) for p in svg_all(root, "circle"))


def test_no_inline_style_or_script_for_the_content_security_policy() -> None:
    root = downloads_chart(daily_downloads())
    assert all("style" not in element.attrib for element in root.iter())
    assert not [e for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("script")]


def test_legend_lists_at_most_max_legend_series_then_how_many_more() -> None:
    episodes = [Series(f"Episode {n}", [(day, float(day * n)) for day in range(30)]) for n in range(1, 13)]
    root = parse(line_chart(episodes, title="Pacing", x_label="Days", y_label="Downloads", max_legend=8))
    items = svg_all(root, "g", "chart-legend-item")
    assert [tooltip(item) for item in items] == [f"Episode {n}" for n in range(1, 9)]
    assert [t.text for t in svg_all(root, "text", "chart-legend-more")] == ["+4 more"]
    assert len(svg_all(root, "g", "chart-series")) == 12, "series past the legend are still drawn"
    few = parse(line_chart(episodes[:3], title="Pacing", x_label="Days", y_label="Downloads", max_legend=8))
    assert len(svg_all(few, "g", "chart-legend-item")) == 3
    assert not svg_all(few, "text", "chart-legend-more")


def test_long_legend_names_are_cut_but_kept_whole_in_the_tooltip() -> None:
    name = "Episode 212: an unusually long title about the economics of podcast advertising in 2026"
    root = parse(line_chart([Series(name, [(0, 1), (1, 2)])], title="t", x_label="x", y_label="y"))
    item = svg_all(root, "g", "chart-legend-item")[0]
    shown = item.find(SVG + "text")
    assert shown is not None and shown.text is not None
    assert shown.text.endswith("…") and len(shown.text) < len(name)
    assert tooltip(item) == name


def test_series_colours_come_from_classes_and_attributes() -> None:
    many = [Series(f"S{n}", [(0, 1.0), (1, 2.0)]) for n in range(11)]
    root = parse(line_chart(many, title="t", x_label="x", y_label="y", max_legend=11))
    lines = svg_all(root, "path", "chart-line")
    assert [line.get("stroke") for line in lines] == [*PALETTE, PALETTE[0]]
    assert lines[10].get("class") == "chart-line series-0", "the eleventh series takes the first colour again"
    swatches = svg_all(root, "rect", "chart-swatch")
    assert [s.get("fill") for s in swatches] == [*PALETTE, PALETTE[0]]


def test_the_stylesheet_styles_every_palette_class_with_the_same_colour() -> None:
    css = STYLESHEET.read_text()
    for index, colour in enumerate(PALETTE):
        assert f".chart .series-{index} {{ --chart-series: {colour}; }}" in css
    assert re.search(r"\.chart svg \{[^}]*width: 100%[^}]*height: auto", css)


def test_data_table_holds_every_value_of_every_series() -> None:
    series = daily_downloads()
    series[1] = Series("IAB downloads", [(x, None if i == 5 else v) for i, (x, v) in enumerate(series[1].points)])
    root = downloads_chart(series)
    table = root.find("details/div/table")
    assert table is not None
    assert root.findtext("details/summary") == "Data"
    assert [th.text for th in table.iter("th")][:3] == ["Date", "Raw requests", "IAB downloads"]
    rows = table.findall("tbody/tr")
    assert len(rows) == 95
    for row, (day, raw), (_, iab) in zip(rows, series[0].points, series[1].points, strict=True):
        assert row.findtext("th") == str(day)
        cells = [td.text for td in row.findall("td")]
        expected_iab = "—" if iab is None else f"{iab:,.2f}".rstrip("0").rstrip(".")
        assert cells == [f"{raw:,.0f}", expected_iab]


def test_empty_input_renders_the_figure_with_the_empty_text() -> None:
    for series in ([], [Series("Raw requests", [(START, None), (START + timedelta(days=1), None)])], [Series("E", [])]):
        root = parse(line_chart(series, title="Daily downloads", x_label="Date", y_label="Downloads"))
        assert root.tag == "figure"
        assert root.findtext("figcaption") == "Daily downloads"
        assert [t.text for t in svg_all(root, "text", "chart-empty")] == ["No data yet"]
        assert not svg_all(root, "path") and root.find("details") is None
    bars = parse(bar_chart([], title="Funnel", x_label="Step", y_label="People", empty_text="No conversions yet"))
    assert [t.text for t in svg_all(bars, "text", "chart-empty")] == ["No conversions yet"]


def test_not_a_number_is_a_gap_not_a_crash() -> None:
    series = Series("Ep", [(0, 1.0), (1, math.nan), (2, 3.0), (3, math.inf), (4, 2.0), (5, 4.0)])
    root = parse(line_chart([series], title="t", x_label="x", y_label="y"))
    assert len(svg_all(root, "path", "chart-line")) == 1
    assert len(svg_all(root, "circle")) == 4


@pytest.mark.parametrize("days", [0, 1, 5, 7, 13, 29, 30, 59, 90, 120, 200, 365, 400, 800, 1500, 3650, 9000])
def test_date_ticks_are_few_unique_and_inside_the_range(days: int) -> None:
    first = START
    last = first + timedelta(days=days)
    ticks = date_ticks(first, last, max_ticks=8)
    labels = [f"{tick.label} {tick.year}" for tick in ticks]
    positions = [tick.position for tick in ticks]
    assert 1 <= len(ticks) <= 8
    assert len(set(labels)) == len(labels), labels
    assert positions == sorted(positions)
    assert first.toordinal() <= positions[0] and positions[-1] <= last.toordinal()


def test_rendered_date_axis_has_at_most_eight_unique_labels_with_the_year_where_it_changes() -> None:
    for days in (3, 30, 95, 400):
        points = [(START + timedelta(days=d), float(d)) for d in range(days)]
        root = downloads_chart([Series("Raw requests", points)])
        labels = x_tick_labels(root)
        assert 1 <= len(labels) <= 8 and len(set(labels)) == len(labels), labels
    labels = x_tick_labels(downloads_chart(daily_downloads()))
    assert labels[0] == "Nov 3 2025"
    years = [label.split()[-1] for label in labels if re.fullmatch(r".* \d{4}", label)]
    assert years == ["2025", "2026"], labels
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}( \d{4})?", label) for label in labels)


def test_a_narrow_chart_gets_fewer_x_labels() -> None:
    wide = x_tick_labels(downloads_chart(daily_downloads()))
    narrow = parse(line_chart(daily_downloads(), title="t", x_label="Date", y_label="n", width=300))
    assert len(x_tick_labels(narrow)) < len(wide)


def test_day_numbers_get_an_integer_axis() -> None:
    episodes = [Series(f"Ep {n}", [(day, float(day * 10 * n)) for day in range(30)]) for n in range(1, 4)]
    root = parse(line_chart(episodes, title="Pacing", x_label="Days since release", y_label="Downloads"))
    assert x_tick_labels(root) == ["0", "5", "10", "15", "20", "25"]
    few = parse(line_chart([Series("Ep", [(0, 1.0), (1, 2.0), (2, 3.0)])], title="t", x_label="d", y_label="n"))
    assert x_tick_labels(few) == ["0", "1", "2"]


def test_bars_are_grouped_per_x_inside_the_plot_and_in_proportion() -> None:
    booked = Series("Booked", [("Impressions", 50_000), ("Clicks", 1_200), ("Orders", 90)])
    delivered = Series("Delivered", [("Impressions", 43_000), ("Clicks", 900), ("Orders", None)])
    root = parse(bar_chart([booked, delivered], title="Funnel", x_label="Step", y_label="People"))
    left, top, right, bottom = plot_area(root)
    y_max = number(y_tick_labels(root)[-1])
    assert x_tick_labels(root) == ["Impressions", "Clicks", "Orders"], "text categories keep the order given"
    for index, s in enumerate((booked, delivered)):
        bars = svg_all(root, "rect", "chart-bar", f"series-{index}")
        drawn = [(x, value) for x, value in s.points if value is not None]
        assert len(bars) == len(drawn), "a missing value draws no bar"
        for bar, (_, value) in zip(bars, drawn, strict=True):
            x, y, width, height = (float(bar.get(a, "")) for a in ("x", "y", "width", "height"))
            assert left <= x and x + width <= right + 0.1 and top - 0.1 <= y and y + height <= bottom + 0.1
            assert height == pytest.approx(value / y_max * (bottom - top), abs=0.11)
    first_group = [float(svg_all(root, "rect", "chart-bar", f"series-{i}")[0].get("x", "")) for i in range(2)]
    assert first_group[0] < first_group[1], "bars of one x sit side by side"


def test_daily_bars_label_at_most_eight_days() -> None:
    points = [(START + timedelta(days=d), float(d % 7)) for d in range(60)]
    root = parse(bar_chart([Series("Downloads", points)], title="t", x_label="Date", y_label="n"))
    labels = x_tick_labels(root)
    assert len(svg_all(root, "rect", "chart-bar")) == 60
    assert 1 <= len(labels) <= 8 and len(set(labels)) == len(labels)
    assert labels[0] == "Nov 3 2025"


def test_the_same_input_renders_the_same_bytes() -> None:
    first = line_chart(daily_downloads(), title="Daily downloads", x_label="Date", y_label="Downloads")
    again = line_chart(daily_downloads(), title="Daily downloads", x_label="Date", y_label="Downloads")
    other = line_chart(daily_downloads()[:1], title="Daily downloads", x_label="Date", y_label="Downloads")
    assert first == again
    assert parse(first).get("id") != parse(other).get("id"), "two charts on one page need distinct ids"
    named = parse(line_chart(daily_downloads(), title="t", x_label="x", y_label="y", chart_id="show-downloads"))
    svg = named.find(SVG + "svg")
    assert svg is not None and svg.get("aria-labelledby") == "show-downloads-title show-downloads-desc"
    assert svg.get("role") == "img"
    assert svg.findtext(SVG + "title") == "t"
    assert "Raw requests, IAB downloads" in (svg.findtext(SVG + "desc") or "")


def test_x_values_must_be_of_one_kind() -> None:
    with pytest.raises(ValueError, match="dates or numbers"):
        line_chart([Series("Funnel", [("Clicks", 3)])], title="t", x_label="x", y_label="y")
    with pytest.raises(ValueError, match="all dates, all numbers or all labels"):
        line_chart([Series("a", [(START, 1)]), Series("b", [(3, 1)])], title="t", x_label="x", y_label="y")


def test_days_without_values_keep_their_place_on_the_axis_and_in_the_table() -> None:
    days = [START + timedelta(days=d) for d in range(6)]
    counted = Series("IAB downloads", [(day, None if d >= 4 else 10.0 * (d + 1)) for d, day in enumerate(days)])
    root = downloads_chart([counted])
    left, _, right, _ = plot_area(root)
    xs = [float(p.get("cx", "")) for p in svg_all(root, "circle", "chart-point")]
    assert xs[0] == pytest.approx(left)
    assert xs[-1] == pytest.approx(left + (right - left) * 3 / 5, abs=0.1), (
        "the two days not counted yet stay on the axis"
    )
    rows = root.findall("details/div/table/tbody/tr")
    assert [[cell.text for cell in row] for row in rows[-2:]] == [["2025-11-07", "—"], ["2025-11-08", "—"]]
    bars = parse(bar_chart([counted], title="t", x_label="Date", y_label="n"))
    rects = svg_all(bars, "rect", "chart-bar")
    assert len(rects) == 4
    band = (right - left) / 6
    assert float(rects[-1].get("x", "")) == pytest.approx(left + 3 * band + 0.1 * band, abs=0.1)
