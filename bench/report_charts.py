"""Server-side chart rendering: vl-convert's SVG and 2x PNG per dashboard chart kind, against the hand-drawn SVG
line chart of web/charts.py on the same 90 days of two series, in the same run.

Times are CPU milliseconds of the whole process. Every kind is drawn from a fresh spec each round (the render cache
in reports/chart_render.py is bypassed), after one warm-up render that starts vl-convert's JavaScript runtime (reported
apart as `first_ms`, wall time).
Usage: python bench/report_charts.py [--rounds 20]. Last line: {"bench": "report_charts", "first_ms", "kinds": {kind:
{"svg_ms", "png_ms", "spec_kb"}}, "hand_svg_ms", "line_svg_ratio_vs_hand"}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vl_convert

from podsponsor.reports import charts
from podsponsor.reports.charts import FunnelStep, GridCell, Measure, Series, Spec
from podsponsor.web import charts as hand

DAYS = [date(2026, 1, 1) + timedelta(days=i) for i in range(90)]
DELIVERED = [(day, 1_000 + i * 37 % 500) for i, day in enumerate(DAYS)]
EXPECTED = [(day, 1_100 + i * 5) for i, day in enumerate(DAYS)]


def kinds() -> dict[str, Callable[[], Spec]]:
    months = [date(2026, m, 1) for m in range(1, 13)]
    sellers = [f"Seller {n}" for n in range(12)]
    positions = ["Pre-roll", "Mid-roll", "Post-roll"]
    return {
        "line_90_days_2_series": lambda: charts.line_chart(
            "Impressions",
            [Series("Delivered", DELIVERED), Series("Expected", EXPECTED, dashed=True)],
            measure=Measure("Impressions"),
        ),
        "grouped_bars_12_months_3_series": lambda: charts.monthly_bars(
            "Revenue",
            [
                Series(name, [(m, 100_000 * (i + 1) + n) for i, m in enumerate(months)])
                for n, name in enumerate(["Booked", "Delivered", "Attributed"])
            ],
            measure=Measure("Revenue", "money", "USD"),
        ),
        "horizontal_bars_12_sellers": lambda: charts.horizontal_bars(
            "Deals",
            [
                Series("Won", [(s, n + 3) for n, s in enumerate(sellers)]),
                Series("Lost", [(s, n) for n, s in enumerate(sellers)]),
            ],
            measure=Measure("Deals"),
            category_title="Seller",
        ),
        "heat_grid_13_weeks_3_positions": lambda: charts.heat_grid(
            "Inventory",
            [
                GridCell(date(2026, 1, 5) + timedelta(weeks=w), p, (w + k) % 5, 4)
                for w in range(13)
                for k, p in enumerate(positions)
            ],
            positions=positions,
        ),
        "funnel_3_steps": lambda: charts.funnel(
            "Funnel", [FunnelStep("Downloads", 120_000), FunnelStep("Households", 48_500), FunnelStep("Orders", 1_310)]
        ),
    }


def median_ms(work: Callable[[], object], rounds: int) -> float:
    """Median CPU time of the process (all its threads, vl-convert's included): steadier than wall time on a
    machine shared with other work."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    builders = kinds()
    started = time.perf_counter()
    vl_convert.vegalite_to_svg(builders["funnel_3_steps"](), allowed_base_urls=[])
    first_ms = round((time.perf_counter() - started) * 1000, 1)
    results = {}
    for name, build in builders.items():
        spec = build()
        # Straight to vl-convert, as charts.render_svg/render_png do on a cache miss.
        svg_ms = median_ms(lambda spec=spec: vl_convert.vegalite_to_svg(spec, allowed_base_urls=[]), rounds)
        png_ms = median_ms(lambda spec=spec: vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[]), rounds)
        results[name] = {"svg_ms": svg_ms, "png_ms": png_ms, "spec_kb": round(len(json.dumps(spec)) / 1024, 1)}
        print(f"{name:36} svg {svg_ms:7.1f} ms   png@2x {png_ms:7.1f} ms   spec {results[name]['spec_kb']} KB")
    hand_series = [hand.Series("Delivered", DELIVERED), hand.Series("Expected", EXPECTED)]
    hand_ms = median_ms(
        lambda: hand.line_chart(hand_series, title="Impressions", x_label="Day", y_label="Impressions"), rounds
    )
    ratio = round(results["line_90_days_2_series"]["svg_ms"] / hand_ms, 1)
    print(f"hand-drawn line chart (web/charts.py): {hand_ms} ms; vl-convert line SVG is {ratio}x that")
    summary = {"bench": "report_charts", "first_ms": first_ms, "kinds": results, "hand_svg_ms": hand_ms}
    print(json.dumps({**summary, "line_svg_ratio_vs_hand": ratio}))


if __name__ == "__main__":
    main()
