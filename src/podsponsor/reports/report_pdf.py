"""The campaign report as a PDF: key figures and the pacing chart first, then delivery by IO, attribution with its
intervals and the models side by side, and the methodology note. Charts are the page's own Vega-Lite definitions
drawn by the server (`charts.pdf_chart`); the page furniture (fonts, header, "Page N of M") is the IO document's.
Blocking (a few hundred milliseconds, mostly the charts): async callers run `render_pdf` in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from podsponsor.bookings import pdf_layout as layout
from podsponsor.bookings.pdf_layout import Styles
from podsponsor.reports import report as shown
from podsponsor.reports.charts import Spec, pdf_chart
from podsponsor.reports.schemas import AttributionOut, DeliveryOut, DeliveryTotalsOut, ReportOut

PAPER_WIDTHS = {paper: size[0] - 2 * layout.MARGIN_X for paper, size in layout.PAPERS.items()}
# Two thirds of the shorter page's text height, so a chart always fits below a heading.
MAX_CHART_HEIGHT = (min(size[1] for size in layout.PAPERS.values()) - layout.MARGIN_TOP - layout.MARGIN_BOTTOM) * 2 / 3


def render_pdf(report: ReportOut, paper: str = "a4") -> bytes:
    styles = Styles()
    width = PAPER_WIDTHS[paper]
    charts = shown.report_charts(report)
    story: list[Flowable] = [
        layout.RunningHeader(
            report.seller, "Campaign report", f"{report.campaign.name} · {report.sponsor.name} · as of {report.as_of}"
        ),
        Paragraph(f"Campaign report: {escape(report.campaign.name)}", styles.title),
        Paragraph(
            f"{escape(report.sponsor.name)} · flights {escape(shown.period_text(report))} · as of "
            f"{report.as_of.isoformat()} (UTC) · prepared by {escape(report.seller)}",
            styles.subtitle,
        ),
        _key_figures(report, styles),
    ]
    story += [Paragraph(escape(note), styles.small) for note in report.notes]
    if report.delivery is not None:
        story += _delivery(report.delivery, charts.pacing, styles, width)
    if report.attribution is not None:
        story += _attribution(report.attribution, (charts.attribution, charts.models), styles, width)
    story.append(Paragraph("Methodology", styles.heading_kept))
    for section in report.methodology:
        story += [Paragraph(escape(section.heading), styles.cell_head), Paragraph(escape(section.text), styles.body)]
        story.append(Spacer(1, 4))
    return layout.build(story, paper, title=f"Campaign report {report.campaign.name}", author=report.seller)


def _key_figures(report: ReportOut, st: Styles) -> Table:
    pairs: list[tuple[str, str]] = []
    if report.delivery is not None:
        totals = report.delivery.totals
        pairs += [
            ("DELIVERED", f"{shown.count(totals.delivered)} of {shown.count(totals.goal)}"),
            ("PACING", shown.pct(totals.pacing_pct)),
            ("SPEND TO DATE", shown.money(totals.spend_cents, totals.currency)),
            ("ECPM", shown.money(totals.ecpm_cents, totals.currency)),
        ]
    if report.attribution is not None:
        for figure in report.attribution.figures[:4]:
            pairs.append(
                (shown.figure_name(figure).upper(), shown.with_interval(figure.total, shown.figure_text(figure)))
            )
    if not pairs:
        pairs.append(("CAMPAIGN", report.campaign.name))
    cells = [[Paragraph(escape(label), st.label), Paragraph(escape(value), st.party_name)] for label, value in pairs]
    rows = [cells[i : i + 4] for i in range(0, len(cells), 4)]
    rows[-1] += [[Paragraph("", st.label)]] * (4 - len(rows[-1]))
    table = Table(rows, colWidths=["25%"] * 4)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), layout.FILL),
                ("BOX", (0, 0), (-1, -1), 0.5, layout.RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


def _chart(spec: Spec | None, width: float) -> list[Flowable]:
    """The chart across the text column, narrower where it would be taller than most of a page (many IOs)."""
    if spec is None:
        return []
    image = pdf_chart(spec, width)
    if image.drawHeight > MAX_CHART_HEIGHT:
        image = pdf_chart(spec, width * MAX_CHART_HEIGHT / image.drawHeight)
    return [Spacer(1, 6), image, Spacer(1, 6)]


def _grid(rows: list[list[Paragraph]], widths: Sequence[str], *, total_row: bool = False) -> Table:
    """A table with a header row repeated on every page; `total_row`: the last row sums, its label over 4 columns."""
    table = Table(rows, colWidths=list(widths), repeatRows=1)
    style = layout.grid_style()
    if total_row:
        style.add("LINEABOVE", (0, -1), (-1, -1), 0.8, layout.ACCENT)
        style.add("SPAN", (0, -1), (3, -1))
    table.setStyle(style)
    return table


def _delivery(found: DeliveryOut, pacing: Spec | None, st: Styles, width: float) -> list[Flowable]:
    widths = ("12.5%", "10%", "11%", "8%", "11%", "11%", "11%", "7.5%", "11%", "7%")
    story: list[Flowable] = [Paragraph("Delivery", st.heading_kept), *_chart(pacing, width)]
    story += [_grid(_delivery_rows(found, st), widths, total_row=True)]
    story += [Paragraph(escape(f"Note: {note}."), st.small) for note in found.notes]
    return story


def _delivery_rows(found: DeliveryOut, st: Styles) -> list[list[Paragraph]]:
    """The header, a row per IO, and the total row of the delivery table."""

    def head(title: str, right: bool = False) -> Paragraph:
        return Paragraph(escape(title), st.cell_head_right if right else st.cell_head)

    def cell(value: str, right: bool = False) -> Paragraph:
        return Paragraph(escape(value), st.cell_right if right else st.cell)

    # One currency (the usual case) is named in the headers, so the amounts fit their columns.
    single = found.totals.currency
    spend, ecpm = (f"Spend ({single})", f"eCPM ({single})") if single else ("Spend", "eCPM")
    titles = ("IO", "Show", "Flight", "Status", "Goal", "Delivered", "Expected", "Pacing", spend, ecpm)
    rows = [[head(title, index >= 4) for index, title in enumerate(titles)]]
    for io in found.ios:
        currency = None if single else io.currency
        rows.append(
            [
                # Never wrapped: an order number split over two lines cannot be found by searching the PDF.
                Paragraph(escape(io.number), ParagraphStyle("io_number", parent=st.cell, splitLongWords=0)),
                cell(io.show),
                Paragraph(f"{io.flight_start.isoformat()}<br/>{io.flight_end.isoformat()}", st.cell),
                cell(io.pacing_status),
                cell(shown.count(io.goal), True),
                cell(shown.count(io.delivered), True),
                cell(shown.count(io.expected), True),
                cell(shown.pct(io.pacing_pct), True),
                cell(shown.money(io.spend_cents, currency), True),
                cell(shown.money(io.ecpm_cents, currency), True),
            ]
        )
    return [*rows, _delivery_total(found.totals, st)]


def _delivery_total(totals: DeliveryTotalsOut, st: Styles) -> list[Paragraph]:
    """The total row: its label, over the first four columns, and the sums, in bold."""
    sums = (
        shown.count(totals.goal),
        shown.count(totals.delivered),
        shown.count(totals.expected),
        shown.pct(totals.pacing_pct),
        shown.money(totals.spend_cents),
        shown.money(totals.ecpm_cents),
    )
    label = Paragraph("Total, without cancelled IOs", st.cell_bold)
    blanks = [Paragraph("", st.cell) for _ in range(3)]
    return [label, *blanks, *(Paragraph(escape(value), st.cell_bold_right) for value in sums)]


def _attribution(found: AttributionOut, charts: Sequence[Spec | None], st: Styles, width: float) -> list[Flowable]:
    lead = (
        f"Under the {found.model_label.lower()} model (the campaign's default), from the calculation of "
        f"{found.run_at:%Y-%m-%d %H:%M} UTC: {found.households_reached:,} households reached, "
        f"{found.conversions_considered:,} conversions considered, {found.lookback_days}-day lookback. "
        "Each figure: value (95 % interval)."
    )
    head = [Paragraph(title, st.cell_head) for title in ("Figure", "Total", "Deterministic", "Modeled")]
    rows = [head]
    for figure in found.figures:
        text = shown.figure_text(figure)
        rows.append(
            [Paragraph(escape(shown.figure_name(figure)), st.cell_bold)]
            + [Paragraph(escape(shown.with_interval(part, text)), st.cell) for part in
               (figure.total, figure.deterministic, figure.modeled)]
        )  # fmt: skip
    story: list[Flowable] = [
        KeepTogether([Paragraph("Attribution", st.heading), Paragraph(escape(lead), st.body), Spacer(1, 4)]),
        _grid(rows, ("28%", "24%", "24%", "24%")),
        Paragraph(
            "Deterministic: matched by promo code or vanity URL. Modeled: matched by household (address and device "
            "family) within the lookback.",
            st.small,
        ),
    ]
    for spec in charts:
        story += _chart(spec, width)
    story += [Paragraph("Models side by side", st.heading_kept), _models(found, st)]
    return story


def _models(found: AttributionOut, st: Styles) -> Table:
    currencies = shown.model_currencies(found)
    titles = ["Model", "Attributed conversions", "Deterministic", "Modeled", *(f"Revenue ({c})" for c in currencies)]
    rows = [[Paragraph(escape(t), st.cell_head if i == 0 else st.cell_head_right) for i, t in enumerate(titles)]]
    for model in found.models:
        name = f"{model.label} (default)" if model.is_default else model.label
        values = [shown.decimal(model.conversions), shown.decimal(model.deterministic), shown.decimal(model.modeled)]
        values += [shown.money(model.revenue_cents.get(c, 0.0)) for c in currencies]
        rows.append([Paragraph(escape(name), st.cell)] + [Paragraph(escape(v), st.cell_right) for v in values])
    first = 28.0
    rest = (100.0 - first) / (len(titles) - 1)
    return _grid(rows, [f"{first}%"] + [f"{rest:.3f}%"] * (len(titles) - 1))
