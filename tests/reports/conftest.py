"""Sample charts of each kind, with the numbers a dashboard would show."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from podsponsor.reports import charts
from podsponsor.reports.charts import FunnelStep, GridCell, Measure, Series, Spec

FIRST_DAY = date(2026, 3, 1)
POSITIONS = ["Pre-roll", "Mid-roll", "Post-roll"]


def delivery_line() -> Spec:
    days = [FIRST_DAY + timedelta(days=i) for i in range(14)]
    return charts.line_chart(
        "Delivered vs expected impressions",
        [
            Series("Delivered", [(day, 1_000 + i * 90) for i, day in enumerate(days[:-1])] + [(days[-1], None)]),
            Series("Expected", [(day, 1_100 + i * 100) for i, day in enumerate(days)], dashed=True),
        ],
        measure=Measure("Impressions"),
    )


def revenue_bars(stacked: bool = False) -> Spec:
    months = [date(2026, month, 1) for month in (1, 2, 3)]
    return charts.monthly_bars(
        "Revenue by month",
        [
            Series("Booked", [(month, 1_250_000 + i * 150_000) for i, month in enumerate(months)]),
            Series("Delivered", [(month, 1_100_050 + i * 140_000) for i, month in enumerate(months)]),
            Series("Attributed", [(months[0], 300_000), (months[1], None), (months[2], 320_000)]),
        ],
        measure=Measure("Revenue", "money", "USD"),
        stacked=stacked,
    )


def seller_bars() -> Spec:
    return charts.horizontal_bars(
        "Deals won and lost by seller",
        [
            Series("Won", [("Sam Seller", 12), ("Uma Ops", 7), ("Łukasz Łódź", 3)], colour="#59a14f"),
            Series("Lost", [("Sam Seller", 4), ("Uma Ops", 9), ("Łukasz Łódź", 1)], colour="#e15759"),
        ],
        measure=Measure("Deals"),
        category_title="Seller",
    )


def inventory_grid() -> Spec:
    cells = []
    for week in range(4):
        total = 0 if week == 2 else 4  # the third week has no episode, so no slots
        for index, position in enumerate(POSITIONS):
            booked = min(total, (week + index) % 5)
            cells.append(GridCell(date(2026, 3, 2) + timedelta(weeks=week), position, booked, total))
    return charts.heat_grid("Inventory calendar", cells, positions=POSITIONS)


def conversion_funnel() -> Spec:
    steps = [
        FunnelStep("Downloads", 120_000),
        FunnelStep("Exposed households", 48_500),
        FunnelStep("Conversions", 1_310),
    ]
    return charts.funnel("From download to conversion", steps)


@pytest.fixture(
    params=[delivery_line, revenue_bars, lambda: revenue_bars(stacked=True), seller_bars, inventory_grid,
            conversion_funnel],
    ids=["line", "grouped-bars", "stacked-bars", "horizontal-bars", "heat-grid", "funnel"],
)  # fmt: skip
def any_spec(request: pytest.FixtureRequest) -> Spec:
    spec: Spec = request.param()
    return spec
