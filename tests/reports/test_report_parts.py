"""The report's parts that need no database: the IO status words (the delivery pages' own), the campaign's daily
series from its IOs' series, how numbers read, file names, and the share link's token and signature."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from podsponsor.attribution.results_schemas import EstimateOut, IntervalOut
from podsponsor.bookings.delivery import DailyDelivery, IoDelivery
from podsponsor.bookings.delivery_web import pacing_status as page_badge
from podsponsor.bookings.models import InsertionOrder
from podsponsor.bookings.pacing import Spend
from podsponsor.config import Settings
from podsponsor.reports import links, methodology
from podsponsor.reports import report as shown
from podsponsor.reports.report_pdf import render_pdf
from podsponsor.reports.schemas import (
    AttributionOut,
    CampaignRef,
    DayOut,
    DeliveryOut,
    DeliveryTotalsOut,
    FigureOut,
    IoRowOut,
    IoSplitOut,
    ModelOut,
    PeriodOut,
    ReportOut,
    SponsorRef,
)
from podsponsor.reports.service import campaign_daily, pacing_status

TODAY = date(2026, 3, 10)


def _delivery(status: str, pct: Fraction | None, *, started: bool = True) -> IoDelivery:
    start = TODAY - timedelta(days=3) if started else TODAY + timedelta(days=1)
    io = InsertionOrder(status=status, flight_start=start, flight_end=start + timedelta(days=20), impression_goal=100)
    return IoDelivery(io, TODAY, io.flight_end, 0, 0, pct, Spend(0), None, 0)


@pytest.mark.parametrize(
    ("status", "pct", "started"),
    [
        ("scheduled", None, False),
        ("active", None, True),
        ("active", Fraction(1), True),
        ("active", Fraction(9495, 10000), True),
        ("active", Fraction(949, 1000), True),
        ("active", Fraction(80, 100), True),
        ("active", Fraction(799, 1000), True),
        ("active", Fraction(0), True),
        ("completed", Fraction(1), True),
        ("makegood", Fraction(1, 2), True),
        ("cancelled", Fraction(1), True),
    ],
)
def test_status_words_are_the_delivery_pages(status: str, pct: Fraction | None, started: bool) -> None:
    found = _delivery(status, pct, started=started)
    assert pacing_status(found) == page_badge(found).label


def _series(status: str, start: date, rows: list[tuple[int, int]], goal: int = 100) -> IoDelivery:
    """An IO whose daily series starts on `start`: (delivered that day, expected by then) per day."""
    io = InsertionOrder(status=status, flight_start=start, flight_end=start + timedelta(days=9), impression_goal=goal)
    daily, running = [], 0
    for offset, (delivered, expected) in enumerate(rows):
        running += delivered
        daily.append(DailyDelivery(start + timedelta(days=offset), delivered, running, expected))
    return IoDelivery(io, TODAY, io.flight_end, running, rows[-1][1] if rows else 0, None, Spend(0), None, 0, daily)


def test_daily_series_sums_the_ios_and_holds_an_ended_ios_figures() -> None:
    early = _series("completed", date(2026, 3, 1), [(5, 10), (7, 20)])
    late = _series("active", date(2026, 3, 2), [(1, 3), (2, 6), (4, 9)])
    cancelled = _series("cancelled", date(2026, 3, 1), [(100, 100), (100, 200)])
    days = campaign_daily([early, late, cancelled])
    assert [(d.day.day, d.delivered, d.cumulative, d.expected) for d in days] == [
        (1, 5, 5, 10),
        (2, 8, 13, 23),
        (3, 2, 15, 26),  # the early IO's series ended: it holds 12 delivered and 20 expected
        (4, 4, 19, 29),
    ]
    assert campaign_daily([cancelled]) == []
    assert campaign_daily([]) == []


def test_numbers_read_as_on_the_pages() -> None:
    assert shown.count(12345) == "12,345"
    assert shown.pct(97.3) == "97.3 %"
    assert shown.pct(None) == "—"
    assert shown.share(0.0426) == "4.3 %"
    assert shown.money(123450, "USD") == "1,234.50 USD"
    assert (shown.money(0.5), shown.money(1.5), shown.money(-150)) == ("0.01", "0.02", "-1.50")
    assert shown.money(None, "USD") == "—"
    estimate = EstimateOut(value=12.5, low=8.0, high=17.0)
    assert shown.with_interval(estimate, shown.decimal) == "12.5 (8.0 to 17.0)"
    assert shown.with_interval(EstimateOut(value=3.0, low=1.0, high=None), shown.decimal) == "3.0 (1.0 to ∞)"
    assert shown.with_interval(EstimateOut(value=None, low=None, high=None), shown.decimal) == "—"


def test_share_token_is_256_bits_and_signed_over_id_and_expiry(settings: Settings) -> None:
    link_id, expires = uuid.uuid4(), datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    path = links.shared_path("s" * 43, link_id, expires)
    signed = path.rsplit(".", 1)[1]
    assert len(signed) == 43
    assert links.signature(link_id, expires) == signed
    assert links.signature(uuid.uuid4(), expires) != signed
    assert links.signature(link_id, expires + timedelta(seconds=1)) != signed
    # The database gives the expiry back in any zone: the same moment signs the same.
    assert links.signature(link_id, expires.astimezone(datetime.now().astimezone().tzinfo)) == signed
    assert links.token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --- The PDF's shapes --------------------------------------------------------------------------------------------


def _report(*, ios: int, delivery: bool = True, figures: int = 2, notes: Sequence[str] = ()) -> ReportOut:
    start = date(2026, 9, 1)
    rows = [
        IoRowOut(io_id=uuid.uuid4(), number=f"IO-2026-{n:04d}", show=f"Show {n}", flight_start=start,
                 flight_end=start + timedelta(days=89), pacing_mode="even", pricing_model="cpm", status="active",
                 pacing_status="On pace", goal=250_000, delivered=160_000, expected=166_667, pacing_pct=96.0,
                 currency="USD", spend_cents=400_000, ecpm_cents=2_500)
        for n in range(ios)
    ]  # fmt: skip
    daily = [
        DayOut(day=start + timedelta(days=d), delivered=20_000, cumulative=20_000 * (d + 1), expected=22_000 * (d + 1))
        for d in range(60)
    ]
    totals = DeliveryTotalsOut(goal=250_000 * ios, delivered=160_000 * ios, expected=166_667 * ios, pacing_pct=96.0,
                               currency="USD", spend_cents=400_000 * ios, ecpm_cents=2_500)  # fmt: skip
    estimate = EstimateOut(value=120.0, low=100.0, high=None)
    split = {"total": estimate, "deterministic": estimate, "modeled": estimate}
    found = [FigureOut(name="Attributed conversions", unit="conversions", currency=None, **split),
             FigureOut(name="Revenue", unit="money", currency="USD", **split),
             FigureOut(name="Conversion rate", unit="share", currency=None, **split)][:figures]  # fmt: skip
    by_io = [IoSplitOut(io_id=r.io_id, number=r.number, conversions=15.0, deterministic=8.0, modeled=7.0,
                        revenue_cents={"USD": 50_000.0}) for r in rows]  # fmt: skip
    models = [
        ModelOut(model=m, label=m.capitalize(), is_default=m == "linear", lookback_days=30, half_life_days=None,
                 conversions=120.0, deterministic=64.0, modeled=56.0, revenue_cents={"USD": 400_000.0}, by_io=by_io)
        for m in ("first_touch", "last_touch", "linear", "time_decay", "position_based", "custom")
    ]  # fmt: skip
    attribution = AttributionOut(
        model="linear", model_label="Linear", run_id=uuid.uuid4(), run_at=datetime(2026, 10, 30, 3, 41, tzinfo=UTC),
        lookback_days=30, conversions_considered=400, households_reached=90_000, households_converting=110,
        spend=[], figures=found, by_io=by_io, models=models, interval=IntervalOut(iterations=1000, seed=1),
    ) if figures else None  # fmt: skip
    return ReportOut(
        campaign=CampaignRef(id=uuid.uuid4(), name="Autumn launch", stage="won"),
        sponsor=SponsorRef(id=uuid.uuid4(), name="Łódź Sleepwell"),
        seller="Bright Audio",
        as_of=start + timedelta(days=59),
        period=PeriodOut(start=start, end=start + timedelta(days=89)),
        delivery=DeliveryOut(totals=totals, ios=rows, daily=daily, notes=[]) if delivery else None,
        attribution=attribution,
        notes=list(notes),
        methodology=methodology.sections(methodology.Setup("calendar_day", 30), attribution),
    )


def _text(pdf: bytes) -> str:
    run = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, check=True, capture_output=True)
    return run.stdout.decode()


@pytest.mark.parametrize(
    ("ios", "delivery", "figures", "expected"),
    [
        (0, False, 0, ["Campaign report: Autumn launch", "Delivery is not shown", "Methodology"]),
        (3, True, 0, ["Total, without cancelled IOs", "750,000", "Methodology"]),
        (8, True, 2, ["Revenue (USD)", "120.0 (100.0 to ∞)", "Models side by side", "Linear (default)"]),
        (40, True, 3, ["IO-2026-0039", "Conversion rate", "Uncertainty"]),
    ],
    ids=["no-sections", "delivery-only", "two-figures", "forty-ios"],
)
def test_the_pdf_lays_out_every_shape(ios: int, delivery: bool, figures: int, expected: list[str]) -> None:
    notes = ["Delivery is not shown: insertion orders are turned off for this workspace."] if not delivery else []
    pdf = render_pdf(_report(ios=ios, delivery=delivery, figures=figures, notes=notes))
    text = _text(pdf)
    for part in (*expected, "Łódź Sleepwell", "Page 1 of"):
        assert part in text, part


def test_the_same_report_gives_the_same_pdf() -> None:
    report = _report(ios=2)
    assert render_pdf(report) == render_pdf(report)
    assert b"/MediaBox [ 0 0 612 792 ]" in render_pdf(report, "letter")
