"""The insertion order as a document to sign: plain values in, PDF bytes out, no database.

The service turns an IO and its placements into an `IoDocument`; this module only lays it out (reportlab). Money is
integer cents throughout; `Decimal` appears only to print it. Output is byte-for-byte the same for the same input
(reportlab's invariant mode), so a stored or e-mailed PDF can be compared with a fresh one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from podsponsor.bookings import pdf_layout as layout
from podsponsor.bookings.pdf_layout import Styles

STANDARD_TERMS = """\
1. Governing terms. This insertion order is governed by the IAB/4A's Standard Terms and Conditions for Internet \
Advertising for Media Buys One Year or Less, version 3.0, incorporated here by reference, unless the parties agree \
otherwise in writing. Where this insertion order and those terms differ, this insertion order prevails.

2. Delivery. Impressions are downloads counted under the IAB Podcast Measurement Technical Guidelines by the \
publisher's measurement, which is the system of record unless the parties agree otherwise.

3. Makegoods. If an order ends under its impression goal, the publisher makes good the shortfall as set out in the \
makegood terms of this insertion order.

4. Cancellation. A scheduled flight may be cancelled, in whole or in part, by written notice given at least 14 days \
before its first affected air date. Episodes already recorded with a baked-in read cannot be cancelled.

5. Charges. Charges follow the pricing of each line: delivered impressions (CPM), aired episodes (flat) and \
reported acquisitions (CPA). They never exceed the maximum spend, where one is set.

6. Content. The advertiser supplies talking points in time for production and may lawfully have them used; the \
host reads them in the host's own voice. The publisher may decline content that breaches its standards.
"""

# Typography spelt by code point: an en dash between dates, a multiplication sign in formulas.
DASH = "\u2013"
TIMES = "\u00d7"
_PACING = {"even": "Even", "asap": "As soon as possible (ASAP)", "front_loaded": "Front-loaded"}
_POSITIONS = {"pre": "Pre-roll", "mid": "Mid-roll", "post": "Post-roll"}
_READ_TYPES = {"host_read": "host-read", "announcer": "announcer-read", "produced": "produced"}
_INSERTIONS = {"baked_in": "baked-in", "dynamic": "dynamically inserted"}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$"}
# Month names spelt here rather than by strftime, whose %b follows the process locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: Sequence[str] = ()
    contact_name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class IoEpisode:
    title: str
    air_date: date | None = None  # None: an expected episode without a date yet


@dataclass(frozen=True)
class IoLine:
    """One show's ad unit bought for a flight; `episodes` None means unassigned within the flight."""

    show_title: str
    ad_unit: str
    episodes: Sequence[IoEpisode] | None
    flight_start: date
    flight_end: date
    impression_goal: int
    pricing_model: str
    cpm_cents: int | None = None
    flat_cents: int | None = None  # per episode
    cpa_cents: int | None = None

    def __post_init__(self) -> None:
        needs = {
            "cpm": ("cpm_cents",),
            "flat": ("flat_cents",),
            "cpa": ("cpa_cents",),
            "hybrid": ("cpm_cents", "cpa_cents"),
        }
        if self.pricing_model not in needs:
            raise ValueError(f"unknown pricing model {self.pricing_model!r}")
        for name in needs[self.pricing_model]:
            if getattr(self, name) is None:
                raise ValueError(f"{self.pricing_model} pricing needs {name}")
        if any(p is not None and p < 0 for p in (self.cpm_cents, self.flat_cents, self.cpa_cents)):
            raise ValueError("prices cannot be negative")

    @property
    def estimated_cents(self) -> int | None:
        """The part of the line's cost known before delivery: CPM * goal / 1000 (half up) and flat * episodes.

        None when nothing can be estimated: CPA alone, or a flat price on episodes not yet assigned."""
        total: int | None = None
        if self.cpm_cents is not None and self.pricing_model in ("cpm", "hybrid"):
            total = (self.cpm_cents * self.impression_goal + 500) // 1000
        if self.pricing_model == "flat" and self.flat_cents is not None and self.episodes is not None:
            total = self.flat_cents * len(self.episodes)
        return total


@dataclass(frozen=True)
class IoDocument:
    """One insertion order as both parties sign it; `vanity_url` is the full URL, `exclusivity` a sentence."""

    number: str
    issued_on: date
    seller: Party
    advertiser: Party
    agency: Party | None
    campaign_name: str
    currency: str
    lines: Sequence[IoLine]
    max_spend_cents: int | None
    pacing_mode: str
    talking_points: str
    promo_code: str | None
    vanity_url: str | None
    exclusivity: str
    makegood_terms: str
    standard_terms: str = STANDARD_TERMS
    notes: str = ""
    paper: str = "letter"  # or "a4"

    def __post_init__(self) -> None:
        if self.paper not in layout.PAPERS:
            raise ValueError(f"paper must be one of {sorted(layout.PAPERS)}, not {self.paper!r}")
        if self.max_spend_cents is not None and self.max_spend_cents < 0:
            raise ValueError("the maximum spend cannot be negative")

    @property
    def impression_goal(self) -> int:
        return sum(line.impression_goal for line in self.lines)

    @property
    def gross_cents(self) -> int:
        return sum(line.estimated_cents or 0 for line in self.lines)

    @property
    def total_cents(self) -> int:
        """The estimated gross, no more than the maximum spend."""
        if self.max_spend_cents is None:
            return self.gross_cents
        return min(self.gross_cents, self.max_spend_cents)

    @property
    def capped(self) -> bool:
        return self.max_spend_cents is not None and self.gross_cents > self.max_spend_cents


def format_money(cents: int, currency: str) -> str:
    """'$1,234.56' from 123456 cents; currencies without a symbol here print their code: 'SEK 1,234.56'."""
    amount = f"{Decimal(abs(cents)).scaleb(-2):,.2f}"
    symbol = _SYMBOLS.get(currency.upper())
    text = f"{symbol}{amount}" if symbol else f"{currency.upper()} {amount}"
    return f"-{text}" if cents < 0 else text


def format_date(day: date | None) -> str:
    return "date to be set" if day is None else f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_flight(start: date, end: date, *, break_line: bool = False) -> str:
    return f"{format_date(start)} {DASH}{'<br/>' if break_line else ' '}{format_date(end)}"


def describe_ad_unit(position: str, length_seconds: int, read_type: str, insertion: str) -> str:
    """'Mid-roll :60, host-read, baked-in' from the ad unit's stored values."""
    return (
        f"{_POSITIONS.get(position, position)} :{length_seconds:02d}, "
        f"{_READ_TYPES.get(read_type, read_type)}, {_INSERTIONS.get(insertion, insertion)}"
    )


def render_io_pdf(doc: IoDocument) -> bytes:
    return layout.build(
        _io_story(doc, Styles()), doc.paper, title=f"Insertion order {doc.number}", author=doc.seller.name
    )


def render_campaign_pdf(docs: Sequence[IoDocument], campaign_name: str) -> bytes:
    """A summary page of every IO in the campaign with totals, then each IO in full."""
    styles = Styles()
    story: list[Flowable] = _campaign_summary(docs, campaign_name, styles)
    for doc in docs:
        story += [PageBreak(), *_io_story(doc, styles)]
    paper = docs[0].paper if docs else "letter"
    author = docs[0].seller.name if docs else ""
    return layout.build(story, paper, title=f"Campaign {campaign_name}", author=author)


def _io_story(doc: IoDocument, st: Styles) -> list[Flowable]:
    story: list[Flowable] = [
        layout.RunningHeader(doc.seller.name, f"Insertion order {doc.number}", f"{doc.number} · {doc.campaign_name}"),
        Paragraph(f"Insertion order {escape(doc.number)}", st.title),
        Paragraph(f"Issued {format_date(doc.issued_on)} · Currency {escape(doc.currency.upper())}", st.subtitle),
        _parties(doc, st),
        Paragraph("Order details", st.heading),
        _details(doc, st),
        Paragraph("Line items", st.heading),
        _lines(doc, st),
        Spacer(1, 4),
        *_totals(doc, st),
    ]
    if any(line.episodes for line in doc.lines):
        story += [Paragraph("Episode schedule", st.heading), _schedule(doc, st)]
    story += [Paragraph("Talking points", st.heading), *layout.paragraphs(doc.talking_points, st.body, "None given.")]
    story += [
        Paragraph("Makegood terms", st.heading),
        *layout.paragraphs(doc.makegood_terms, st.body, "As in the terms."),
    ]
    if doc.notes.strip():
        story += [Paragraph("Notes", st.heading), *layout.paragraphs(doc.notes, st.body, "")]
    terms = layout.paragraphs(doc.standard_terms, st.terms, "None.")
    story += [Paragraph("Terms and conditions", st.heading_kept), *terms]
    story.append(_signatures(doc, st))
    return story


def _party_cell(role: str, party: Party, st: Styles) -> list[Flowable]:
    cell: list[Flowable] = [Paragraph(escape(role.upper()), st.label), Paragraph(escape(party.name), st.party_name)]
    cell += [Paragraph(escape(line), st.small) for line in party.address_lines if line.strip()]
    if party.contact_name:
        cell.append(Paragraph(f"Contact: {escape(party.contact_name)}", st.small))
    if party.email:
        cell.append(Paragraph(f"Email: {escape(party.email)}", st.small))
    return cell


def _parties(doc: IoDocument, st: Styles) -> Table:
    cells = [_party_cell("Seller (publisher)", doc.seller, st), _party_cell("Advertiser", doc.advertiser, st)]
    if doc.agency is not None:
        cells.append(_party_cell("Agency", doc.agency, st))
    table = Table([cells], colWidths=[f"{100 / len(cells):.4f}%"] * len(cells))
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, layout.RULE),
                ("LINEAFTER", (0, 0), (-2, -1), 0.5, layout.RULE),
                ("BACKGROUND", (0, 0), (-1, -1), layout.FILL),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


def _flight(doc: IoDocument, *, break_line: bool = False) -> str:
    """The span of all the lines' flights."""
    if not doc.lines:
        return "—"
    start = min(line.flight_start for line in doc.lines)
    end = max(line.flight_end for line in doc.lines)
    return format_flight(start, end, break_line=break_line)


def _shows(lines: Sequence[IoLine]) -> str:
    return ", ".join(dict.fromkeys(line.show_title for line in lines)) or "—"


def _details(doc: IoDocument, st: Styles) -> Table:
    def pair(label: str, value: str) -> list[Paragraph]:
        return [Paragraph(escape(label), st.label), Paragraph(layout.text(value) or "—", st.cell)]

    max_spend = "No maximum" if doc.max_spend_cents is None else format_money(doc.max_spend_cents, doc.currency)
    vanity = escape(doc.vanity_url) if doc.vanity_url else ""
    rows = [
        pair("Campaign", doc.campaign_name) + pair("Show(s)", _shows(doc.lines)),
        pair("Flight", _flight(doc)) + pair("Impression goal", f"{doc.impression_goal:,}"),
        pair("Pacing", _PACING.get(doc.pacing_mode, doc.pacing_mode)) + pair("Maximum spend", max_spend),
        pair("Promo code", doc.promo_code or "None") + pair("Currency", doc.currency.upper()),
        [
            Paragraph("Vanity URL", st.label),
            Paragraph(f'<link href="{vanity}" color="#1f4e79">{vanity}</link>' if vanity else "None", st.cell),
        ],
        pair("Competitive exclusivity", doc.exclusivity or "None"),
    ]
    table = Table(rows, colWidths=["17%", "33%", "17%", "33%"])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (1, 4), (3, 4)),
                ("SPAN", (1, 5), (3, 5)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, layout.RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _pricing(line: IoLine, currency: str) -> str:
    def money(cents: int | None) -> str:
        return format_money(cents or 0, currency)

    if line.pricing_model == "cpm":
        return f"CPM {money(line.cpm_cents)}"
    if line.pricing_model == "flat":
        return f"Flat {money(line.flat_cents)} per episode"
    if line.pricing_model == "cpa":
        return f"CPA {money(line.cpa_cents)} per acquisition"
    return f"Hybrid: CPM {money(line.cpm_cents)} + CPA {money(line.cpa_cents)} per acquisition"


def _line_estimate(line: IoLine, currency: str) -> str:
    estimate = line.estimated_cents
    if line.pricing_model == "cpa":
        return "per acquisition"
    if estimate is None:
        return "per episode aired"
    if line.pricing_model == "hybrid":
        return f"{format_money(estimate, currency)}<br/>+ CPA"
    return format_money(estimate, currency)


def _episodes_cell(line: IoLine) -> str:
    if line.episodes is None:
        return "Unassigned within the flight"
    count = len(line.episodes)
    return f"{count} episode{'' if count == 1 else 's'} (see schedule)"


def _lines(doc: IoDocument, st: Styles) -> Table:
    heads = ["#", "Show", "Ad unit", "Episodes", "Flight", "Goal", "Pricing", "Estimate"]
    rows: list[list[Paragraph]] = [
        [Paragraph(h, st.cell_head_right if h in ("Goal", "Estimate") else st.cell_head) for h in heads]
    ]
    for number, line in enumerate(doc.lines, 1):
        flight = format_flight(line.flight_start, line.flight_end, break_line=True)
        rows.append(
            [
                Paragraph(str(number), st.cell),
                Paragraph(layout.text(line.show_title), st.cell),
                Paragraph(layout.text(line.ad_unit), st.cell),
                Paragraph(_episodes_cell(line), st.cell),
                Paragraph(flight, st.cell),
                Paragraph(f"{line.impression_goal:,}", st.cell_right),
                Paragraph(_pricing(line, doc.currency), st.cell),
                Paragraph(_line_estimate(line, doc.currency), st.cell_right),
            ]
        )
    table = Table(rows, colWidths=["4%", "13%", "16%", "13%", "13%", "11%", "16%", "14%"], repeatRows=1)
    table.setStyle(layout.grid_style())
    return table


def _totals(doc: IoDocument, st: Styles) -> list[Flowable]:
    def row(label: str, value: str, bold: bool = False) -> list[Paragraph]:
        style = st.cell_bold_right if bold else st.cell_right
        return [Paragraph(label, style), Paragraph(value, style)]

    rows = [
        row("Total impression goal", f"{doc.impression_goal:,}"),
        row("Estimated gross", format_money(doc.gross_cents, doc.currency)),
        row(
            "Maximum spend",
            "No maximum" if doc.max_spend_cents is None else format_money(doc.max_spend_cents, doc.currency),
        ),
        row(
            "Estimated total (capped by maximum spend)" if doc.capped else "Estimated total",
            format_money(doc.total_cents, doc.currency),
            bold=True,
        ),
    ]
    table = Table(rows, colWidths=["75%", "25%"], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, layout.ACCENT),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return [table, *[Paragraph(note, st.note) for note in _total_notes(doc)]]


def _total_notes(doc: IoDocument) -> list[str]:
    notes = [f"Estimates: CPM {TIMES} impression goal / 1,000, and flat price {TIMES} episodes."]
    for number, line in enumerate(doc.lines, 1):
        if line.pricing_model in ("cpa", "hybrid"):
            cpa = format_money(line.cpa_cents or 0, doc.currency)
            notes.append(f"Line {number}: plus {cpa} per acquisition, billed on reported acquisitions, not estimated.")
        elif line.estimated_cents is None:
            flat = format_money(line.flat_cents or 0, doc.currency)
            notes.append(f"Line {number}: {flat} per episode aired; episodes are not yet assigned, so not estimated.")
    if doc.max_spend_cents is not None:
        cap = format_money(doc.max_spend_cents, doc.currency)
        if doc.capped:
            notes.append(f"The estimated gross exceeds the maximum spend: charges are capped at {cap}.")
        else:
            notes.append(f"All charges, including per-acquisition charges, are capped at the maximum spend of {cap}.")
    return notes


def _schedule(doc: IoDocument, st: Styles) -> Table:
    rows: list[list[Paragraph]] = [
        [Paragraph(h, st.cell_head) for h in ("Line", "Show", "Episode", "Air date")],
    ]
    for number, line in enumerate(doc.lines, 1):
        for episode in line.episodes or ():
            rows.append(
                [
                    Paragraph(str(number), st.cell),
                    Paragraph(layout.text(line.show_title), st.cell),
                    Paragraph(layout.text(episode.title), st.cell),
                    Paragraph(format_date(episode.air_date), st.cell),
                ]
            )
    table = Table(rows, colWidths=["7%", "28%", "47%", "18%"], repeatRows=1)
    table.setStyle(layout.grid_style())
    return table


def _signatures(doc: IoDocument, st: Styles) -> Flowable:
    buyer = doc.agency or doc.advertiser
    buyer_role = f"Agency, on behalf of {doc.advertiser.name}" if doc.agency else "Advertiser"

    def block(role: str, party: Party) -> list[Flowable]:
        fields = Table(
            [[Paragraph(label, st.label), Paragraph("", st.cell)] for label in ("Signature", "Name", "Title", "Date")],
            colWidths=["24%", "76%"],
            rowHeights=[30, 22, 22, 22],
        )
        fields.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LINEBELOW", (1, 0), (1, -1), 0.6, layout.INK),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return [Paragraph(escape(role.upper()), st.label), Paragraph(escape(party.name), st.party_name), fields]

    table = Table(
        [[block("Seller (publisher)", doc.seller), block(buyer_role, buyer)]],
        colWidths=["50%", "50%"],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 14),
            ]
        )
    )
    intro = Paragraph(
        "Signed by the authorised representatives of the parties, who accept this insertion order and its terms.",
        st.body,
    )
    return KeepTogether([Paragraph("Signatures", st.heading), intro, Spacer(1, 6), table])


def _campaign_summary(docs: Sequence[IoDocument], campaign_name: str, st: Styles) -> list[Flowable]:
    seller = docs[0].seller.name if docs else ""
    count = f"{len(docs)} insertion order{'' if len(docs) == 1 else 's'}"
    advertisers = ", ".join(dict.fromkeys(doc.advertiser.name for doc in docs))
    story: list[Flowable] = [
        layout.RunningHeader(seller, "Campaign summary", f"Campaign {campaign_name}"),
        Paragraph("Campaign summary", st.title),
        Paragraph(f"{escape(campaign_name)} · {count}", st.subtitle),
    ]
    if not docs:
        return [*story, Paragraph("This campaign has no insertion orders yet.", st.body)]
    story += [_summary_parties(docs, advertisers, st), Spacer(1, 8), _summary_table(docs, st), Spacer(1, 4)]
    if any(line.pricing_model in ("cpa", "hybrid") for doc in docs for line in doc.lines):
        story.append(
            Paragraph("Per-acquisition (CPA) charges are billed on reported acquisitions, not estimated.", st.note)
        )
    story.append(
        Paragraph("Totals are estimates, each capped by its order's maximum spend; each order follows.", st.note)
    )
    return story


def _summary_parties(docs: Sequence[IoDocument], advertisers: str, st: Styles) -> Table:
    agencies = ", ".join(dict.fromkeys(doc.agency.name for doc in docs if doc.agency)) or "None (direct)"
    flight = (
        format_flight(
            min(line.flight_start for doc in docs for line in doc.lines),
            max(line.flight_end for doc in docs for line in doc.lines),
        )
        if any(doc.lines for doc in docs)
        else "—"
    )
    rows = [
        [Paragraph("Advertiser", st.label), Paragraph(escape(advertisers), st.cell)],
        [Paragraph("Agency", st.label), Paragraph(escape(agencies), st.cell)],
        [Paragraph("Flight", st.label), Paragraph(flight, st.cell)],
    ]
    table = Table(rows, colWidths=["17%", "83%"])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, layout.RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _summary_table(docs: Sequence[IoDocument], st: Styles) -> Table:
    heads = ["IO", "Show(s)", "Flight", "Goal", "Estimated gross", "Maximum spend", "Estimated total"]
    rows: list[list[Paragraph]] = [
        [Paragraph(h, st.cell_head if n < 3 else st.cell_head_right) for n, h in enumerate(heads)]
    ]
    for doc in docs:
        cap = "—" if doc.max_spend_cents is None else format_money(doc.max_spend_cents, doc.currency)
        total = format_money(doc.total_cents, doc.currency) + ("<br/>(capped)" if doc.capped else "")
        rows.append(
            [
                Paragraph(escape(doc.number), st.cell),
                Paragraph(layout.text(_shows(doc.lines)), st.cell),
                Paragraph(_flight(doc, break_line=True), st.cell),
                Paragraph(f"{doc.impression_goal:,}", st.cell_right),
                Paragraph(format_money(doc.gross_cents, doc.currency), st.cell_right),
                Paragraph(cap, st.cell_right),
                Paragraph(total, st.cell_right),
            ]
        )
    currencies = list(dict.fromkeys(doc.currency.upper() for doc in docs))
    # Amounts in different currencies are never added together: one totals row per currency.
    for currency in currencies:
        same = [doc for doc in docs if doc.currency.upper() == currency]
        rows.append(
            [
                Paragraph("Total" if len(currencies) == 1 else f"Total {currency}", st.cell_bold),
                Paragraph("", st.cell),
                Paragraph("", st.cell),
                Paragraph(f"{sum(d.impression_goal for d in same):,}", st.cell_bold_right),
                Paragraph(format_money(sum(d.gross_cents for d in same), currency), st.cell_bold_right),
                Paragraph("", st.cell),
                Paragraph(format_money(sum(d.total_cents for d in same), currency), st.cell_bold_right),
            ]
        )
    table = Table(rows, colWidths=["14%", "20%", "13%", "11%", "14%", "14%", "14%"], repeatRows=1)
    style = layout.grid_style()
    style.add("LINEABOVE", (0, len(docs) + 1), (-1, len(docs) + 1), 0.8, layout.ACCENT)
    table.setStyle(style)
    return table
