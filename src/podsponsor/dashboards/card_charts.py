"""The charts of the dashboards' cards, as Vega-Lite specs built with reports.charts from each card's own series and
tables: the page embeds them (templates/reports/chart.html) and the dashboard PDF draws the very same specs
(`charts.pdf_chart`), so a card's chart reads the same on screen and on paper.

Makegoods, projected CPM and the health cards have no chart: their numbers are figures and tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from podsponsor.dashboards.schemas import Card, Dashboard, Point, Table, Value
from podsponsor.dashboards.schemas import Series as CardSeries
from podsponsor.reports import charts
from podsponsor.reports.charts import GridCell, Measure, Series, Spec

# Small multiples: the orders furthest behind, one small chart each (every order is in the table).
PACING_CHARTS: Final = 6
SMALL_WIDTH: Final = 300
SMALL_HEIGHT: Final = 150
WON_COLOUR: Final = "#59a14f"
LOST_COLOUR: Final = "#e15759"
POSITIONS: Final = ("pre", "mid", "post")


@dataclass(frozen=True)
class CardChart:
    """A chart of a card; `id` is unique in the dashboard's page (the figure's element id)."""

    id: str
    spec: Spec
    small: bool = False


def dashboard_charts(dashboard: Dashboard, *, order: str | None = None) -> dict[str, list[CardChart]]:
    """Every card's charts by card id; `order`: the live order whose pacing chart comes first (its id)."""
    return {card.id: card_charts(card, order=order) for card in dashboard.cards}


def card_charts(card: Card, *, order: str | None = None) -> list[CardChart]:
    if not card.available:
        return []
    if card.id == "pacing":
        return pacing_charts(card, order)
    build = BUILDERS.get(card.id)
    return build(card) if build is not None else []


# --- Creator -----------------------------------------------------------------------------------------------------


def pacing_charts(card: Card, order: str | None = None) -> list[CardChart]:
    """Delivered against expected, cumulative, for the live orders furthest behind (lowest pacing first; orders not
    started yet last), `order` first when given."""
    rows = _rows(card, "orders")
    ranked = sorted(rows, key=lambda row: (row["pacing_pct"] is None, _number(row["pacing_pct"])))
    chosen = [row for row in rows if row["io_id"] == order]
    shown = (chosen + [row for row in ranked if row["io_id"] != order])[:PACING_CHARTS]
    by_group: dict[str | None, dict[str, list[Point]]] = defaultdict(dict)
    for series in card.series:
        by_group[series.group][series.key] = series.points
    found: list[CardChart] = []
    for index, row in enumerate(shown):
        lines = by_group.get(str(row["io_id"]), {})
        pacing = "not started" if row["pacing_pct"] is None else f"{row['pacing_pct']} %"
        spec = charts.line_chart(
            f"{row['number']} · {row['sponsor']} · {pacing}",
            [
                Series("Delivered", _days(lines.get("delivered", []))),
                Series("Expected", _days(lines.get("expected", [])), dashed=True),
            ],
            measure=Measure("Impressions (cumulative)"),
            x_title="UTC day",
            width=SMALL_WIDTH,
            height=SMALL_HEIGHT,
        )
        found.append(CardChart(f"pacing-chart-{index + 1}", spec, small=True))
    return found


def _revenue(card: Card) -> list[CardChart]:
    """Booked, delivered and attributed revenue side by side per month, one chart per currency."""
    found: list[CardChart] = []
    for currency, series in _by_group(card).items():
        names = {"booked": "Booked", "delivered": "Delivered", "attributed": "Attributed"}
        bars = [Series(names.get(s.key, s.label), _months(s.points)) for s in series]
        if not any(bar.points for bar in bars):
            continue
        spec = charts.monthly_bars(
            f"Sponsor revenue by month ({currency})", bars, measure=Measure("Revenue", "money", str(currency))
        )
        found.append(CardChart(f"sponsor-revenue-chart-{len(found) + 1}", spec))
    return found


def _downloads(card: Card) -> list[CardChart]:
    points = [point for series in card.series for point in series.points]
    if not points:
        return []
    spec = charts.line_chart(
        "Downloads per day", [Series("Downloads", _days(points))], measure=Measure("Downloads"), x_title="UTC day"
    )
    return [CardChart("downloads-trend-chart", spec)]


def _lifecycle(card: Card) -> list[CardChart]:
    named = _unique([series.label for series in card.series])
    lines = [(name, s.points) for name, s in zip(named, card.series, strict=True) if s.points]
    if not lines:
        return []
    return [CardChart("episode-lifecycle-chart", age_lines("First 30 days of the latest episodes", lines))]


def age_lines(title: str, lines: Sequence[tuple[str, Sequence[Point]]], *, width: int = 640, height: int = 260) -> Spec:
    """Cumulative downloads by day since release, one line per episode. reports.charts draws days on a calendar
    axis; episodes released on different days share this axis of ages instead, in the same look (its config,
    palette, measure formats and tooltips)."""
    measure = Measure("Downloads (cumulative)")
    rows = [{"age": int(p.x), "series": name, "value": p.y} for name, points in lines for p in points]
    age = {"field": "age", "type": "quantitative", "title": "Day since release (release day = 1)"}
    names = [name for name, _ in lines]
    encoding = {
        "x": {**age, "scale": {"domain": [1, 30]}, "axis": {"format": "d", "tickMinStep": 1}},
        "y": {"field": "value", "type": "quantitative", "axis": measure.axis()},
        "color": {
            "field": "series",
            "type": "nominal",
            "scale": {"domain": names, "range": [charts.PALETTE[n % len(charts.PALETTE)] for n in range(len(names))]},
            "legend": {"title": None, "columns": 2, "labelLimit": 280},
        },
        "tooltip": [
            {**age, "title": "Day since release", "format": charts.COUNT},
            {"field": "series", "type": "nominal", "title": "Episode"},
            measure.tooltip(),
        ],
    }
    return {
        "$schema": charts.SCHEMA,
        "title": title,
        "description": (
            f"Line chart of the cumulative downloads of {len(names)} episodes by day since release, days 1 to 30."
        ),
        "width": width,
        "height": height,
        "data": {"values": rows},
        "config": charts.CONFIG,
        "mark": {"type": "line", "point": {"filled": True, "size": 20}, "strokeWidth": 2},
        "encoding": encoding,
    }


# --- Advertiser --------------------------------------------------------------------------------------------------


def _audience_fit(card: Card) -> list[CardChart]:
    rows = _rows(card, "matches")
    if not rows:
        return []
    spec = charts.horizontal_bars(
        "Best-matching shows",
        [Series("Score", [(str(row["show"]), _maybe(row["score"])) for row in rows])],
        measure=Measure("Score (0-100)", "decimal"),
        category_title="Show",
    )
    return [CardChart("audience-fit-chart", spec)]


def _inventory(card: Card) -> list[CardChart]:
    """Booked of all slots per week and position; the slots of episodes only expected from a show's cadence count
    as open (they are sold within flights)."""
    rows = _rows(card, "by_week_and_position")
    if not rows:
        return []
    cells = [
        GridCell(
            week=date.fromisoformat(str(row["week"])),
            position=str(row["position"]),
            booked=int(_number(row["booked"])),
            total=int(_number(row["open"]) + _number(row["booked"]) + _number(row.get("expected"))),
        )
        for row in rows
    ]
    spec = charts.heat_grid("Booked share of slots by week and position", cells, positions=POSITIONS)
    return [CardChart("inventory-chart", spec)]


def _campaign_results(card: Card) -> list[CardChart]:
    rows = _rows(card, "campaigns")
    if not rows:
        return []
    spec = charts.horizontal_bars(
        "Delivered against goal by campaign",
        [
            Series("Goal", [(str(row["campaign"]), _maybe(row["goal"])) for row in rows], colour=charts.AXIS),
            Series("Delivered", [(str(row["campaign"]), _maybe(row["delivered"])) for row in rows]),
        ],
        measure=Measure("Impressions"),
        category_title="Campaign",
        stacked=False,
        bar_step=14,
    )
    return [CardChart("campaign-results-chart", spec)]


# --- Ops ---------------------------------------------------------------------------------------------------------


def _pipeline(card: Card) -> list[CardChart]:
    """Per currency: each expected close month's won value with the open deals' weighted value stacked on it, and
    every stage's value beside its weighted value."""
    found: list[CardChart] = []
    months: dict[str, list[dict[str, Value]]] = defaultdict(list)
    for row in _rows(card, "by_month"):
        months[str(row["currency"])].append(row)
    for currency, rows in sorted(months.items()):
        won = [(_first_day(row["month"]), _maybe(row["won_value_cents"])) for row in rows]
        open_weighted = [
            (_first_day(row["month"]), _number(row["weighted_value_cents"]) - _number(row["won_value_cents"]))
            for row in rows
        ]
        spec = charts.monthly_bars(
            f"Forecast by expected close month ({currency})",
            [Series("Won", won, colour=WON_COLOUR), Series("Open, weighted", open_weighted)],
            measure=Measure("Value", "money", currency),
            stacked=True,
        )
        found.append(CardChart(f"pipeline-months-chart-{len(found) + 1}", spec))
    stages: dict[str, list[dict[str, Value]]] = defaultdict(list)
    for row in _rows(card, "by_stage"):
        stages[str(row["currency"])].append(row)
    for currency, rows in sorted(stages.items()):
        spec = charts.horizontal_bars(
            f"Pipeline by stage ({currency})",
            [
                Series("Value", [(str(row["stage"]), _maybe(row["value_cents"])) for row in rows]),
                Series("Weighted", [(str(row["stage"]), _maybe(row["weighted_value_cents"])) for row in rows]),
            ],
            measure=Measure("Value", "money", currency),
            category_title="Stage",
            stacked=False,
            bar_step=12,
        )
        found.append(CardChart(f"pipeline-stages-chart-{len(found) + 1}", spec))
    return found


def _win_loss(card: Card) -> list[CardChart]:
    """Won and lost deals by seller; a seller selling in two currencies has a row per currency, counted once."""
    sellers: dict[str, tuple[Value, Value]] = {}
    for row in _rows(card, "by_seller"):
        sellers.setdefault(str(row["label"]), (row["won_deals"], row["lost_deals"]))
    if not sellers:
        return []
    spec = charts.horizontal_bars(
        "Deals won and lost by seller",
        [
            Series("Won", [(name, _maybe(won)) for name, (won, _) in sellers.items()], colour=WON_COLOUR),
            Series("Lost", [(name, _maybe(lost)) for name, (_, lost) in sellers.items()], colour=LOST_COLOUR),
        ],
        measure=Measure("Deals"),
        category_title="Seller",
    )
    return [CardChart("win-loss-chart", spec)]


BUILDERS: Final[dict[str, Callable[[Card], list[CardChart]]]] = {
    "sponsor_revenue": _revenue,
    "downloads_trend": _downloads,
    "episode_lifecycle": _lifecycle,
    "audience_fit": _audience_fit,
    "inventory": _inventory,
    "campaign_results": _campaign_results,
    "pipeline_forecast": _pipeline,
    "win_loss": _win_loss,
}


# --- Parts -------------------------------------------------------------------------------------------------------


def _rows(card: Card, key: str) -> list[dict[str, Value]]:
    table: Table | None = next((t for t in card.tables if t.key == key), None)
    return list(table.rows) if table is not None else []


def _by_group(card: Card) -> dict[str | None, list[CardSeries]]:
    grouped: dict[str | None, list[CardSeries]] = defaultdict(list)
    for series in card.series:
        grouped[series.group].append(series)
    return dict(sorted(grouped.items(), key=lambda item: str(item[0])))


def _days(points: Sequence[Point]) -> list[tuple[date | str, float | int | None]]:
    return [(date.fromisoformat(p.x), p.y) for p in points]


def _months(points: Sequence[Point]) -> list[tuple[date | str, float | int | None]]:
    return [(_first_day(p.x), p.y) for p in points]


def _first_day(month: Value) -> date:
    return date.fromisoformat(f"{month}-01")


def _number(value: Value) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _maybe(value: Value) -> float | int | None:
    return value if isinstance(value, int | float) else None


def _unique(names: list[str]) -> list[str]:
    """Series names tell the lines apart: a second episode of the same title gets a number."""
    seen: dict[str, int] = defaultdict(int)
    found: list[str] = []
    for name in names:
        seen[name] += 1
        found.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return found
