"""The page furniture of podsponsor's PDFs (reportlab): fonts, paragraph styles, a header and "Page N of M" footer on
every page, and user text made safe for reportlab's Paragraph markup. `pdf.py` lays out the IO on top of it."""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, TableStyle

PAPERS = {"letter": LETTER, "a4": A4}
INK = colors.HexColor("#1c2733")
MUTED = colors.HexColor("#5b6b7c")
ACCENT = colors.HexColor("#1f4e79")
RULE = colors.HexColor("#c5ced8")
FILL = colors.HexColor("#edf2f7")
# 18 mm at the sides leaves the same text width on A4 (210 mm) and Letter (216 mm) within a printer's safe area.
MARGIN_X = 18 * mm
MARGIN_TOP = 24 * mm
MARGIN_BOTTOM = 20 * mm
ELLIPSIS = "\u2026"
# DejaVu Sans (Debian's fonts-dejavu-core, which fontconfig and so Chromium pull in) is embedded where present, so
# names like "Łódź" or "Ørsted" print; Helvetica, the fallback, has only the Western European letters.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class FontFamily:
    regular: str
    bold: str


@functools.cache
def fonts() -> FontFamily:
    """The font family, registered with reportlab on first use."""
    regular, bold = DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        return FontFamily("Helvetica", "Helvetica-Bold")
    family = FontFamily("IoSans", "IoSans-Bold")
    pdfmetrics.registerFont(TTFont(family.regular, str(regular)))
    pdfmetrics.registerFont(TTFont(family.bold, str(bold)))
    # fonts-dejavu-core has no oblique: the documents use no italics, and <i> falls back to upright.
    pdfmetrics.registerFontFamily(
        family.regular, normal=family.regular, bold=family.bold, italic=family.regular, boldItalic=family.bold
    )
    return family


class Styles:
    """The paragraph styles of one document, in the font `fonts()` settled on."""

    def __init__(self) -> None:
        base = ParagraphStyle("body", fontName=fonts().regular, fontSize=9, leading=12, textColor=INK)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10)
        self.cell = ParagraphStyle("cell", base, fontSize=8, leading=10)
        # Amounts and counts are never broken inside: a column too narrow shows "$35,000.0" and "0" otherwise.
        self.cell_right = ParagraphStyle("cell_right", self.cell, alignment=TA_RIGHT, splitLongWords=0)
        self.cell_head = ParagraphStyle("cell_head", self.cell, fontName=fonts().bold, textColor=ACCENT)
        self.cell_head_right = ParagraphStyle("cell_head_right", self.cell_head, alignment=TA_RIGHT)
        self.label = ParagraphStyle("label", base, fontName=fonts().bold, fontSize=7.5, leading=10, textColor=MUTED)
        self.title = ParagraphStyle("title", base, fontName=fonts().bold, fontSize=17, leading=21, textColor=ACCENT)
        self.subtitle = ParagraphStyle("subtitle", base, textColor=MUTED, spaceAfter=8)
        self.heading = ParagraphStyle(
            "heading",
            base,
            fontName=fonts().bold,
            fontSize=11,
            leading=14,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=4,
        )
        # For a heading over short paragraphs: it never ends a page apart from the first of them.
        self.heading_kept = ParagraphStyle("heading_kept", self.heading, keepWithNext=1)
        self.party_name = ParagraphStyle("party_name", base, fontName=fonts().bold, fontSize=10, leading=13)
        self.terms = ParagraphStyle("terms", base, fontSize=7.5, leading=9.5, spaceAfter=3, textColor=MUTED)
        self.note = ParagraphStyle("note", self.small, textColor=MUTED, alignment=TA_RIGHT)
        self.cell_bold = ParagraphStyle("cell_bold", self.cell, fontName=fonts().bold)
        self.cell_bold_right = ParagraphStyle("cell_bold_right", self.cell_bold, alignment=TA_RIGHT)


def text(value: str) -> str:
    """User text as Paragraph markup that shows it literally: '<b>' stays '<b>', and line breaks are kept."""
    return escape(value.strip()).replace("\n", "<br/>")


def paragraphs(value: str, style: ParagraphStyle, empty: str) -> list[Flowable]:
    """Free text as one Paragraph per blank-line-separated block, so long text can run over pages."""
    blocks = [block for block in re.split(r"\n\s*\n", value.strip()) if block.strip()]
    if not blocks:
        return [Paragraph(escape(empty), ParagraphStyle("placeholder", style, textColor=MUTED))]
    return [Paragraph(text(block), style) for block in blocks]


def grid_style() -> TableStyle:
    return TableStyle(
        [
            ("BACKGROUND", (0, 0), (-1, 0), FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
            ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
    )


class RunningHeader(Flowable):  # type: ignore[misc]
    """Takes no space; tells the canvas what the header and footer of the pages from here on say."""

    def __init__(self, left: str, right: str, footer: str) -> None:
        super().__init__()
        self.texts = (left, right, footer)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        self.canv.running_header = self.texts


class NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds every page until the end, so each can say "Page N of M" once M is known."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.running_header = ("", "", "")
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, 1):
            self.__dict__.update(state)
            self._draw_header_footer(number, total)
            super().showPage()
        super().save()

    def _draw_header_footer(self, number: int, total: int) -> None:
        width, height = self._pagesize
        left, right, footer = self.running_header
        self.saveState()
        self.setFont(fonts().bold, 10)
        self.setFillColor(ACCENT)
        right_width = stringWidth(right, fonts().regular, 9)
        self.drawString(
            MARGIN_X, height - 14 * mm, fit(left, fonts().bold, 10, width - 2 * MARGIN_X - right_width - 12)
        )
        self.setFont(fonts().regular, 9)
        self.setFillColor(MUTED)
        self.drawRightString(width - MARGIN_X, height - 14 * mm, right)
        self.setStrokeColor(RULE)
        self.setLineWidth(0.6)
        self.line(MARGIN_X, height - 16.5 * mm, width - MARGIN_X, height - 16.5 * mm)
        self.line(MARGIN_X, 14 * mm, width - MARGIN_X, 14 * mm)
        self.setFont(fonts().regular, 8)
        page = f"Page {number} of {total}"
        self.drawRightString(width - MARGIN_X, 10 * mm, page)
        room = width - 2 * MARGIN_X - stringWidth(page, fonts().regular, 8) - 12
        self.drawString(MARGIN_X, 10 * mm, fit(footer, fonts().regular, 8, room))
        self.restoreState()


def fit(line: str, font: str, size: float, width: float) -> str:
    """The line, cut with an ellipsis where it would run past `width` points."""
    if stringWidth(line, font, size) <= width:
        return line
    while line and stringWidth(line + ELLIPSIS, font, size) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def build(story: list[Flowable], paper: str, *, title: str, author: str) -> bytes:
    buffer = io.BytesIO()
    pagesize = PAPERS[paper]
    template = BaseDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=author,
        creator="podsponsor",
        # Invariant mode fixes the creation date and document id, so the same input gives the same bytes.
        invariant=1,
        initialFontName=fonts().regular,
    )
    frame = Frame(
        template.leftMargin,
        template.bottomMargin,
        template.width,
        template.height,
        id="body",
        leftPadding=0,
        rightPadding=0,
    )
    template.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    template.build(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()
