"""A dashboard as a PDF: for every card its figures with how each is computed, its charts (the page's own Vega-Lite
specs, drawn by the server with `charts.pdf_chart`) and its tables as the page shows them, cut to their first rows
(every row is in the XLSX). The page furniture (fonts, header, "Page N of M") is the IO document's.
Blocking (about a second, mostly the charts): async callers run `render_pdf` in a thread.
"""

from __future__ import annotations

from typing import Final
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table

from podsponsor.bookings import pdf_layout as layout
from podsponsor.bookings.pdf_layout import Styles
from podsponsor.dashboards.card_charts import CardChart
from podsponsor.dashboards.card_view import CardView, FigureView, TableView, dashboard_views
from podsponsor.dashboards.schemas import Dashboard
from podsponsor.reports.charts import pdf_chart

PAPER_WIDTHS: Final = {paper: size[0] - 2 * layout.MARGIN_X for paper, size in layout.PAPERS.items()}
# Half the shorter page's text height, so a chart always fits below its card's heading.
MAX_CHART_HEIGHT: Final = (
    min(size[1] for size in layout.PAPERS.values()) - layout.MARGIN_TOP - layout.MARGIN_BOTTOM
) / 2
PDF_ROWS: Final = 25
CELL_SIZES: Final = (8.0, 7.0, 6.5)
NBSP: Final = "\u00a0"
CELL_PADDING: Final = 7.0
# A long text (a rationale) asks for at most this much of the room left, so short columns keep theirs.
MAX_RUN: Final = 220.0
GAP: Final = 8


def render_pdf(dashboard: Dashboard, *, workspace: str, title: str, subtitle: str, paper: str = "a4") -> bytes:
    styles = Styles()
    width = PAPER_WIDTHS[paper]
    period = f"{dashboard.start.isoformat()} to {dashboard.end.isoformat()}"
    story: list[Flowable] = [
        layout.RunningHeader(workspace, title, f"{title} · {period} · as of {dashboard.as_of.isoformat()}"),
        Paragraph(escape(title), styles.title),
        Paragraph(
            escape(f"{subtitle} · UTC days {period} · as of {dashboard.as_of.isoformat()} · made "
                   f"{dashboard.generated_at:%Y-%m-%d %H:%M} UTC"),
            styles.subtitle,
        ),
    ]  # fmt: skip
    for view in dashboard_views(dashboard):
        story += _card(view, styles, width)
    return layout.build(story, paper, title=f"{title} {period}", author=workspace)


def _card(view: CardView, st: Styles, width: float) -> list[Flowable]:
    card = view.card
    head: list[Flowable] = [Paragraph(escape(card.title), st.heading), Paragraph(escape(card.note), st.small)]
    head += [Paragraph(escape(f"Note: {notice}"), st.small) for notice in card.notices]
    if not card.available:
        return [KeepTogether(head)]
    story: list[Flowable] = [KeepTogether([*head, Spacer(1, 4), *_figures(view.figures, st)])]
    story += _charts(view.charts, width)
    story += [Paragraph(escape(f"How computed: {note}"), st.small) for note in view.series_notes]
    for table in view.tables:
        story += _table(table, st, width)
    return story


def _figures(figures: list[FigureView], st: Styles) -> list[Flowable]:
    if not figures:
        return []
    rows = [[Paragraph(title, st.cell_head) for title in ("Figure", "Value", "How computed")]]
    for figure in figures:
        value = figure.text + (f" {figure.interval}" if figure.interval else "")
        if figure.status:
            value += f" · {figure.status_text}"
        rows.append(
            [
                Paragraph(escape(figure.label), st.cell_bold),
                Paragraph(escape(value), st.cell),
                Paragraph(escape(figure.hover), st.small),
            ]
        )
    table = Table(rows, colWidths=["26%", "22%", "52%"], repeatRows=1)
    table.setStyle(layout.grid_style())
    return [table]


def _charts(found: list[CardChart], width: float) -> list[Flowable]:
    """Each chart across the text column; small multiples two to a row."""
    if not found:
        return []
    small = [chart for chart in found if chart.small]
    story: list[Flowable] = [Spacer(1, GAP)]
    for chart in (chart for chart in found if not chart.small):
        image = pdf_chart(chart.spec, width)
        if image.drawHeight > MAX_CHART_HEIGHT:
            image = pdf_chart(chart.spec, width * MAX_CHART_HEIGHT / image.drawHeight)
        story += [image, Spacer(1, GAP)]
    if small:
        half = (width - GAP) / 2
        images = [pdf_chart(chart.spec, half) for chart in small]
        pairs = [images[i : i + 2] + [Spacer(1, 1)] * (2 - len(images[i : i + 2])) for i in range(0, len(images), 2)]
        grid = Table(pairs, colWidths=[half + GAP / 2] * 2)
        grid.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
        story += [grid, Spacer(1, GAP)]
    return story


def _table(table: TableView, st: Styles, width: float) -> list[Flowable]:
    head: list[Flowable] = [Paragraph(escape(table.label), ParagraphStyle("table_label", st.cell_head, keepWithNext=1))]
    if not table.rows:
        return [*head, Paragraph("No rows.", st.small), Spacer(1, 4)]
    shown = table.rows[:PDF_ROWS]
    # A wide table is set a point smaller before any word has to break.
    size = next((size for size in CELL_SIZES if sum(_least_widths(table, size)) <= width), CELL_SIZES[-1])
    cell, right = _sized(st.cell, size), _sized(st.cell_right, size)
    head_cell, head_right = _sized(st.cell_head, size), _sized(st.cell_head_right, size)
    rows = [
        [Paragraph(escape(c.label), head_right if c.numeric else head_cell) for c in table.columns],
        *[
            [
                Paragraph(escape(c.text.replace(" ", NBSP)), right)
                if column.numeric
                else Paragraph(escape(c.text), cell)
                for c, column in zip(row, table.columns, strict=True)
            ]
            for row in shown
        ],
    ]
    grid = Table(rows, colWidths=_widths(table, size, width), repeatRows=1)
    grid.setStyle(layout.grid_style())
    story: list[Flowable] = [Spacer(1, 4), *head, grid]
    if table.total_rows > len(shown):
        story.append(
            Paragraph(f"The first {len(shown)} of {table.total_rows:,} rows; every row is in the XLSX.", st.small)
        )
    return [*story, Spacer(1, 4)]


def _sized(style: ParagraphStyle, size: float) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-{size}", style, fontSize=size, leading=size + 2)


def _least_widths(table: TableView, size: float) -> list[float]:
    """Points each column needs for its longest word (headers bold), padding included."""
    regular, bold = layout.fonts().regular, layout.fonts().bold
    found = []
    for index, column in enumerate(table.columns):
        texts = [row[index].text for row in table.rows[:PDF_ROWS]]
        # An amount ("115.3 %", "12.50 USD") is never broken; text breaks between words.
        words = (
            [(text, regular) for text in texts] if column.numeric else [(w, regular) for t in texts for w in t.split()]
        )
        words += [(word, bold) for word in column.label.split()]
        found.append(max(stringWidth(word, font, size) for word, font in words) + CELL_PADDING)
    return found


def _widths(table: TableView, size: float, width: float) -> list[float]:
    """Each column its longest word, and the room left shared by how far its texts run beyond that (capped)."""
    least = _least_widths(table, size)
    spare = width - sum(least)
    if spare <= 0:
        return [width * part / sum(least) for part in least]
    regular = layout.fonts().regular
    wants = []
    for index, part in enumerate(least):
        run = max(stringWidth(row[index].text, regular, size) for row in table.rows[:PDF_ROWS])
        wants.append(max(0.0, min(MAX_RUN, run) + CELL_PADDING - part))
    total = sum(wants)
    if not total:
        return [part + spare / len(least) for part in least]
    return [part + spare * want / total for part, want in zip(least, wants, strict=True)]
