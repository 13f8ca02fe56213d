"""The IO PDF read back as a person would: its text through pdftotext, its first page as a picture (pdftoppm)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from podsponsor.bookings import pdf_layout
from podsponsor.bookings.pdf import (
    DASH,
    IoDocument,
    IoEpisode,
    IoLine,
    Party,
    describe_ad_unit,
    format_money,
    render_campaign_pdf,
    render_io_pdf,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

SELLER = Party(
    "Northwind Audio Network",
    ("120 Market Street, Suite 400", "San Francisco, CA 94105"),
    "Dana Seller",
    "dana@northwind.example",
)
ADVERTISER = Party("Acme Mattress Co.", ("9 Spring Lane", "Austin, TX 78701"), "Alex Buyer", "alex@acme.example")
AGENCY = Party("Brightline Media", ("1 Agency Plaza", "New York, NY 10001"), "Sam Planner", "sam@brightline.example")
EPISODES = [IoEpisode(f"Sleep Science Part {n}", date(2026, 4, 1) + timedelta(days=7 * n)) for n in range(1, 21)]


def full_document(**changes: Any) -> IoDocument:
    lines = [
        IoLine(
            "The Morning Signal",
            describe_ad_unit("mid", 60, "host_read", "baked_in"),
            EPISODES,
            date(2026, 4, 1),
            date(2026, 8, 31),
            1_250_000,
            "cpm",
            cpm_cents=2_500,
        ),
        IoLine(
            "Deep Dive Weekly",
            describe_ad_unit("pre", 30, "produced", "dynamic"),
            None,
            date(2026, 4, 1),
            date(2026, 6, 30),
            400_000,
            "hybrid",
            cpm_cents=1_800,
            cpa_cents=1_500,
        ),
        IoLine(
            "Night Owls",
            describe_ad_unit("post", 15, "announcer", "dynamic"),
            EPISODES[:3],
            date(2026, 5, 1),
            date(2026, 5, 31),
            90_000,
            "flat",
            flat_cents=125_000,
        ),
    ]
    doc = IoDocument(
        number="IO-2026-0042",
        issued_on=date(2026, 3, 12),
        seller=SELLER,
        advertiser=ADVERTISER,
        agency=AGENCY,
        campaign_name="Spring Sleep Launch",
        currency="USD",
        lines=lines,
        max_spend_cents=3_500_000,
        pacing_mode="front_loaded",
        talking_points="Mention the 100-night trial and the free returns.",
        promo_code="ACME20",
        vanity_url="https://go.northwind.example/v/acme-spring",
        exclusivity="Exclusive: no other mattress sponsor in the same episode.",
        makegood_terms="Shortfalls are made good with a bonus episode within 30 days of the flight's end.",
        notes="Creative is due two weeks before air.",
    )
    return replace(doc, **changes)


def pdf_text(pdf: bytes, tmp_path: Path, *, page: int | None = None) -> str:
    """The PDF's text with runs of whitespace made one space, since table cells wrap where the layout says."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(["pdftotext", *pages, str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    found = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    assert found, info
    return int(found.group(1))


def test_an_io_prints_every_field_both_parties_totals_terms_and_signatures(tmp_path: Path) -> None:
    text = pdf_text(render_io_pdf(full_document()), tmp_path)

    expected = [
        "Insertion order IO-2026-0042",
        "Issued 12 Mar 2026",
        # both parties and the agency, with their details
        *("Northwind Audio Network", "120 Market Street, Suite 400", "San Francisco, CA 94105"),
        *("Contact: Dana Seller", "Email: dana@northwind.example"),
        *("Acme Mattress Co.", "9 Spring Lane", "Contact: Alex Buyer", "Email: alex@acme.example"),
        *("Brightline Media", "1 Agency Plaza", "Contact: Sam Planner", "Email: sam@brightline.example"),
        *("Campaign Spring Sleep Launch", "Pacing Front-loaded", "Promo code ACME20", "Currency USD"),
        "Vanity URL https://go.northwind.example/v/acme-spring",
        f"Flight 1 Apr 2026 {DASH} 31 Aug 2026",
        "Show(s) The Morning Signal, Deep Dive Weekly, Night Owls",
        *("Impression goal 1,740,000", "Maximum spend", "Currency"),
        "Competitive exclusivity Exclusive: no other mattress sponsor in the same episode.",
        # lines: shows, ad units, flights, goals, prices and their estimates
        *("The Morning Signal", "Deep Dive Weekly", "Night Owls"),
        *("Mid-roll :60, host-read, baked-in", "Pre-roll :30, produced, dynamically inserted"),
        "Post-roll :15, announcer-read, dynamically inserted",
        *("20 episodes", "Unassigned within the flight", "3 episodes", "(see schedule)"),
        *("1 Apr 2026", "31 Aug 2026", "30 Jun 2026", "1 May 2026", "31 May 2026"),
        *("1,250,000", "400,000", "90,000"),
        *("CPM $25.00", "Hybrid: CPM $18.00 + CPA $15.00 per acquisition", "Flat $1,250.00 per episode"),
        *("$31,250.00", "$7,200.00 + CPA", "$3,750.00"),
        # totals: 31,250 + 7,200 + 3 * 1,250 = 42,200, over the 35,000 maximum
        *("Total impression goal 1,740,000", "Estimated gross $42,200.00", "Maximum spend $35,000.00"),
        "Estimated total (capped by maximum spend) $35,000.00",
        "charges are capped at $35,000.00",
        "Line 2: plus $15.00 per acquisition",
        "Talking points Mention the 100-night trial and the free returns.",
        "Makegood terms Shortfalls are made good with a bonus episode within 30 days of the flight's end.",
        "Notes Creative is due two weeks before air.",
        "IAB/4A's Standard Terms and Conditions for Internet Advertising",
        "version 3.0",
        "at least 14 days",
        *(
            "Signatures",
            "SELLER (PUBLISHER)",
            "AGENCY, ON BEHALF OF ACME MATTRESS CO.",
            "Signature Signature Name Name Title Title Date Date",
        ),
        "Page 1 of",
    ]
    expected += [f"{episode.title} {episode.air_date.day} " for episode in EPISODES if episode.air_date]
    missing = [item for item in expected if item not in text]
    assert not missing, missing
    assert text.count("Sleep Science Part 1 8 Apr 2026") == 2  # in line 1's schedule and in line 3's


def test_the_last_page_counts_all_pages_and_the_output_is_the_same_every_time(tmp_path: Path) -> None:
    pdf = render_io_pdf(full_document())
    pages = page_count(pdf, tmp_path)

    assert pages >= 2
    assert f"Page {pages} of {pages}" in pdf_text(pdf, tmp_path, page=pages)
    assert render_io_pdf(full_document()) == pdf


def test_a_direct_order_under_its_maximum_is_signed_by_the_advertiser_and_not_capped(tmp_path: Path) -> None:
    line = IoLine(
        "Night Owls", "Post-roll :15", None, date(2026, 5, 1), date(2026, 5, 31), 10_000, "cpm", cpm_cents=2_000
    )
    doc = full_document(agency=None, lines=[line], max_spend_cents=100_000, promo_code=None, vanity_url=None)

    text = pdf_text(render_io_pdf(doc), tmp_path)

    assert "Estimated total $200.00" in text
    assert "capped by maximum spend" not in text
    assert "including per-acquisition charges, are capped at the maximum spend of $1,000.00" in text
    assert "AGENCY" not in text
    assert "SELLER (PUBLISHER) ADVERTISER Northwind Audio Network Acme Mattress Co. Signature" in text
    assert "Promo code None" in text and "Vanity URL None" in text
    assert "Episode schedule" not in text


def test_user_text_prints_literally_not_as_markup(tmp_path: Path) -> None:
    doc = full_document(
        talking_points='Say it <b>twice</b> & smile.\nThen read "<font size=40>x</font>" as is.',
        advertiser=replace(ADVERTISER, name="Smith & Sons <Ltd>"),
        promo_code="A&B<i>",
    )

    text = pdf_text(render_io_pdf(doc), tmp_path)

    assert 'Say it <b>twice</b> & smile. Then read "<font size=40>x</font>" as is.' in text
    assert "Smith & Sons <Ltd>" in text
    assert "Promo code A&B<i>" in text


def test_long_talking_points_run_onto_the_next_page(tmp_path: Path) -> None:
    sentences = " ".join(f"Point {n} is about restful sleep and the trial." for n in range(1, 400))
    doc = full_document(lines=full_document().lines[1:2], talking_points=f"START {sentences} FINISH")

    pdf = render_io_pdf(doc)

    first, second = pdf_text(pdf, tmp_path, page=1), pdf_text(pdf, tmp_path, page=2)
    assert "Talking points START Point 1 is about" in first
    assert "FINISH" not in first
    assert "Point 399 is about" in pdf_text(pdf, tmp_path) and "Point 200 is" not in first
    assert "Page 2 of" in second


def test_a_campaign_has_a_summary_with_totals_per_currency_then_each_io(tmp_path: Path) -> None:
    cpm_line = IoLine(
        "Night Owls", "Post-roll :15", None, date(2026, 6, 1), date(2026, 6, 30), 200_000, "cpm", cpm_cents=1_000
    )
    second = full_document(number="IO-2026-0043", lines=[cpm_line], max_spend_cents=None)
    euro = full_document(number="IO-2026-0044", lines=[cpm_line], max_spend_cents=None, currency="EUR")
    docs = [full_document(), second, euro]

    pdf = render_campaign_pdf(docs, "Spring Sleep Launch")

    summary = pdf_text(pdf, tmp_path, page=1)
    assert "Campaign summary Spring Sleep Launch · 3 insertion orders" in summary
    assert f"Advertiser Acme Mattress Co. Agency Brightline Media Flight 1 Apr 2026 {DASH} 31 Aug 2026" in summary
    assert "IO-2026-0042 The Morning Signal, Deep Dive Weekly, Night Owls" in summary
    assert "$42,200.00 $35,000.00 $35,000.00 (capped)" in summary
    # USD: 1,740,000 + 200,000 impressions; 42,200 + 2,000 gross; 35,000 (capped) + 2,000 total
    assert "Total USD 1,940,000 $44,200.00 $37,000.00" in summary
    assert "Total EUR 200,000 €2,000.00 €2,000.00" in summary
    assert "Page 1 of" in summary
    whole = pdf_text(pdf, tmp_path)
    for number in ("IO-2026-0042", "IO-2026-0043", "IO-2026-0044"):
        assert f"Insertion order {number} Issued" in whole
    assert whole.count("Signatures") == 3
    assert page_count(pdf, tmp_path) >= 1 + 3


def test_a_campaign_without_orders_still_renders(tmp_path: Path) -> None:
    text = pdf_text(render_campaign_pdf([], "Empty"), tmp_path)

    assert "no insertion orders yet" in text
    assert "Page 1 of 1" in text


def test_estimates_use_whole_cents() -> None:
    def line(model: str, **prices: int) -> IoLine:
        return IoLine("Show", "Mid-roll :60", EPISODES[:4], date(2026, 1, 1), date(2026, 1, 31), 1_001, model, **prices)

    assert line("cpm", cpm_cents=1_500).estimated_cents == 1_502  # 1,501.5 cents, half up
    assert line("cpm", cpm_cents=2_499).estimated_cents == 2_501  # 2,501.499 cents
    assert line("flat", flat_cents=50_000).estimated_cents == 200_000
    assert line("cpa", cpa_cents=900).estimated_cents is None
    assert line("hybrid", cpm_cents=1_500, cpa_cents=900).estimated_cents == 1_502
    assert replace(line("flat", flat_cents=50_000), episodes=None).estimated_cents is None


def test_money_prints_from_cents() -> None:
    assert format_money(123_456, "USD") == "$1,234.56"
    assert format_money(0, "usd") == "$0.00"
    assert format_money(5, "EUR") == "€0.05"
    assert format_money(-123_456_789, "GBP") == "-£1,234,567.89"
    assert format_money(99_900, "SEK") == "SEK 999.00"


def test_incomplete_documents_are_refused() -> None:
    with pytest.raises(ValueError, match="cpm pricing needs cpm_cents"):
        IoLine("Show", "Mid-roll", None, date(2026, 1, 1), date(2026, 1, 2), 10, "cpm")
    with pytest.raises(ValueError, match="hybrid pricing needs cpa_cents"):
        IoLine("Show", "Mid-roll", None, date(2026, 1, 1), date(2026, 1, 2), 10, "hybrid", cpm_cents=1)
    with pytest.raises(ValueError, match="unknown pricing model"):
        IoLine("Show", "Mid-roll", None, date(2026, 1, 1), date(2026, 1, 2), 10, "barter")
    with pytest.raises(ValueError, match="paper"):
        full_document(paper="legal")


def test_a4_paper_and_a_seller_name_too_long_for_the_header(tmp_path: Path) -> None:
    long_name = " ".join(["The Extraordinarily Long-Named Independent Podcast Collective"] * 3)
    pdf = render_io_pdf(full_document(paper="a4", seller=replace(SELLER, name=long_name)))
    path = tmp_path / "a4.pdf"
    path.write_bytes(pdf)

    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert "(A4)" in info
    # page 2 shows the seller only in its running header, shortened rather than run into the IO number
    second = pdf_text(pdf, tmp_path, page=2)
    assert second.startswith("The Extraordinarily Long-Named")
    assert f"{pdf_layout.ELLIPSIS} Insertion order IO-2026-0042" in second
    assert long_name not in second


def test_names_beyond_western_european_letters_print(tmp_path: Path) -> None:
    doc = full_document(advertiser=replace(ADVERTISER, name="Łódź Radio Ørsted Çağ"))

    assert "Łódź Radio Ørsted Çağ" in pdf_text(render_io_pdf(doc), tmp_path)


def test_first_page_as_a_picture(tmp_path: Path) -> None:
    """Writes test-artifacts/screenshots/io-pdf-page1.png, to be looked at; checks it is a Letter page at 60 dpi."""
    path = tmp_path / "io.pdf"
    path.write_bytes(render_io_pdf(full_document()))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "io-pdf-page1"

    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path), str(target)], check=True
    )

    png = (SCREENSHOTS / "io-pdf-page1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (510, 660)  # 8.5 by 11 in at 60 dpi
