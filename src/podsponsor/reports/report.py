"""A campaign report in its forms: the charts (one Vega-Lite definition each, drawn on the page and in the PDF), the
numbers as text for the page and the PDF, the delivery table as CSV, and the workbook (Summary, Delivery, Daily,
Attribution, Models, Methodology)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Protocol

from podsponsor.attribution.results_schemas import EstimateOut
from podsponsor.reports import exports
from podsponsor.reports.charts import Measure, Series, Spec, horizontal_bars, line_chart
from podsponsor.reports.exports import Cell, Column, Sheet
from podsponsor.reports.schemas import AttributionOut, FigureOut, ReportOut

GOAL_COLOUR: Final = "#9aa1b1"
CENT: Final = Decimal("0.01")
DELIVERY_COLUMNS: Final = (
    "IO", "Show", "Flight start", "Flight end", "Status", "Pacing status", "Pacing mode", "Pricing", "Goal",
    "Delivered", "Expected", "Pacing %", "Currency", "Spend", "eCPM",
)  # fmt: skip
# Side by side, the step is each model's bar (not each IO's row).
MODEL_BAR_PIXELS: Final = 12


# --- Charts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCharts:
    pacing: Spec | None
    attribution: Spec | None
    models: Spec | None


def report_charts(report: ReportOut) -> ReportCharts:
    return ReportCharts(pacing_chart(report), attribution_chart(report), models_chart(report))


def pacing_chart(report: ReportOut) -> Spec | None:
    """The campaign's cumulative delivered impressions day by day against expected, and the goal."""
    found = report.delivery
    if found is None or not found.daily:
        return None
    return line_chart(
        "Delivered vs expected impressions",
        [
            Series("Delivered", [(d.day, d.cumulative) for d in found.daily]),
            Series("Expected", [(d.day, d.expected) for d in found.daily], dashed=True),
            Series("Goal", [(d.day, found.totals.goal) for d in found.daily], dashed=True, colour=GOAL_COLOUR),
        ],
        measure=Measure("Impressions (cumulative)"),
        x_title="UTC day",
    )


def attribution_chart(report: ReportOut) -> Spec | None:
    """Each IO's attributed conversions under the default model, deterministic and modeled stacked."""
    found = report.attribution
    if found is None or not found.by_io:
        return None
    return horizontal_bars(
        f"Attributed conversions per IO ({found.model_label} model)",
        [
            Series("Deterministic", [(io.number, io.deterministic) for io in found.by_io]),
            Series("Modeled", [(io.number, io.modeled) for io in found.by_io]),
        ],
        measure=Measure("Attributed conversions", "decimal"),
        category_title="IO",
    )


def models_chart(report: ReportOut) -> Spec | None:
    """Every model's attributed conversions per IO, side by side: where the models disagree."""
    found = report.attribution
    if found is None or len(found.models) < 2 or not any(m.by_io for m in found.models):
        return None
    return horizontal_bars(
        "Attributed conversions per IO, by model",
        [Series(m.label, [(io.number, io.conversions) for io in m.by_io]) for m in found.models],
        measure=Measure("Attributed conversions", "decimal"),
        category_title="IO",
        stacked=False,
        bar_step=MODEL_BAR_PIXELS,
    )


# --- Numbers as text ---------------------------------------------------------------------------------------------


def count(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def decimal(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    """A percentage already in percent (pacing): 97.25 → '97.3 %'."""
    return "—" if value is None else f"{value:,.1f} %"


def share(value: float | None) -> str:
    """A fraction as a percentage: 0.0425 → '4.3 %'."""
    return "—" if value is None else f"{value * 100:,.1f} %"


def money(cents: int | float | None, currency: str | None = "") -> str:
    if cents is None:
        return "—"
    # Half up, as money is rounded everywhere else; attribution's fractional cents come as floats.
    amount = f"{(Decimal(str(cents)) / 100).quantize(CENT, ROUND_HALF_UP):,.2f}"
    return f"{amount} {currency}" if currency else amount


def figure_text(figure: FigureOut) -> Callable[[float | None], str]:
    """How a figure's values read: conversions with a decimal, money in its currency, ROAS as a ratio, rates as %."""
    if figure.unit == "money":
        return lambda value: money(value, figure.currency)
    if figure.unit == "ratio":
        return lambda value: decimal(value, 2)
    if figure.unit == "share":
        return share
    return decimal


def figure_name(figure: FigureOut) -> str:
    return f"{figure.name} ({figure.currency})" if figure.currency else figure.name


def with_interval(found: EstimateOut, show: Callable[[float | None], str]) -> str:
    """'12.5 (8.0 to 17.0)'; an interval without an upper end reads '(8.0 to ∞)'."""
    if found.value is None:
        return "—"
    high = "∞" if found.high is None and found.low is not None else show(found.high)
    return f"{show(found.value)} ({show(found.low)} to {high})"


def model_currencies(found: AttributionOut | None) -> list[str]:
    """The currencies of the models' attributed revenue, for one column each."""
    return sorted({c for m in found.models for c in m.revenue_cents}) if found else []


def period_text(report: ReportOut) -> str:
    start, end = report.period.start, report.period.end
    return f"{start.isoformat()} to {end.isoformat()}" if start and end else "no flights booked"


# --- Files -------------------------------------------------------------------------------------------------------


def filename(report: ReportOut, extension: str) -> str:
    """'Campaign report - Spring launch - 2026-04-30.pdf' (its name can hold any script: see content_disposition)."""
    name = re.sub(r"\s+", " ", report.campaign.name).strip() or "campaign"
    return f"Campaign report - {name} - {report.as_of.isoformat()}.{extension}"


def delivery_rows(report: ReportOut) -> list[list[Cell]]:
    if report.delivery is None:
        return []
    return [
        [
            row.number,
            row.show,
            row.flight_start,
            row.flight_end,
            row.status,
            row.pacing_status,
            row.pacing_mode,
            row.pricing_model,
            row.goal,
            row.delivered,
            row.expected,
            row.pacing_pct,
            row.currency,
            exports.money(row.spend_cents),
            exports.money(row.ecpm_cents) if row.ecpm_cents is not None else None,
        ]
        for row in report.delivery.ios
    ]


def csv_file(report: ReportOut) -> bytes:
    """The delivery table: one row per IO, money in currency units, pacing in percent."""
    return exports.csv_bytes(DELIVERY_COLUMNS, delivery_rows(report))


def xlsx_file(report: ReportOut) -> bytes:
    return exports.xlsx_bytes(
        [
            _summary_sheet(report),
            _delivery_sheet(report),
            _daily_sheet(report),
            _attribution_sheet(report),
            _models_sheet(report),
            Sheet("Methodology", [Column("Topic", width=32), Column("How it is computed", width=100)],
                  [[s.heading, s.text] for s in report.methodology]),
        ]
    )  # fmt: skip


def _summary_sheet(report: ReportOut) -> Sheet:
    rows: list[list[Cell]] = [
        ["Campaign", report.campaign.name],
        ["Sponsor", report.sponsor.name],
        ["Seller", report.seller],
        ["As of (UTC day)", report.as_of],
        ["Flights", period_text(report)],
    ]
    if report.delivery is not None:
        totals = report.delivery.totals
        rows += [
            ["Impression goal", totals.goal],
            ["Delivered impressions", totals.delivered],
            ["Expected impressions", totals.expected],
            ["Pacing", pct(totals.pacing_pct)],
            ["Spend to date", money(totals.spend_cents, totals.currency)],
            ["eCPM", money(totals.ecpm_cents, totals.currency)],
        ]
    if report.attribution is not None:
        found = report.attribution
        rows += [["Attribution model", f"{found.model_label} (the campaign's default)"]]
        rows += [[figure_name(f), with_interval(f.total, figure_text(f))] for f in found.figures]
    rows += [["Note", note] for note in report.notes]
    return Sheet("Summary", [Column("Item", width=28), Column("Value", width=60)], rows)


def _delivery_sheet(report: ReportOut) -> Sheet:
    kinds: dict[str, exports.ColumnKind] = {"Goal": "integer", "Delivered": "integer", "Expected": "integer",
                                            "Spend": "decimal", "eCPM": "decimal"}  # fmt: skip
    columns = [Column(title, kinds.get(title)) for title in DELIVERY_COLUMNS]
    columns[DELIVERY_COLUMNS.index("Pacing %")] = Column("Pacing", "percent")
    rows = delivery_rows(report)
    at = DELIVERY_COLUMNS.index("Pacing %")
    for row in rows:
        value = row[at]
        row[at] = value / 100 if isinstance(value, float) else None
    return Sheet("Delivery", columns, rows)


def _daily_sheet(report: ReportOut) -> Sheet:
    days = report.delivery.daily if report.delivery else []
    columns = [Column("Day (UTC)", "date"), Column("Delivered", "integer"), Column("Delivered (cumulative)", "integer"),
               Column("Expected (cumulative)", "integer")]  # fmt: skip
    return Sheet("Daily", columns, [[d.day, d.delivered, d.cumulative, d.expected] for d in days])


def _attribution_sheet(report: ReportOut) -> Sheet:
    """One row per figure, in its unit: conversions, currency units, a ratio, or a percentage."""
    columns: list[Column] = [Column("Figure"), Column("Unit")]
    for part in ("Total", "Deterministic", "Modeled"):
        columns += [Column(part, "decimal"), Column(f"{part} low", "decimal"), Column(f"{part} high", "decimal")]
    rows: list[list[Cell]] = []
    for figure in report.attribution.figures if report.attribution else []:
        scale, unit = _unit(figure)
        row: list[Cell] = [figure.name, unit]
        for found in (figure.total, figure.deterministic, figure.modeled):
            row += [_scaled(found.value, scale), _scaled(found.low, scale), _scaled(found.high, scale)]
        rows.append(row)
    return Sheet("Attribution", columns, rows)


def _unit(figure: FigureOut) -> tuple[float, str]:
    if figure.unit == "money":
        return 0.01, figure.currency or ""
    if figure.unit == "share":
        return 100.0, "% of households reached"
    if figure.unit == "ratio":
        return 1.0, f"revenue per unit of spend ({figure.currency})"
    return 1.0, "conversions"


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def _models_sheet(report: ReportOut) -> Sheet:
    found = report.attribution
    currencies = model_currencies(found)
    columns = [Column("Model"), Column("Default"), Column("IO"), Column("Attributed conversions", "decimal"),
               Column("Deterministic", "decimal"), Column("Modeled", "decimal")]  # fmt: skip
    columns += [Column(f"Revenue ({c})", "money") for c in currencies]
    rows: list[list[Cell]] = []
    for model in found.models if found else []:
        rows.append(_model_row(model.label, model.is_default, "All IOs", model, currencies))
        rows += [_model_row(model.label, model.is_default, io.number, io, currencies) for io in model.by_io]
    return Sheet("Models", columns, rows)


class _Credit(Protocol):
    """A model's credit, over the campaign or one IO."""

    @property
    def conversions(self) -> float: ...
    @property
    def deterministic(self) -> float: ...
    @property
    def modeled(self) -> float: ...
    @property
    def revenue_cents(self) -> dict[str, float]: ...


def _model_row(label: str, default: bool, io: str, credit: _Credit, currencies: Sequence[str]) -> list[Cell]:
    row: list[Cell] = [label, default, io, credit.conversions, credit.deterministic, credit.modeled]
    return row + [credit.revenue_cents.get(c, 0.0) for c in currencies]
